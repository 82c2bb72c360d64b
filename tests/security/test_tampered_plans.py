"""A tampered plan file cannot delete or abort a job it does not explain: a file inconsistent with itself is
refused whole (exit 1, no request), and a consistent one whose calls its own desired state and a fresh read do
not call for is refused job by job (exit 4), with nothing sent to that job."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.security.helpers import Runner
from tests.support import Control

MANIFEST = """\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {{id: {job_id}}}
spec:
  name: {name}
"""
MARKER = "managed-by: reconciler; id={job_id}; generation=0; root={root}"


@pytest.fixture
def jobs(emulator: Control, tmp_path: Path) -> Path:
    """A managed draft to rename, a bystander draft no manifest names, and an orphan this tool created (from the
    folder the tests plan, which tmp_path, holding no .git, names by its absolute path)."""
    folder = tmp_path / "jobs"
    orphan = MARKER.format(job_id="tp-orphan", root=folder)
    emulator.seed(
        [
            {"id": "tp-managed", "templateId": "t", "name": "Old"},
            {"id": "tp-bystander", "templateId": "t", "name": "Not yours"},
            {"id": "tp-orphan", "templateId": "t", "name": "Orphan", "description": orphan},
        ]
    )
    folder.mkdir()
    (folder / "managed.yaml").write_text(MANIFEST.format(job_id="tp-managed", name="New"))
    return folder


def _plan(invoke: Runner, jobs: Path, tmp_path: Path, *flags: str) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "plan.json"
    outcome = invoke("plan", str(jobs), "--out", str(path), *flags)
    assert outcome.exit_code == 0, outcome.describe()
    return path, json.loads(path.read_text())


def _save(path: Path, document: dict[str, Any]) -> None:
    """The tampered document, its summary made to agree with its jobs (a careful attacker would)."""
    actions = Counter(job["action"] for job in document["jobs"])
    summary = document["summary"]
    for action in ("create", "update", "replace", "prune", "blocked", "error", "unchanged", "orphan"):
        summary[action] = actions[action]
    summary["calls"] = sum(len(job["calls"]) for job in document["jobs"])
    summary["launch"] = sum(1 for job in document["jobs"] for call in job["calls"] if call["section"] == "run")
    summary["destructive"] = sum(1 for job in document["jobs"] if job["destructive"])
    path.write_text(json.dumps(document))


def _job(document: dict[str, Any], job_id: str) -> dict[str, Any]:
    return next(job for job in document["jobs"] if job["id"] == job_id)


def _writes(emulator: Control) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in emulator.requests() if r["method"] in ("PATCH", "POST", "DELETE")
            and "access_token" not in r["path"]]  # fmt: skip


def _delete(job_id: str) -> dict[str, Any]:
    return {"method": "DELETE", "section": "delete", "path": f"/jobs/{job_id}", "target": job_id,
            "destructive": True, "body": None}  # fmt: skip


def _prune(*, job_id: str, marked: str, reason: str | None) -> dict[str, Any]:
    """A prune entry as ``plan --prune`` writes one, for a job the file claims is an orphan marked ``marked``."""
    return {"id": job_id, "source": f"(no manifest; marked id={marked})", "action": "prune", "destructive": True,
            "lifecycle": "JOB_STATE_NEW", "name": None, "reason": reason, "changes": [], "calls": [_delete(job_id)],
            "basis": {"state": "JOB_STATE_NEW"}}  # fmt: skip


def test_an_update_turned_into_a_delete_is_refused_whole(
    jobs: Path, invoke: Runner, emulator: Control, tmp_path: Path
) -> None:
    path, document = _plan(invoke, jobs, tmp_path)
    _job(document, "tp-managed")["calls"] = [_delete("tp-bystander")]
    _job(document, "tp-managed")["destructive"] = True
    _save(path, document)
    emulator.clear_log()
    outcome = invoke("apply", str(path))
    assert outcome.exit_code == 1, outcome.describe()
    assert "refused whole" in outcome.stderr
    assert emulator.requests() == []
    assert emulator.job("tp-bystander")["name"] == "Not yours"


def test_a_prune_of_a_job_this_tool_did_not_create_is_refused(
    jobs: Path, invoke: Runner, emulator: Control, tmp_path: Path
) -> None:
    path, document = _plan(invoke, jobs, tmp_path)
    document["jobs"].append(_prune(job_id="tp-bystander", marked="tp-bystander", reason="no manifest claims it"))
    _save(path, document)
    emulator.clear_log()
    outcome = invoke("apply", str(path))
    assert outcome.exit_code == 4, outcome.describe()
    assert "job tp-bystander DELETE: refused: the job carries no marker of this tool" in outcome.stdout
    assert ("DELETE", "/v1/customer/jobs/tp-bystander") not in _writes(emulator)
    assert emulator.job("tp-bystander")["name"] == "Not yours"
    assert emulator.job("tp-managed")["name"] == "New"  # the explained job still went through


def test_a_prune_of_a_draft_whose_marker_names_another_job_is_refused(
    jobs: Path, invoke: Runner, emulator: Control, tmp_path: Path
) -> None:
    """A marker copied onto another job (descriptions are free text) does not make that job an orphan."""
    forged = MARKER.format(job_id="x", root=jobs)
    emulator.seed([{"id": "tp-forged", "templateId": "t", "name": "Mine", "description": forged}])
    path, document = _plan(invoke, jobs, tmp_path)
    document["jobs"].append(_prune(job_id="tp-forged", marked="x", reason=None))
    _save(path, document)
    emulator.clear_log()
    outcome = invoke("apply", str(path))
    assert outcome.exit_code == 4, outcome.describe()
    assert "job tp-forged DELETE: refused: the job's marker (id=x) does not match its id" in outcome.stdout
    assert emulator.job("tp-forged")["name"] == "Mine"


def test_a_prune_in_a_partial_plan_is_refused_whole(
    jobs: Path, invoke: Runner, emulator: Control, tmp_path: Path
) -> None:
    path, document = _plan(invoke, jobs, tmp_path, "--prune")
    document["partial"] = True
    _save(path, document)
    emulator.clear_log()
    outcome = invoke("apply", str(path))
    assert outcome.exit_code == 1, outcome.describe()
    assert "a partial plan cannot prune" in outcome.stderr
    assert emulator.requests() == []


def test_an_abort_of_a_draft_is_refused(jobs: Path, invoke: Runner, emulator: Control, tmp_path: Path) -> None:
    """An update dressed as a replacement that aborts first: the planner aborts only a running job it replaces."""
    path, document = _plan(invoke, jobs, tmp_path)
    job = _job(document, "tp-managed")
    abort = {"method": "POST", "section": "abort", "path": "/jobs/tp-managed/abort", "target": "tp-managed",
             "destructive": True, "body": {}}  # fmt: skip
    job.update(action="replace", destructive=True, calls=[abort], generation=1,
               description=f"managed-by: reconciler; id=tp-managed; generation=1; root={jobs}")  # fmt: skip
    _save(path, document)
    emulator.clear_log()
    outcome = invoke("apply", str(path))
    assert outcome.exit_code == 4, outcome.describe()
    assert "job tp-managed POST abort: refused" in outcome.stdout
    assert _writes(emulator) == []
    assert emulator.job("tp-managed")["state"] == "JOB_STATE_NEW"


def test_an_extra_patch_the_desired_state_does_not_explain_is_refused(
    jobs: Path, invoke: Runner, emulator: Control, tmp_path: Path
) -> None:
    path, document = _plan(invoke, jobs, tmp_path)
    job = _job(document, "tp-managed")
    job["calls"].append({**job["calls"][0], "section": "configs", "path": "/jobs/tp-managed/configs"})
    _save(path, document)
    emulator.clear_log()
    outcome = invoke("apply", str(path))
    assert outcome.exit_code == 4, outcome.describe()
    assert "refused: the plan file asks for PATCH /jobs/tp-managed/configs" in outcome.stdout
    assert _writes(emulator) == []


def test_a_reviewed_prune_still_deletes_its_orphan(
    jobs: Path, invoke: Runner, emulator: Control, tmp_path: Path
) -> None:
    path, _ = _plan(invoke, jobs, tmp_path, "--prune")
    outcome = invoke("apply", str(path))
    assert outcome.exit_code == 0, outcome.describe()
    assert "job tp-orphan DELETE: done" in outcome.stdout
    assert ("DELETE", "/v1/customer/jobs/tp-orphan") in _writes(emulator)


def test_a_prune_of_another_folders_orphan_is_refused(
    jobs: Path, invoke: Runner, emulator: Control, tmp_path: Path
) -> None:
    """A plan owns the roots it was made for: a DELETE added for a draft another folder created is not its own."""
    elsewhere = MARKER.format(job_id="tp-theirs", root=tmp_path / "other-team")
    emulator.seed([{"id": "tp-theirs", "templateId": "t", "name": "Theirs", "description": elsewhere}])
    path, document = _plan(invoke, jobs, tmp_path)
    document["jobs"].append(_prune(job_id="tp-theirs", marked="tp-theirs", reason=None))
    _save(path, document)
    emulator.clear_log()
    outcome = invoke("apply", str(path))
    assert outcome.exit_code == 4, outcome.describe()
    assert f"job tp-theirs DELETE: refused: the job was created from {tmp_path / 'other-team'}" in outcome.stdout
    assert ("DELETE", "/v1/customer/jobs/tp-theirs") not in _writes(emulator)


def test_a_created_job_whose_marker_names_another_root_is_refused_whole(
    invoke: Runner, emulator: Control, tmp_path: Path
) -> None:
    """A marker naming another team's root would hand the new job to that team's --prune: no plan writes one."""
    folder = tmp_path / "jobs"
    folder.mkdir()
    (folder / "new.yaml").write_text(MANIFEST.format(job_id="tp-new", name="New") + "  templateId: t\n")
    path, document = _plan(invoke, folder, tmp_path)
    created = _job(document, "tp-new")
    assert created["action"] == "create"
    created["description"] = MARKER.format(job_id="tp-new", root=tmp_path / "other-team")
    _save(path, document)
    emulator.clear_log()
    outcome = invoke("apply", str(path))
    assert outcome.exit_code == 1, outcome.describe()
    assert "not from the plan's roots" in outcome.stderr
    assert emulator.requests() == []
