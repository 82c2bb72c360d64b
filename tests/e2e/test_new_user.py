"""Defects a new user met (issue 21): drift reports that could be applied, flags ignored in silence, exits that
read as something else, selections that match nothing, import writing what validate refuses, and the wording."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import SEED, Control

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
    emulator.seed_file(SEED)
    path = _saved_plan(run, tmp_path)
    emulator.clear_log()
    outcome = run("apply", str(path), *flags)
    assert outcome.exit_code == 1
    assert outcome.stderr.strip().splitlines() == [
        f"error: {named} cannot be used with the plan file {path}: a plan file is applied exactly as it was "
        "reviewed; pass the flag to `reconciler plan ... --out` instead"
    ]
    assert emulator.requests() == []


# --- item 2: a drift report is a report --------------------------------------------------------------------


def test_a_saved_drift_report_is_kind_drift_and_apply_refuses_it(emulator: Control, run: Any, tmp_path: Path) -> None:
    emulator.seed_file(SEED)
    path = tmp_path / "drift.json"
    saved = run("plan", "examples/jobs", "--drift", "--out", str(path))
    assert saved.exit_code == 0, saved.stderr
    document = json.loads(path.read_text())
    assert document["kind"] == "drift"
    assert document["summary"]["calls"] == 0
    assert [job["calls"] for job in document["jobs"]] == [[]] * len(document["jobs"])
    assert "apply refuses it" in saved.stderr
    emulator.clear_log()
    applied = run("apply", str(path))
    assert applied.exit_code == 1
    assert applied.stderr.strip().splitlines() == [
        f"error: {path}: a drift report (plan --drift) cannot be applied; save a plan without --drift"
    ]
    assert emulator.requests() == []


def test_drift_lists_no_call_in_any_format_and_its_summary_reads(emulator: Control, run: Any) -> None:
    emulator.seed_file(SEED)
    shown = run("plan", "examples/jobs", "--drift")
    assert shown.exit_code == 0, shown.stderr
    assert not [line for line in shown.stdout.splitlines() if line.lstrip().startswith("→")]
    assert shown.stdout.rstrip().splitlines()[-1] == (
        "Drift: 6 jobs differ (12 fields), 0 errors, 1 unchanged. Requests: 1 read, 0 writes, 0 retries."
    )
    printed = run("plan", "examples/jobs", "--drift", "--format", "json").json()
    assert printed["kind"] == "drift"
    assert all(job["calls"] == [] for job in printed["jobs"])
    comment = run("plan", "examples/jobs", "--drift", "--format", "markdown").stdout
    assert comment.splitlines()[0] == "<!-- bytenite-reconciler:drift -->"
    assert "<!-- bytenite-reconciler:plan -->" not in comment
    assert "Calls:" not in comment
    assert "·  ·" not in comment
    assert "6 jobs differ (12 fields) · 0 errors · 1 unchanged" in comment


def test_one_drifted_job_reads_in_the_singular(emulator: Control, run: Any) -> None:
    emulator.seed_file(SEED)
    shown = run("plan", "examples/jobs/analytics/daily-rollup.yaml", "--drift")
    assert shown.stdout.rstrip().splitlines()[-1] == (
        "Drift: 1 job differs (1 field), 0 errors, 0 unchanged. Requests: 1 read, 0 writes, 0 retries."
    )


@pytest.mark.parametrize("flag", ["--prune", "--replace"])
def test_drift_refuses_the_flags_that_propose_writes(emulator: Control, run: Any, flag: str) -> None:
    outcome = run("plan", "examples/jobs", "--drift", flag)
    assert outcome.exit_code == 1
    assert outcome.stderr.strip() == f"error: --drift proposes no writes: {flag} cannot be used with it"
    assert emulator.requests() == []


# --- item 5: a selection that matches nothing is an error ------------------------------------------------


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_target_or_selector_matching_nothing_is_named(emulator: Control, run: Any, command: str) -> None:
    emulator.seed_file(SEED)
    args = ("--target", NIGHTLY, "--target", "no-such-job", "--selector", "team=nobody", "--selector", "team=vision")
    outcome = run(command, "examples/jobs", *args, *(("--auto-approve",) if command == "apply" else ()))
    assert outcome.exit_code == 1
    assert outcome.stderr.strip() == "error: no manifest matches --target no-such-job, --selector team=nobody"
    assert emulator.requests() == []


def test_a_selection_that_matches_nothing_together_is_an_error(emulator: Control, run: Any) -> None:
    outcome = run("plan", "examples/jobs", "--target", NIGHTLY, "--exclude", NIGHTLY)
    assert outcome.exit_code == 1
    assert outcome.stderr.strip() == "error: the selection (--target, --exclude, --selector) leaves no manifest to plan"
    assert emulator.requests() == []


# --- item 6: import writes what validate accepts, and overwrites or creates nothing unasked ---------------

AUTH_URL_JOB = {
    "id": "11111111-2222-4333-8444-555555555555",
    "templateId": "csv-import",
    "name": "Basic-auth download",
    "dataSource": {
        "dataSourceDescriptor": "url",
        "params": {"url": "https://example.com/a.csv", "username": "reader", "password": "hunter2-basic"},
    },
    "dataDestination": {"dataSourceDescriptor": "bucket"},
}


def test_validate_accepts_every_manifest_import_writes(emulator: Control, run: Any, tmp_path: Path) -> None:
    """One job of each data-source family the seed holds (aws, s3, gcp, storj, url, file, bucket, bypass), and
    a url source with basic auth."""
    jobs = emulator.seed_file(SEED)
    emulator.seed([AUTH_URL_JOB])
    families = {job[side]["dataSourceDescriptor"] for job in jobs for side in ("dataSource", "dataDestination")}
    assert families == {"aws", "s3", "gcp", "storj", "url", "file", "bucket", "bypass"}
    out = tmp_path / "imported"
    out.mkdir()
    imported = run("import", *(job["id"] for job in [*jobs, AUTH_URL_JOB]), "--out", str(out))
    assert imported.exit_code == 0, imported.stderr
    assert len(list(out.iterdir())) == len(jobs) + 1
    validated = run("validate", str(out))
    assert validated.exit_code == 0, validated.stderr
    assert validated.stdout == f"{len(jobs) + 1} manifests valid.\n"
    assert "hunter2-basic" not in "".join(path.read_text() for path in out.iterdir())


def test_import_never_overwrites_without_force(emulator: Control, run: Any, tmp_path: Path) -> None:
    emulator.seed_file(SEED)
    out = tmp_path / "imported"
    out.mkdir()
    first = run("import", NIGHTLY, "--out", str(out))
    assert first.exit_code == 0, first.stderr
    (path,) = out.iterdir()
    path.write_text("# my edits\n" + path.read_text())
    again = run("import", NIGHTLY, "--out", str(out))
    assert again.exit_code == 1
    assert again.stderr.strip() == f"error: --out: {path} already exists (pass --force to overwrite)"
    assert path.read_text().startswith("# my edits")
    forced = run("import", NIGHTLY, "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert not path.read_text().startswith("# my edits")


def test_import_into_a_missing_folder_needs_mkdir(emulator: Control, run: Any, tmp_path: Path) -> None:
    emulator.seed_file(SEED)
    out = tmp_path / "new" / "folder"
    refused = run("import", NIGHTLY, "--out", str(out))
    assert refused.exit_code == 1
    assert refused.stderr.strip() == f"error: --out {out}: the folder does not exist (pass --mkdir to create it)"
    assert not out.parent.exists()
    assert emulator.requests() == []
    created = run("import", NIGHTLY, "--out", str(out), "--mkdir")
    assert created.exit_code == 0, created.stderr
    assert f"created {out}" in created.stderr
    assert len(list(out.iterdir())) == 1


# --- item 9: messages in words --------------------------------------------------------------------------

WORDY = """apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata:
  key: "has space"
spec:
  name: ""
  dataSource: {dataSourceDescriptor: url, params: {url: "ftp://host/x", name: a}}
  params: []
"""


def test_manifest_errors_say_what_is_allowed_in_words(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "wordy.yaml"
    path.write_text(WORDY)
    outcome = run("validate", str(path), "nonexistent")
    assert outcome.exit_code == 1
    assert outcome.stderr.splitlines() == [
        f"error: {path}:4:3: key: must be 1 to 200 characters: ASCII letters, digits and . _ - / : (starting with "
        "a letter or a digit); no spaces, #, ; or =",
        f"error: {path}:6:3: name: must not be empty",
        f"error: {path}:7:52: url: must be an http:// or https:// URL without spaces, or a whole "
        "${env:NAME} reference",
        f"error: {path}:7:73: key 'name' is not allowed here",
        f"error: {path}:8:3: params: must be a mapping, got a list",
        "error: nonexistent: no such file or folder",
        "6 problems in the manifests; nothing was sent to the API.",
    ]
    assert "ftp://host/x" not in outcome.stderr


def test_a_retried_call_is_said_once_on_stderr(emulator: Control, run: Any) -> None:
    """An unreachable API used to be retried for 25 s in silence."""
    outcome = run("plan", "examples/jobs", "--api-url", "http://127.0.0.1:1/v1", "--retry-attempts", "3")
    assert outcome.exit_code == 1
    called = "POST http://127.0.0.1:1/v1/auth/access_token: ConnectError: All connection attempts failed"
    assert (
        outcome.stderr.splitlines()[0]
        == f"WARNING reconciler.api.retrying: request failed: {called}; retrying (attempt 2 of 3)"
    )
    assert len(outcome.stderr.splitlines()) == 2
    assert outcome.stderr.splitlines()[1].startswith(f"error: cannot reach the API: {called}")


def test_counts_of_one_read_in_the_singular(emulator: Control, run: Any, tmp_path: Path) -> None:
    emulator.seed_file(SEED)
    planned = run("plan", "examples/jobs/analytics/daily-rollup.yaml", "--out", str(tmp_path / "plan.json"))
    assert planned.stdout.rstrip().splitlines()[-1] == (
        "Plan: 1 to update (1 call), 0 blocked, 0 errors, 0 unchanged. Requests: 1 read, 0 writes, 0 retries."
    )
    comment = run("plan", "examples/jobs/analytics/daily-rollup.yaml", "--format", "markdown").stdout
    assert "1 to update (1 call)" in comment
    assert "Requests: 1 read, 0 writes, 0 retries." in comment
    applied = run("apply", str(tmp_path / "plan.json"))
    assert applied.exit_code == 0, applied.stderr
    assert f"Applying the reviewed plan {tmp_path / 'plan.json'} (1 call)" in applied.stderr


# --- item 8: long values show where they differ, and whole on request ------------------------------------

LONG_ID = "22222222-3333-4444-8555-666666666666"
PREFIX = "a lighthouse at dusk, " * 20  # 440 characters the two sides share


def _long_value_job(emulator: Control, tmp_path: Path) -> Path:
    emulator.seed([{"id": LONG_ID, "templateId": "t", "name": "Long", "params": {"app": {"prompt": PREFIX + "red"}}}])
    path = tmp_path / "long.yaml"
    path.write_text(
        "apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata:\n  id: " + LONG_ID + "\nspec:\n"
        f"  params:\n    app:\n      prompt: {json.dumps(PREFIX + 'blue')}\n"
    )
    return path


def test_a_long_value_is_shown_around_its_first_difference(emulator: Control, run: Any, tmp_path: Path) -> None:
    path = _long_value_job(emulator, tmp_path)
    line = next(line for line in run("plan", str(path)).stdout.splitlines() if "params.app.prompt" in line)
    before, after = line.split(": ", 1)[1].split(" → ")
    assert before.startswith("…")
    assert after.startswith("…")
    assert before.endswith('red"')
    assert after.endswith('blue"')
    assert len(before) < 200
    assert before[:-5] == after[:-6]  # both sides cut at the same offset: the text before the difference agrees
    comment = run("plan", str(path), "--format", "markdown").stdout
    row = next(line for line in comment.splitlines() if "params.app.prompt" in line)
    assert 'red"`' in row
    assert 'blue"`' in row


def test_full_values_shows_long_values_whole(emulator: Control, run: Any, tmp_path: Path) -> None:
    path = _long_value_job(emulator, tmp_path)
    for command in (("plan",), ("plan", "--format", "markdown"), ("apply", "--auto-approve")):
        shown = run(*command, str(path), "--full-values").stdout
        assert json.dumps(PREFIX + "red") in shown, command
        assert json.dumps(PREFIX + "blue") in shown, command
