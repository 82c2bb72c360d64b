"""Defects a new user met (issue 21): drift reports that could be applied, flags ignored in silence, exits that
read as something else, selections that match nothing, import writing what validate refuses, and the wording."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Control

NIGHTLY = "7728ba38-f0a0-4319-ae28-07734448a334"


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "examples/jobs", "--bogus"),
        ("plan",),
        ("plan", "examples/jobs", "--format", "yaml"),
        ("--bogus", "plan", "examples/jobs"),
        ("apply", "examples/jobs", "--concurrency", "many"),
    ],
    ids=["unknown-option", "missing-argument", "bad-choice", "unknown-group-option", "bad-number"],
)
def test_a_usage_error_exits_1_not_2(emulator: Control, run: Any, args: tuple[str, ...]) -> None:
    """2 means "changes pending" under --detailed-exitcode: a typo in a pipeline must not read as a diff."""
    outcome = run(*args, "--detailed-exitcode") if args[0] == "plan" and len(args) > 1 else run(*args)
    assert outcome.exit_code == 1, outcome.stderr
    assert "Error:" in outcome.stderr
    assert emulator.requests() == []


def test_help_still_exits_0(run: Any) -> None:
    outcome = run("plan", "--help")
    assert outcome.exit_code == 0
    assert "--detailed-exitcode" in outcome.stdout


def _saved_plan(run: Any, tmp_path: Path, *args: str) -> Path:
    path = tmp_path / "plan.json"
    outcome = run("plan", "examples/jobs", "--out", str(path), *args)
    assert outcome.exit_code == 0, outcome.stderr
    return path


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (("--target", NIGHTLY), "--target"),
        (("--selector", "team=vision"), "--selector"),
        (("--prune",), "--prune"),
        (("--replace",), "--replace"),
        (("--detailed-exitcode",), "--detailed-exitcode"),
        (("--exclude", NIGHTLY, "--prune"), "--exclude, --prune"),
    ],
)
def test_apply_planfile_refuses_flags_it_would_ignore(
    emulator: Control, run: Any, tmp_path: Path, flags: tuple[str, ...], named: str
) -> None:
    emulator.seed_examples()
    path = _saved_plan(run, tmp_path)
    emulator.clear_log()
    outcome = run("apply", str(path), *flags)
    assert outcome.exit_code == 1
    assert outcome.stderr.strip().splitlines() == [
        f"error: {named} cannot be used with the plan file {path}: a plan file is applied exactly as it was "
        "reviewed; pass the flag to `reconciler plan ... --out` instead"
    ]
    assert emulator.requests() == []
