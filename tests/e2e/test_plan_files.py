"""Plan files: saved by plan --out, applied exactly by apply PLANFILE, refused job by job when stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from reconciler.planning import planfiles
from reconciler.rendering import document as documents
from tests.support import API_KEY, ROOT, SEED, Control

NIGHTLY = "7728ba38-f0a0-4319-ae28-07734448a334"
DAILY = "d513134b-9676-5129-b330-8dd336a48e5a"
STORJ = "5f0c2d9e-7a44-4e51-b2d8-1c6e9a0b3f27"
SCHEMA = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())


def _plan_file(run: Any, tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    outcome = run("plan", "examples/jobs", "--out", str(path))
    assert outcome.exit_code == 0, outcome.stderr
    return path


def _patch_directly(emulator: Control, job_id: str, section: str, body: Any) -> None:
    token = emulator.token()
    answer = emulator.http.patch(f"/v1/customer/jobs/{job_id}/{section}", json=body, headers={"Authorization": token})
    answer.raise_for_status()


def test_plan_file_round_trips_and_matches_its_schema(emulator: Control, run: Any, tmp_path: Path) -> None:
    emulator.seed_file(SEED)
    saved = json.loads(_plan_file(run, tmp_path).read_text())
    jsonschema.validate(saved, SCHEMA)
    again = documents.plan_document(planfiles.to_plan(planfiles.read(str(tmp_path / "plan.json"))))
    for volatile in ("api_url", "jobs_prefix", "created_at", "partial"):
        saved.pop(volatile, None)
        again.pop(volatile, None)
    assert again == saved


def test_json_output_matches_the_schema_in_every_state(emulator: Control, run: Any) -> None:
    jobs = emulator.seed_file(SEED)
    emulator.reset(faults=False)
    # Nightly is created, the storj job (no templateId) is an error, one job is blocked, the others updated.
    emulator.seed([job for job in jobs if job["id"] not in (NIGHTLY, STORJ)])
    document = run("plan", "examples/jobs", "--format", "json").json()
    jsonschema.validate(document, SCHEMA)
    assert {job["action"] for job in document["jobs"]} == {"create", "update", "blocked", "error"}
    drift = run("plan", "examples/jobs", "--format", "json", "--drift").json()
    jsonschema.validate(drift, SCHEMA)
    assert drift["kind"] == "drift"


def test_apply_planfile_writes_exactly_the_plan(emulator: Control, run: Any, tmp_path: Path) -> None:
    emulator.seed_file(SEED)
    path = _plan_file(run, tmp_path)
    emulator.clear_log()
    applied = run("apply", str(path))  # no --auto-approve needed: the plan was reviewed
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert len(emulator.writes()) == 8
    gets = [r for r in emulator.requests() if r["method"] == "GET"]
    assert [(r["path"], r["query"]) for r in gets] == [
        ("/v1/customer/jobs", "pagination.limit=100&pagination.offset=0")
    ]
    assert run("plan", "examples/jobs", "--detailed-exitcode").exit_code == 3  # only the blocked job is left


def test_a_job_that_moved_since_the_plan_is_refused_alone(emulator: Control, run: Any, tmp_path: Path) -> None:
    emulator.seed_file(SEED)
    path = _plan_file(run, tmp_path)
    _patch_directly(emulator, NIGHTLY, "configs", {"taskTimeout": 90, "jobTimeout": 86400, "isTestJob": True})
    emulator.clear_log()
    applied = run("apply", str(path))
    assert applied.exit_code == 4
    assert f"job {NIGHTLY} PATCH configs: stale: config.taskTimeout changed from 600 to 90 since the plan" in (
        applied.stdout
    )
    writes = emulator.writes()
    assert not [write for write in writes if NIGHTLY in write[1]]  # nothing at all to the stale job
    assert len(writes) == 5  # every other planned call went through
    assert emulator.job(NIGHTLY)["config"]["taskTimeout"] == "90"


def test_a_plan_file_holds_no_secret(emulator: Control, run: Any, tmp_path: Path, env: dict[str, str]) -> None:
    emulator.seed_file(SEED)
    text = _plan_file(run, tmp_path).read_text()
    for secret in (env["LEGACY_S3_ACCESS_KEY"], env["LEGACY_S3_SECRET_KEY"], "DEMO-OLD-ACCESS-KEY", API_KEY):
        assert secret not in text
    assert "${env:LEGACY_S3_ACCESS_KEY}" in text  # the reference, resolved again at apply time


def test_a_plan_file_is_refused_against_another_api(emulator: Control, run: Any, tmp_path: Path) -> None:
    emulator.seed_file(SEED)
    path = _plan_file(run, tmp_path)
    emulator.clear_log()
    outcome = run("apply", str(path), "--api-url", "http://127.0.0.1:9/v1")
    assert outcome.exit_code == 1
    assert "the plan was made against" in outcome.stderr
    assert emulator.writes() == []


def test_an_unreadable_plan_file_is_an_error(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"format_version": 99, "jobs": []}))
    outcome = run("apply", str(path))
    assert outcome.exit_code == 1
    assert "format_version 99; this reconciler reads 1" in outcome.stderr
