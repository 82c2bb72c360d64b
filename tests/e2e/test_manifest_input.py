"""What the walk cannot read, keys that could collide or forge a marker, and markers that are not certain: each
stops the run before any write, or keeps a job from being pruned (issue 19, items 6, 7, 8 and 15).

Every test drives the real CLI against the emulator on 127.0.0.1 and looks at the jobs the server still holds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import generated
from tests.e2e.test_parallel_loading import _validate
from tests.support import ROOT, Control


def _manifest(folder: Path, key: str, *, name: str = "", description: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = {"templateId": "report-tpl", "name": key}
    if description:
        spec["description"] = description
    path = folder / (name or f"{key.replace('/', '-')}.yaml")
    path.write_text(
        "apiVersion: reconciler.bytenite.io/v1\nkind: Job\n"
        f"metadata: {{key: {json.dumps(key)}}}\nspec: {json.dumps(spec)}\n"
    )
    return path


def _keys(emulator: Control) -> list[str]:
    return sorted(job["name"] for job in emulator.jobs())


def test_an_upper_case_extension_is_read_so_prune_keeps_its_job(emulator: Control, run: Any, tmp_path: Path) -> None:
    folder = tmp_path / "jobs"
    _manifest(folder, "keep/a")
    lower = _manifest(folder, "keep/b")
    assert run("apply", str(folder), "--auto-approve").exit_code == 0
    lower.rename(folder / "KEEP-B.YAML")

    outcome = run("apply", str(folder), "--prune", "--auto-approve")

    assert outcome.exit_code == 0, outcome.stderr
    assert "prune" not in outcome.stdout
    assert _keys(emulator) == ["keep/a", "keep/b"]


def test_a_symlinked_folder_is_an_error_that_stops_prune(emulator: Control, run: Any, tmp_path: Path) -> None:
    folder = tmp_path / "jobs"
    _manifest(folder, "keep/a")
    _manifest(folder / "team", "keep/b")
    assert run("apply", str(folder), "--auto-approve").exit_code == 0
    shutil.move(folder / "team", tmp_path / "team")
    (folder / "team").symlink_to(tmp_path / "team", target_is_directory=True)
    emulator.clear_log()

    outcome = run("apply", str(folder), "--prune", "--auto-approve")

    assert outcome.exit_code == 1, outcome.stdout
    assert f"error: {folder / 'team'}:1:1: symlink to a folder: refused" in outcome.stderr
    assert emulator.writes() == []
    assert _keys(emulator) == ["keep/a", "keep/b"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a folder whatever its mode")
def test_an_unreadable_folder_is_an_error_that_stops_prune(emulator: Control, run: Any, tmp_path: Path) -> None:
    folder = tmp_path / "jobs"
    _manifest(folder, "keep/a")
    _manifest(folder / "team", "keep/b")
    assert run("apply", str(folder), "--auto-approve").exit_code == 0
    (folder / "team").chmod(0)
    emulator.clear_log()
    try:
        outcome = run("apply", str(folder), "--prune", "--auto-approve")
    finally:
        (folder / "team").chmod(0o755)

    assert outcome.exit_code == 1, outcome.stdout
    assert f"error: {folder / 'team'}:1:1: cannot read folder" in outcome.stderr
    assert emulator.writes() == []
    assert _keys(emulator) == ["keep/a", "keep/b"]


@pytest.mark.parametrize(
    "key",
    [
        "foo#1",  # the name generation 1 of key foo is derived from
        "a\nmanaged-by: reconciler; key=victim; generation=0",  # a second marker line
        "a; generation=0",  # the rest of a marker line
        "has space",
        "",
    ],
)
def test_a_key_outside_the_safe_alphabet_is_refused(emulator: Control, run: Any, tmp_path: Path, key: str) -> None:
    path = _manifest(tmp_path / "jobs", "fine", name="bad.yaml")
    path.write_text(path.read_text().replace('key: "fine"', f"key: {json.dumps(key)}"))

    for command in ("validate", "apply"):
        outcome = run(command, str(path), *(["--auto-approve"] if command == "apply" else []))
        assert outcome.exit_code == 1, outcome.stdout
        assert outcome.stderr.startswith(f"error: {path}:3:"), outcome.stderr
        assert "key: must be 1 to 200 characters: ASCII letters, digits and . _ - / :" in outcome.stderr
        assert "pattern" not in outcome.stderr
    assert emulator.jobs() == []


def test_a_key_and_a_generation_id_of_another_key_never_meet(emulator: Control, run: Any, tmp_path: Path) -> None:
    """Key ``foo`` at generation 1 and key ``foo#1`` derived one id; ``#`` is now refused, so two manifests never
    fight over one job, and the same key twice is reported at both of its positions."""
    first = _manifest(tmp_path / "jobs", "foo", name="a.yaml")
    second = _manifest(tmp_path / "jobs", "foo", name="b.yaml")

    outcome = run("validate", str(tmp_path / "jobs"))

    assert outcome.exit_code == 1
    errors = sorted(line for line in outcome.stderr.splitlines() if line.startswith("error: "))
    assert errors[0].startswith(f"error: {first}:3:12: job ")
    assert errors[0].endswith(f"is also managed by {second}:3:12")
    assert errors[1].startswith(f"error: {second}:3:12: job ")
    assert errors[1].endswith(f"is already managed by {first}:3:12")


@pytest.mark.parametrize(
    "description",
    [
        # Two marker lines: which claim is true cannot be told, so neither is believed.
        "managed-by: reconciler; key=forged; generation=0\nmanaged-by: reconciler; key=keep/a; generation=0",
        "managed-by: reconciler; key=forged;x; generation=0",  # outside the key alphabet
        "managed-by: reconciler; key=forged; generation=0; extra",
        "managed-by: reconciler; key=forged; generation=00",
    ],
)
def test_a_draft_with_an_uncertain_marker_is_never_pruned(
    emulator: Control, run: Any, tmp_path: Path, description: str
) -> None:
    folder = tmp_path / "jobs"
    _manifest(folder, "keep/a")
    emulator.seed([{"id": "seeded-job", "templateId": "t", "name": "seeded-job", "description": description}])

    outcome = run("apply", str(folder), "--prune", "--auto-approve")

    assert outcome.exit_code == 0, outcome.stderr
    assert "prune job" not in outcome.stdout
    assert _keys(emulator) == ["keep/a", "seeded-job"]


def test_a_description_holding_a_marker_line_is_refused(emulator: Control, run: Any, tmp_path: Path) -> None:
    """The manifest's own text is written above the marker: a marker line in it would make two."""
    path = _manifest(tmp_path / "jobs", "keep/a", description="hello\nmanaged-by: reconciler; key=x; generation=0")

    outcome = run("apply", str(path), "--auto-approve")

    assert outcome.exit_code == 1
    assert "a line starting 'managed-by:' is the tool's ownership marker" in outcome.stderr
    assert emulator.jobs() == []


def test_a_crashing_file_among_many_is_named_in_the_parallel_path(tmp_path: Path) -> None:
    """50,000 compact ``- - -`` levels segfaulted the C composer: in a forked worker that was a BrokenProcessPool
    traceback naming nothing. The depth pre-scan now refuses the file, at its position, in any worker."""
    folder = tmp_path / "jobs"
    generated.write_manifests(folder, 300)
    deep = folder / "job-00150.yaml"
    deep.write_text(deep.read_text() + "extra:\n  " + "- " * 50_000 + "x\n")

    outcome = _validate(folder)

    assert outcome.returncode == 1, outcome.stderr[-2000:]
    assert "loading 300 files in" in outcome.stderr
    assert "BrokenProcessPool" not in outcome.stderr  # --debug shows the (expected) ManifestErrors traceback
    assert f"error: {deep}:" in outcome.stderr
    assert "nested more than 64 levels deep: refused" in outcome.stderr


# The CLI with the depth pre-scan switched off: the C composer then really crashes in a forked worker.
UNGUARDED = (
    "import sys; from reconciler.desired import limits; limits.may_be_hostile = lambda text: False; "
    "from reconciler.cli import main; sys.argv[0] = 'reconciler'; main()"
)


def test_a_worker_that_crashes_is_a_problem_naming_the_file(tmp_path: Path) -> None:
    """A crash no check foresaw (here the segfault the pre-scan now prevents) is an error at the file that
    crashes, and the run fails before any request: not a BrokenProcessPool traceback."""
    folder = tmp_path / "jobs"
    generated.write_manifests(folder, 300)
    deep = folder / "job-00150.yaml"
    deep.write_text(deep.read_text() + "extra:\n  " + "- " * 50_000 + "x\n")

    outcome = subprocess.run(
        [sys.executable, "-c", UNGUARDED, "validate", str(folder)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert outcome.returncode == 1, outcome.stderr[-2000:]
    assert "Traceback" not in outcome.stderr
    assert outcome.stderr.startswith(f"error: {deep}:1:1: the YAML parser crashed on this file: refused\n")


def test_a_job_a_manifest_names_by_id_is_never_pruned_whatever_its_marker(
    emulator: Control, run: Any, tmp_path: Path
) -> None:
    """The migration for a key outside the alphabet: the manifest names the job by its id instead. The job's
    marker still claims the old key, which no manifest holds; prune must not take it for an orphan."""
    marker = "managed-by: reconciler; key=old/key; generation=0"
    emulator.seed([{"id": "kept-by-id", "templateId": "t", "name": "kept-by-id", "description": marker}])
    path = tmp_path / "jobs" / "job.yaml"
    path.parent.mkdir()
    path.write_text(
        "apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata: {id: kept-by-id}\n"
        "spec: {templateId: t, name: kept-by-id}\n"
    )

    outcome = run("apply", str(path.parent), "--prune", "--auto-approve")

    assert outcome.exit_code == 0, outcome.stderr
    assert "prune job" not in outcome.stdout
    assert _keys(emulator) == ["kept-by-id"]
