"""Hostile or mistaken inputs to the CLI (settings, paths, plan files): one ``error: ...`` line naming the
setting, exit 1, no traceback, and nothing read from or written to the API when the input is refused up front."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler import cli, settings
from reconciler.emulator.server import EmulatorServer
from tests.security.helpers import ROOT, Runner, manifest_folder, run_subprocess
from tests.support import Control

MANIFEST = """\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {id: cli-job}
spec:
  name: New name
"""


@pytest.fixture
def jobs(emulator: Control, tmp_path: Path) -> Path:
    """One draft on the server and a manifest that renames it."""
    emulator.seed([{"id": "cli-job", "templateId": "t", "name": "Old name"}])
    folder = manifest_folder(tmp_path, MANIFEST)
    emulator.clear_log()
    return folder


def _one_line_error(outcome: object, *needles: str) -> None:
    from tests.security.helpers import Outcome

    assert isinstance(outcome, Outcome)
    assert outcome.exit_code == 1, outcome.describe()
    assert not outcome.crash, outcome.describe()
    assert "Traceback" not in outcome.stderr, outcome.describe()
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, outcome.describe()
    assert lines[0].startswith("error: "), outcome.describe()
    for needle in needles:
        assert needle in lines[0], outcome.describe()


def test_plan_out_into_a_missing_folder_is_refused_before_the_api_is_read(
    jobs: Path, invoke: Runner, emulator: Control, tmp_path: Path
) -> None:
    outcome = invoke("plan", str(jobs), "--out", str(tmp_path / "missing" / "plan.json"))
    _one_line_error(outcome, "--out", "does not exist")
    assert outcome.stdout == ""  # the plan was not shown only to be lost
    assert emulator.requests() == []


def test_a_deeply_nested_plan_file_is_refused_in_one_line(invoke: Runner, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"format_version": 1, "jobs": ' + "[" * 100_000 + "]" * 100_000 + "}")
    _one_line_error(invoke("apply", str(path)), "nested")
    node: object = []
    for _ in range(200):  # within the JSON parser's limit, beyond any plan this tool writes
        node = [node]
    path.write_text(json.dumps({"format_version": 1, "kind": "plan", "jobs": [{"declared": {"x": node}}]}))
    _one_line_error(invoke("apply", str(path)), "nested")


def test_an_api_key_file_that_never_ends_is_refused(jobs: Path, invoke: Runner, emulator: Control) -> None:
    outcome = invoke("plan", str(jobs), "--api-key-file", "/dev/zero", env={"BYTENITE_API_KEY": None})
    _one_line_error(outcome, "--api-key-file", "/dev/zero")
    assert emulator.requests() == []


@pytest.mark.parametrize(
    ("env", "args", "named"),
    [
        ({"BYTENITE_RATE_LIMIT": "nan"}, [], "BYTENITE_RATE_LIMIT"),
        ({"BYTENITE_RATE_LIMIT": "inf"}, [], "BYTENITE_RATE_LIMIT"),
        ({"BYTENITE_RETRY_ATTEMPTS": "0"}, [], "BYTENITE_RETRY_ATTEMPTS"),
        ({"BYTENITE_RETRY_ATTEMPTS": "2.5"}, [], "BYTENITE_RETRY_ATTEMPTS"),
        ({"BYTENITE_RUN_TIMEOUT": "-1"}, [], "BYTENITE_RUN_TIMEOUT"),
        ({"BYTENITE_RUN_TIMEOUT": "0"}, [], "BYTENITE_RUN_TIMEOUT"),
        ({"BYTENITE_RETRY_BUDGET": "nan"}, [], "BYTENITE_RETRY_BUDGET"),
        ({"BYTENITE_CONCURRENCY": "many"}, [], "BYTENITE_CONCURRENCY"),
        ({}, ["--run-timeout", "nan"], "--run-timeout"),
        ({}, ["--run-timeout", "-5"], "--run-timeout"),
        ({}, ["--rate-limit", "nan"], "--rate-limit"),
        ({}, ["--retry-attempts", "0"], "--retry-attempts"),
        ({}, ["--concurrency", "0"], "--concurrency"),
        ({"BYTENITE_REQUEST_TIMEOUT": "inf"}, [], "BYTENITE_REQUEST_TIMEOUT"),
        ({"BYTENITE_REQUEST_TIMEOUT": "soon"}, [], "BYTENITE_REQUEST_TIMEOUT"),
        ({}, ["--request-timeout", "0"], "--request-timeout"),
        ({}, ["--request-timeout", "nan"], "--request-timeout"),
    ],
)
def test_a_bad_number_is_one_line_naming_the_setting(
    jobs: Path, invoke: Runner, emulator: Control, *, env: dict[str, str], args: list[str], named: str
) -> None:
    outcome = invoke("plan", str(jobs), *args, env=env)
    _one_line_error(outcome, named)
    assert emulator.requests() == []


@pytest.mark.parametrize("text", ["0", "-1", "0.0", "nan", "-inf", "soon"])
@pytest.mark.parametrize("setting", settings.NUMBERS, ids=lambda setting: setting.variable)
def test_a_variable_is_used_or_refused_never_replaced_by_its_default(
    jobs: Path, invoke: Runner, emulator: Control, *, setting: settings.Number[Any, Any], text: str
) -> None:
    """Zero in particular: ``BYTENITE_RETRY_BUDGET=0`` must not quietly become the default of 120 s."""
    outcome = invoke("plan", str(jobs), env={setting.variable: text})
    _one_line_error(outcome, setting.variable, repr(text) if text == "soon" else "")
    assert emulator.requests() == []


def test_a_zero_retry_budget_in_the_environment_is_refused_by_the_installed_command(
    jobs: Path, emulator: Control, environment: dict[str, str], tmp_path: Path
) -> None:
    outcome = run_subprocess(["plan", "jobs"], cwd=tmp_path, env={**environment, "BYTENITE_RETRY_BUDGET": "0"})
    _one_line_error(outcome, "BYTENITE_RETRY_BUDGET must be a positive, finite number, got 0")
    assert emulator.requests() == []


def test_a_variable_given_is_used_and_a_flag_comes_before_it(jobs: Path, invoke: Runner, emulator: Control) -> None:
    emulator.faults(faultRate=1.0)  # every request fails: the attempts made are the setting in use
    outcome = invoke("plan", str(jobs), "--retry-budget", "5", env={"BYTENITE_RETRY_ATTEMPTS": "3"})
    assert outcome.exit_code == 1, outcome.describe()
    assert len(emulator.requests()) == 3
    emulator.clear_log()
    given = {"BYTENITE_RETRY_ATTEMPTS": "0", "BYTENITE_RETRY_BUDGET": "0"}  # refused if read: the flags win
    outcome = invoke("plan", str(jobs), "--retry-attempts", "1", "--retry-budget", "5", env=given)
    assert outcome.exit_code == 1, outcome.describe()
    assert "BYTENITE_RETRY" not in outcome.stderr, outcome.describe()
    assert len(emulator.requests()) == 1


def test_help_and_the_readme_name_each_setting_with_its_variable_and_default() -> None:
    shown = CliRunner().invoke(cli.cli, ["plan", "--help"], terminal_width=400).stdout
    table = (ROOT / "README.md").read_text()
    for setting in (settings.API_URL, settings.JOBS_PREFIX, *settings.NUMBERS):
        line = next((line for line in shown.splitlines() if line.strip().startswith(setting.flag + " ")), "")
        assert setting.variable in line, shown
        if setting.default is not None:
            assert f"default: {setting.default}" in line or f"else {setting.default}" in line, line
        assert re.search(rf"^\| `{setting.flag}` \| `{setting.variable}`", table, re.MULTILINE), setting.flag


def test_plan_json_carries_the_api_url_and_equals_the_plan_file(
    jobs: Path, invoke: Runner, tmp_path: Path, server: EmulatorServer
) -> None:
    path = tmp_path / "plan.json"
    outcome = invoke("plan", str(jobs), "--format", "json", "--out", str(path))
    assert outcome.exit_code == 0, outcome.describe()
    printed, saved = json.loads(outcome.stdout), json.loads(path.read_text())
    assert printed["api_url"] == saved["api_url"] == server.url
    assert printed == saved


def _saved_plan(jobs: Path, invoke: Runner, tmp_path: Path) -> tuple[Path, dict[str, object]]:
    path = tmp_path / "plan.json"
    assert invoke("plan", str(jobs), "--out", str(path)).exit_code == 0
    return path, json.loads(path.read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"api_url": None}, "api_url"),
        ({"format_version": True}, "format_version True"),
        ({"format_version": 1.0}, "format_version 1.0"),
        ({"format_version": "1"}, "format_version '1'"),
    ],
)
def test_a_plan_file_without_its_url_or_of_another_version_is_refused(
    jobs: Path, invoke: Runner, emulator: Control, tmp_path: Path, *, change: dict[str, object], message: str
) -> None:
    path, document = _saved_plan(jobs, invoke, tmp_path)
    document.update(change)
    if document["api_url"] is None:
        del document["api_url"]
    path.write_text(json.dumps(document))
    emulator.clear_log()
    _one_line_error(invoke("apply", str(path)), message)
    assert emulator.requests() == []
