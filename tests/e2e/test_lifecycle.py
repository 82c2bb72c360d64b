"""The job lifecycle without a state file: create, launch, replace by generation, prune, import, fmt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.server import EmulatorServer
from tests.support import API_KEY, SEED, Control

# UUIDv5 of the key under the documented namespace: a test that fails if either ever changes.
KEY = "team/nightly-report"
KEY_ID = "8b74b398-241d-506d-9ba6-d248a9f18c2d"


def _manifest(folder: Path, *, key: str | None = KEY, job_id: str | None = None, **spec: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    identity = f"key: {key}" if key else f"id: {job_id}"
    body = {"templateId": "report-tpl", "name": "Nightly report", "params": {"app": {"rows": 10}}, **spec}
    path = folder / f"{(key or job_id or 'job').replace('/', '-')}.yaml"
    path.write_text(
        "# the nightly report\n"
        f"apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata: {{{identity}}}\nspec: {json.dumps(body)}\n"
    )
    return path


def _job_id(run: Any, folder: Path) -> str:
    document = run("plan", str(folder), "--format", "json").json()
    return str(document["jobs"][0]["id"])


def test_a_key_derives_the_same_id_on_two_fresh_machines(tmp_path: Path, run: Any, monkeypatch: Any) -> None:
    _manifest(tmp_path / "jobs")
    ids = []
    for _ in range(2):
        with EmulatorServer(EmulatorConfig(api_key=API_KEY, step_seconds=0)) as fresh:
            monkeypatch.setenv("BYTENITE_API_URL", fresh.url)
            assert run("apply", str(tmp_path / "jobs"), "--auto-approve").exit_code == 0
            ids.append([job["id"] for job in fresh.store.all()])
    assert ids == [[KEY_ID], [KEY_ID]]


def test_create_then_plan_is_empty_and_a_second_apply_writes_nothing(
    emulator: Control, run: Any, tmp_path: Path
) -> None:
    _manifest(tmp_path / "jobs", description="Rows for the morning meeting")
    planned = run("plan", str(tmp_path / "jobs"))
    assert f"+ create job {KEY_ID}" in planned.stdout
    assert "→ POST /jobs (job " in planned.stdout
    assert run("apply", str(tmp_path / "jobs"), "--auto-approve").exit_code == 0
    created = emulator.job(KEY_ID)
    assert created["description"] == (  # the root: the path given, absolute here since tmp_path holds no .git
        "Rows for the morning meeting\nmanaged-by: reconciler; key=team/nightly-report; generation=0"
        f"; root={tmp_path / 'jobs'}"
    )
    assert created["params"]["app"] == {"rows": 10.0}
    assert run("plan", str(tmp_path / "jobs"), "--detailed-exitcode").exit_code == 0
    emulator.clear_log()
    assert "Nothing to do." in run("apply", str(tmp_path / "jobs"), "--auto-approve").stdout
    assert emulator.writes() == []


def test_spec_run_launches_exactly_once_over_two_applies(emulator: Control, run: Any, tmp_path: Path) -> None:
    _manifest(tmp_path / "jobs", run=True, config={"taskTimeout": 900})
    first = run("apply", str(tmp_path / "jobs"), "--auto-approve")
    assert first.exit_code == 0, first.stdout
    assert "POST run (launch): done" in first.stdout
    assert emulator.job(KEY_ID)["state"] != "JOB_STATE_NEW"
    second = run("apply", str(tmp_path / "jobs"), "--auto-approve")
    assert second.exit_code == 0
    runs = [write for write in emulator.writes() if write[1].endswith("/run")]
    assert runs == [("POST", f"/v1/customer/jobs/{KEY_ID}/run")]


def _complete(emulator: Control, job_id: str) -> None:
    emulator.advance(job_id, "JOB_STATE_COMPLETE")


def test_a_changed_manifest_of_a_completed_job_gets_a_new_generation_with_replace(
    emulator: Control, run: Any, tmp_path: Path
) -> None:
    _manifest(tmp_path / "jobs")
    assert run("apply", str(tmp_path / "jobs"), "--auto-approve").exit_code == 0
    _complete(emulator, KEY_ID)
    before = emulator.job(KEY_ID)
    _manifest(tmp_path / "jobs", params={"app": {"rows": 20}})

    blocked = run("plan", str(tmp_path / "jobs"), "--detailed-exitcode")
    assert blocked.exit_code == 3
    assert "--replace creates generation 1" in blocked.stdout

    replaced = run("apply", str(tmp_path / "jobs"), "--auto-approve", "--replace")
    assert replaced.exit_code == 0, replaced.stdout + replaced.stderr
    assert "[destructive]" in replaced.stdout
    generation_1 = next(job for job in emulator.jobs() if job["id"] != KEY_ID)
    assert generation_1["description"].endswith(f"key=team/nightly-report; generation=1; root={tmp_path / 'jobs'}")
    assert generation_1["params"]["app"] == {"rows": 20.0}
    assert emulator.job(KEY_ID) == before  # generation 0 is history, untouched
    assert run("plan", str(tmp_path / "jobs"), "--detailed-exitcode").exit_code == 0


def test_a_running_job_is_aborted_only_with_abort_running(emulator: Control, run: Any, tmp_path: Path) -> None:
    _manifest(tmp_path / "jobs", run=True)
    assert run("apply", str(tmp_path / "jobs"), "--auto-approve").exit_code == 0
    _manifest(tmp_path / "jobs", run=True, params={"app": {"rows": 30}})
    refused = run("plan", str(tmp_path / "jobs"), "--replace", "--detailed-exitcode")
    assert refused.exit_code == 3
    assert "--replace needs --abort-running" in refused.stdout
    document = run("plan", str(tmp_path / "jobs"), "--replace", "--abort-running", "--format", "json").json()
    replace = document["jobs"][0]
    assert replace["action"] == "replace"
    assert replace["destructive"] is True
    assert [call["section"] for call in replace["calls"]] == ["abort", "create", "run"]
    assert replace["calls"][0]["destructive"] is True
    assert document["summary"]["destructive"] == 1
    applied = run("apply", str(tmp_path / "jobs"), "--auto-approve", "--replace", "--abort-running")
    assert applied.exit_code == 0, applied.stdout
    assert emulator.job(KEY_ID)["state"] == "JOB_STATE_FAILED"


def test_a_job_with_a_fixed_id_cannot_be_replaced(emulator: Control, run: Any, tmp_path: Path) -> None:
    fixed = "0e3c7c5e-1111-4222-8333-944455556666"
    _manifest(tmp_path / "jobs", key=None, job_id=fixed)
    assert run("apply", str(tmp_path / "jobs"), "--auto-approve").exit_code == 0
    _complete(emulator, fixed)
    _manifest(tmp_path / "jobs", key=None, job_id=fixed, name="Renamed")
    outcome = run("apply", str(tmp_path / "jobs"), "--auto-approve", "--replace", "--detailed-exitcode")
    assert outcome.exit_code == 3
    assert "a job with a fixed metadata.id cannot be replaced: use metadata.key" in outcome.stdout
    assert len(emulator.jobs()) == 1


def test_prune_lists_marked_drafts_and_deletes_them_only_with_the_flag(
    emulator: Control, run: Any, tmp_path: Path
) -> None:
    team = tmp_path / "team"
    _manifest(team, key="keep/me")
    removed = [_manifest(team, key="orphan/draft"), _manifest(team, key="orphan/started")]
    assert run("apply", str(team), "--auto-approve").exit_code == 0
    started_id = next(job["id"] for job in emulator.jobs() if "orphan/started" in job["description"])
    _complete(emulator, started_id)
    emulator.seed([{"id": "unmarked-draft", "templateId": "t", "name": "made elsewhere"}])
    for path in removed:
        path.unlink()

    listed = run("plan", str(team), "--prune", "--detailed-exitcode")
    assert listed.exit_code == 2
    assert "- prune job" in listed.stdout
    assert f"marked key=orphan/draft, created from {team}" in listed.stdout
    assert "orphan/started" not in listed.stdout
    assert "unmarked-draft" not in listed.stdout
    markdown = run("plan", str(team), "--prune", "--format", "markdown").stdout
    assert "To prune (destructive)" in markdown
    assert "<b>[destructive]</b>" in markdown

    without_flag = run("plan", str(team))
    assert "- prune" not in without_flag.stdout

    partial = run("apply", str(team), "--prune", "--auto-approve", "--target", "keep/me")
    assert partial.exit_code == 1
    assert "--prune needs every manifest" in partial.stderr

    pruned = run("apply", str(team), "--prune", "--auto-approve")
    assert pruned.exit_code == 0, pruned.stdout
    remaining = {job["id"] for job in emulator.jobs()}
    assert started_id in remaining
    assert "unmarked-draft" in remaining
    assert len(remaining) == 3  # keep/me, the started orphan, the unmarked draft


def test_prune_on_one_folder_never_judges_another_folders_drafts(emulator: Control, run: Any, tmp_path: Path) -> None:
    """Issue 21: ``plan jobs/ml --prune`` proposed deleting the drafts every other folder had created."""
    jobs = tmp_path / "jobs"
    _manifest(jobs / "ml", key="ml/train")
    _manifest(jobs / "cv", key="cv/detect")
    gone = _manifest(jobs / "ml", key="ml/old")
    for team in ("ml", "cv"):
        assert run("apply", str(jobs / team), "--auto-approve").exit_code == 0
    gone.unlink()

    planned = run("plan", str(jobs / "ml"), "--prune", "--format", "json").json()
    pruned = [job for job in planned["jobs"] if job["action"] == "prune"]
    assert len(pruned) == 1
    assert "key=ml/old" in pruned[0]["source"]
    assert "cv/detect" not in json.dumps(planned)
    assert planned["scope"]["roots"] == [str(jobs / "ml")]

    applied = run("apply", str(jobs / "ml"), "--prune", "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    descriptions = [job["description"] for job in emulator.jobs()]
    assert [d for d in descriptions if "cv/detect" in d], "another folder's draft was deleted"
    assert not [d for d in descriptions if "ml/old" in d]


def test_a_run_on_part_of_a_root_counts_its_drafts_and_does_not_judge_them(
    emulator: Control, run: Any, tmp_path: Path
) -> None:
    """A draft created from ``jobs`` may be claimed by any manifest under ``jobs``: a run on ``jobs/ml`` has not
    read them all, so it says how many it left alone and how to judge them, instead of pruning or hiding them."""
    jobs = tmp_path / "jobs"
    _manifest(jobs / "ml", key="ml/train")
    _manifest(jobs / "cv", key="cv/detect")
    assert run("apply", str(jobs), "--auto-approve").exit_code == 0

    partial = run("plan", str(jobs / "ml"), "--prune")
    assert partial.exit_code == 0, partial.stdout + partial.stderr
    assert "- prune" not in partial.stdout
    assert f"Not judged: 1 marked draft created from {jobs}, which holds this run's paths; " in partial.stdout
    assert f"plan {jobs} --prune judges it." in partial.stdout
    markdown = run("plan", str(jobs / "ml"), "--prune", "--format", "markdown").stdout
    assert f"> Not judged: 1 marked draft created from `{jobs}`" in markdown
    document = run("plan", str(jobs / "ml"), "--prune", "--format", "json").json()
    assert document["scope"]["unjudged"] == [{"root": str(jobs), "drafts": 1}]

    whole = run("plan", str(jobs), "--prune", "--detailed-exitcode")
    assert whole.exit_code == 0, whole.stdout  # from its own root, every draft is claimed: nothing to prune


def test_import_then_plan_is_empty(emulator: Control, run: Any, tmp_path: Path, monkeypatch: Any) -> None:
    emulator.seed_file(SEED)
    ids = ["9a3d6c1b-2e8f-4b7a-a5c4-0d9e8f7a6b51", "0b7e4a52-93a1-4d2c-9f0e-5c1d2b3a4f61"]
    imported = run("import", *ids, "--out", str(tmp_path / "imported"), "--mkdir")
    assert imported.exit_code == 0, imported.stderr
    assert "JOB_9A3D6C1B_DATA_SOURCE_ACCESS_KEY" in imported.stderr
    written = "".join(path.read_text() for path in (tmp_path / "imported").iterdir())
    assert "DEMO-OLD-ACCESS-KEY" not in written
    assert "${env:JOB_9A3D6C1B_DATA_SOURCE_ACCESS_KEY}" in written
    monkeypatch.setenv("JOB_9A3D6C1B_DATA_SOURCE_ACCESS_KEY", "DEMO-OLD-ACCESS-KEY")
    monkeypatch.setenv("JOB_9A3D6C1B_DATA_SOURCE_SECRET_KEY", "demo-legacy-secret-key")
    assert run("fmt", "--check", str(tmp_path / "imported")).exit_code == 0
    assert run("plan", str(tmp_path / "imported"), "--detailed-exitcode").exit_code == 0


def test_fmt_check_passes_on_the_examples_and_keeps_comments(run: Any, tmp_path: Path) -> None:
    assert run("fmt", "--check", "examples/jobs").exit_code == 0
    messy = tmp_path / "messy.yaml"
    messy.write_text(
        "# keep me\napiVersion: reconciler.bytenite.io/v1\nkind:   Job   # and me\nmetadata:\n    key: a/b\n"
        "spec:\n    params:\n        app:\n        - 1\n"
    )
    check = run("fmt", "--check", str(messy))
    assert check.exit_code == 1
    assert f"would reformat {messy}" in check.stdout
    assert run("fmt", str(messy)).exit_code == 0
    text = messy.read_text()
    assert text.startswith("# keep me\n")
    assert "kind: Job     # and me" in text
    assert "  params:\n    app:\n      - 1\n" in text
    assert run("fmt", "--check", str(messy)).exit_code == 0


def test_a_reviewed_plan_file_creates_and_prunes(emulator: Control, run: Any, tmp_path: Path) -> None:
    old = _manifest(tmp_path / "jobs", key="orphan/draft")
    assert run("apply", str(tmp_path / "jobs"), "--auto-approve").exit_code == 0
    old.unlink()
    _manifest(tmp_path / "jobs", run=True)
    plan_file = tmp_path / "plan.json"
    planned = run("plan", str(tmp_path / "jobs"), "--prune", "--out", str(plan_file), "--format", "json")
    assert [job["action"] for job in planned.json()["jobs"]] == ["create", "prune"]
    applied = run("apply", str(plan_file))
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert [job["id"] for job in emulator.jobs()] == [KEY_ID]
    assert emulator.job(KEY_ID)["state"] != "JOB_STATE_NEW"  # created, then launched
    again = run("apply", str(plan_file))  # the same reviewed plan, once more: everything moved since
    assert again.exit_code == 4
    assert "stale: the job was created" in again.stdout
    assert "stale: the job no longer exists" in again.stdout
