"""Defects a new user met (issue 21): drift reports that could be applied, flags ignored in silence, exits that
read as something else, selections that match nothing, import writing what validate refuses, and the wording."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Control


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
