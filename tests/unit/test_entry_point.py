"""The entry point tunes the collector for one-shot runs only, and loading works where fork does not exist."""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli import commands
from reconciler.desired import loading


@pytest.fixture
def thresholds() -> Iterator[tuple[int, ...]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield saved
    finally:
        gc.set_threshold(*saved)
        gc.unfreeze()


@pytest.mark.parametrize(("args", "tuned"), [(["validate", "--help"], True), (["emulator", "--help"], False)])
def test_the_collector_is_tuned_for_a_run_and_left_alone_for_the_emulator(
    thresholds: tuple[int, ...], args: list[str], tuned: bool
) -> None:
    with pytest.raises(SystemExit):
        commands.main(args)
    assert (gc.get_threshold() == commands.GC_THRESHOLDS) is tuned


def test_many_files_load_in_one_process_where_fork_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for index in range(loading.PARALLEL_FROM + 4):
        (tmp_path / f"job-{index}.yaml").write_text(f"kind: Job\nmetadata: {{id: j{index}}}\n")
    monkeypatch.setattr(loading.threading, "active_count", lambda: 1)  # as in the CLI: no other thread
    monkeypatch.setattr(loading.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setattr(multiprocessing, "get_context", pytest.fail)  # a pool would need a context
    documents, problems = loading.load([str(tmp_path)])
    assert problems == []
    assert len(documents) == loading.PARALLEL_FROM + 4
