"""Hostile manifests: each gets a clear error, quickly, and not one request reaches the API.

Every case is copied alone into a fresh folder and run through ``reconciler plan DIR`` and ``reconciler validate
DIR`` in its own process (a loader that crashes must not take pytest with it) against the session emulator, whose
request counters must stay at zero: not even the token exchange. The bound here is a generous 10 s; the measured
times are printed at the end of the run, for the issue's budget of 1 s.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import EmulatorServer
from tests.security.helpers import API_KEY, HOSTILE, Outcome, run_subprocess
from tests.support import Control

TIME_BOUND = 10.0
MAX_LINE = 300  # a one-line error a person can read
MAX_LINES = 50  # one hostile file, a screenful of errors at most
# An error line: "error: FILE:LINE:COLUMN: message".
ERROR_LINE = re.compile(r"^error: (?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<message>.*)$")
# What a user should never have to read: the interpreter's internals instead of the problem in their file.
INTERNALS = ("Traceback", "__", "sys.set_int_max_str_digits", "maximum recursion depth", "Segmentation")


def _generated(name: str, folder: Path) -> Path:
    """Cases too big or too odd to commit, built in the test's folder; returns the path the error must name."""
    head = f"apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata:\n  id: hostile-{name}\n"
    if name == "too-large":
        path = folder / "too-large.yaml"
        filler = "".join(f"      - item number {index:08d} of a long list\n" for index in range(60_000))
        path.write_text(head + "spec:\n  params:\n    app:\n      items:\n" + filler)
        assert path.stat().st_size > 2 * 1024 * 1024
        return path
    if name == "ten-thousand-documents":
        path = folder / "ten-thousand-documents.yaml"
        path.write_text("".join(f"--- {{kind: Job, metadata: {{id: hostile-{index}}}}}\n" for index in range(10_000)))
        return path
    if name == "deeper-nesting":
        path = folder / "deeper-nesting.yaml"
        path.write_text(head + "spec:\n  params:\n    app:\n      deep: " + "[" * 100_000 + "]" * 100_000 + "\n")
        return path
    if name == "compact-nesting":
        path = folder / "compact-nesting.yaml"
        path.write_text(head + "spec:\n  params:\n    app:\n      deep:\n        " + "- " * 50_000 + "x\n")
        return path
    if name == "alias-text-bomb":
        path = folder / "alias-text-bomb.yaml"
        copies = ", ".join(["*text"] * 90_000)
        path.write_text(
            head + f"spec:\n  params:\n    app:\n      text: &text {'x' * 400_000}\n      copies: [{copies}]\n"
        )
        assert path.stat().st_size < 1024 * 1024
        return path
    if name == "symlink-outside":
        outside = folder.parent / "outside"
        outside.mkdir()
        (outside / "target.yaml").write_text(head + "spec:\n  name: read from outside the folder\n")
        link = folder / "link.yaml"
        link.symlink_to(Path("..", "outside", "target.yaml"))
        return link
    if name == "symlink-loop":
        (folder / "a.yaml").symlink_to("b.yaml")
        (folder / "b.yaml").symlink_to("a.yaml")
        return folder / "a.yaml"
    raise AssertionError(f"no such case: {name}")  # pragma: no cover


@dataclass(frozen=True)
class Case:
    """One hostile file; ``line`` is where its error should point (None when the whole file is the problem)."""

    name: str
    line: int | None
    refused_bug: str = ""  # why the file is not refused cleanly today, if it is not
    clarity_bug: str = ""  # why its error is not clear today, if it is not

    def build(self, folder: Path) -> Path:
        fixture = HOSTILE / f"{self.name}.yaml"
        if fixture.exists():
            return Path(shutil.copy(fixture, folder / fixture.name))
        return _generated(self.name, folder)


CASES = [
    Case("billion-laughs", None),
    Case("recursive-alias", None),
    Case("merge-key-bomb", None),
    Case("python-object-apply", 8),
    Case("python-name", 9),
    Case("python-module", 9),
    Case("unknown-tag", 9),
    Case("scalar-document", 2),
    Case("list-document", 2),
    Case("duplicate-keys", 6),
    Case("deep-nesting", 9),
    Case("deep-mapping", 9),
    Case(
        "long-key",
        6,
    ),
    Case(
        "huge-integer",
        8,
    ),
    Case("non-string-keys", 8),
    Case("timestamp-value", 9),
    Case("binary-value", 9),
    Case("set-value", 9),
    Case("nan-value", 9),
    Case("invalid-utf8", 7),
    Case("utf16", None),
    Case(
        "nul-byte",
        7,
    ),
    Case("too-large", None),
    Case(
        "ten-thousand-documents",
        None,
    ),
    Case(
        "deeper-nesting",
        8,  # generated without the fixtures' comment line
    ),
    Case("compact-nesting", 9),  # generated without the fixtures' comment line
    Case("alias-text-bomb", None),
    Case("symlink-outside", None),
    Case(
        "symlink-loop",
        None,
    ),
]
COMMANDS = ["plan", "validate"]


def _xfail(reason: str) -> list[Any]:
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


@dataclass
class HostileRun:
    outcome: Outcome
    named: str  # the path of the hostile file, as the error should name it
    requests: dict[str, Any]
    canary: bool  # a file an unsafe loader would have created


@pytest.fixture(scope="session")
def hostile_run(
    server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory, timings: dict[str, float]
) -> Iterator[Callable[[Case, str], HostileRun]]:
    """Each case and command runs once a session; the refusal and clarity tests share the result."""
    runs: dict[tuple[str, str], HostileRun] = {}
    env = {"BYTENITE_API_URL": server.url, "BYTENITE_API_KEY": API_KEY}
    with Control(server.base_url) as control:
        # What any run costs before it reads a byte: the interpreter, the imports, one valid manifest.
        baseline = tmp_path_factory.mktemp("baseline")
        (baseline / "job.yaml").write_text(
            "apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata: {id: baseline}\nspec: {name: x}\n"
        )
        timings["baseline: validate of one valid manifest"] = run_subprocess(
            ["validate", "job.yaml"], cwd=baseline, env=env
        ).seconds

        def run(case: Case, command: str) -> HostileRun:
            if (case.name, command) not in runs:
                work = tmp_path_factory.mktemp(f"{case.name}-{command}")
                folder = work / "manifests"
                folder.mkdir()
                named = case.build(folder)
                control.reset()
                outcome = run_subprocess([command, "manifests"], cwd=work, env=env, timeout=TIME_BOUND)
                counters = control.counters()
                timings[f"hostile {case.name} ({command})"] = outcome.seconds
                print(f"{case.name} ({command}): {outcome.seconds:.2f} s, exit {outcome.exit_code}")
                runs[case.name, command] = HostileRun(
                    outcome, str(named.relative_to(work)), counters, (work / "hostile-pwned").exists()
                )
            return runs[case.name, command]

        yield run


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", [pytest.param(case, id=case.name, marks=_xfail(case.refused_bug)) for case in CASES])
def test_a_hostile_file_is_refused_without_a_request(
    case: Case, command: str, hostile_run: Callable[[Case, str], HostileRun]
) -> None:
    run = hostile_run(case, command)
    outcome = run.outcome
    assert outcome.seconds < TIME_BOUND, f"{outcome.seconds:.1f} s\n{outcome.describe()}"
    assert outcome.exit_code == 1, outcome.describe()
    assert "Traceback" not in outcome.stdout + outcome.stderr, outcome.describe()
    assert run.requests["total"] == 0, run.requests
    assert not run.canary, "a tag ran code"
    assert outcome.stderr.startswith(f"error: {run.named}:"), outcome.describe()
    assert not outcome.stdout.strip() or command == "validate", outcome.describe()


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name, marks=_xfail(case.clarity_bug)) for case in CASES])
def test_a_hostile_file_gets_a_clear_error(case: Case, hostile_run: Callable[[Case, str], HostileRun]) -> None:
    run = hostile_run(case, "plan")
    lines = run.outcome.stderr.splitlines()
    first = ERROR_LINE.match(lines[0]) if lines else None
    assert first is not None, run.outcome.describe()
    assert first["file"] == run.named
    message = first["message"]
    assert message[:1].isalnum() or message[:1] in "'\"[", f"unclear start: {message[:80]!r}"
    assert not [word for word in INTERNALS if word in run.outcome.stderr], run.outcome.stderr[:2000]
    assert all(len(line) <= MAX_LINE for line in lines), f"a line of {max(map(len, lines))} characters"
    assert len(lines) <= MAX_LINES, f"{len(lines)} lines of errors"
    if case.line is not None:
        assert int(first["line"]) == case.line, lines[0]


def test_the_same_errors_from_validate(hostile_run: Callable[[Case, str], HostileRun]) -> None:
    """validate and plan share the loader: their first error is the same for the cases both refuse cleanly."""
    for case in CASES:
        if case.refused_bug:
            continue
        plan, validate = hostile_run(case, "plan"), hostile_run(case, "validate")
        first = [run.outcome.stderr.splitlines()[0].replace(run.named, "FILE") for run in (plan, validate)]
        assert first[0] == first[1], (case.name, first)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_in_the_folder_is_refused_not_waited_on(server: EmulatorServer, tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    os.mkfifo(folder / "pipe.yaml")
    env = {"BYTENITE_API_URL": server.url, "BYTENITE_API_KEY": API_KEY}

    outcome = run_subprocess(["plan", "manifests"], cwd=tmp_path, env=env, timeout=TIME_BOUND)

    assert outcome.exit_code == 1, outcome.describe()
    assert outcome.stderr.startswith("error: manifests/pipe.yaml:"), outcome.describe()


def test_a_symlinked_folder_leading_outside_is_never_read(server: EmulatorServer, tmp_path: Path) -> None:
    """A linked folder is not followed (os.walk without followlinks): nothing outside the named folder is read."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "job.yaml").write_text(
        "apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata: {id: read-from-outside}\nspec: {name: x}\n"
    )
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    env = {"BYTENITE_API_URL": server.url, "BYTENITE_API_KEY": API_KEY}
    with Control(server.base_url) as control:
        control.reset(faults=False)
        outcome = run_subprocess(["plan", "manifests", "--format", "json"], cwd=tmp_path, env=env)
        requests = control.requests()

    assert "read-from-outside" not in outcome.stdout + outcome.stderr, outcome.describe()
    assert not [r for r in requests if "read-from-outside" in r["path"]], requests
    assert outcome.exit_code in (0, 1), outcome.describe()
    assert "Traceback" not in outcome.stderr, outcome.describe()
