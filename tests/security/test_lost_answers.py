"""A write whose answer is lost is retried, and the retry meets the write's own effect (400 "is started" after a
launch, 404 after a delete): apply reads back what happened and reports it, rather than a failure. And a
``--run-timeout`` that stops an apply makes it partial (exit 4), not interrupted (130 is for signals)."""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

from tests.security.helpers import Runner
from tests.support import Control


def _first_write_loses_its_answer(emulator: Control) -> None:
    """The emulator's draws are seeded: find a seed where the first write's answer is dropped (after the write
    is applied) and the retry's is not. With only this fault on, each write makes exactly one draw."""
    rate = 0.5
    seed = next(seed for seed in range(1000) if _draws(seed, rate) == [True, False])
    emulator.faults(dropAfterWriteRate=rate, seed=seed)


def _draws(seed: int, rate: float) -> list[bool]:
    source = random.Random(seed)
    return [source.random() < rate for _ in range(2)]


def _manifest(folder: Path, job_id: str, name: str, *, run: bool = False) -> Path:
    folder.mkdir(exist_ok=True)
    text = f"apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata: {{id: {job_id}}}\nspec:\n  name: {name}\n"
    (folder / f"{job_id}.yaml").write_text(text + ("  run: true\n" if run else ""))
    return folder


def test_a_launch_whose_answer_was_lost_is_reported_launched(emulator: Control, invoke: Runner, tmp_path: Path) -> None:
    emulator.seed([{"id": "lost-run", "templateId": "t", "name": "Same"}])
    jobs = _manifest(tmp_path / "jobs", "lost-run", "Same", run=True)
    _first_write_loses_its_answer(emulator)
    outcome = invoke("apply", str(jobs), "--auto-approve", "--format", "json")
    assert outcome.exit_code == 0, outcome.describe()
    (result,) = json.loads(outcome.stdout)["results"]
    assert result["section"] == "run"
    assert result["outcome"] == "done"
    assert "read back: the job is JOB_STATE_" in result["detail"]
    runs = [r for r in emulator.requests() if r["path"].endswith("/lost-run/run")]
    assert len(runs) == 2  # the write, its answer lost, and the retry that met "is started"
    assert emulator.job("lost-run")["state"] != "JOB_STATE_NEW"


def test_a_launch_refused_at_its_first_attempt_is_not_claimed(
    emulator: Control, invoke: Runner, tmp_path: Path
) -> None:
    """Someone else launches the job between this apply's PATCH and its launch (found by the model test of issue
    16: two applies at once both reported the one launch as theirs). The job is launched, but not by this run."""
    emulator.seed([{"id": "raced-run", "templateId": "t", "name": "Old"}])
    jobs = _manifest(tmp_path / "jobs", "raced-run", "New", run=True)
    emulator.faults(latencyMs=300)  # the launch waits 300 ms before it is handled: the window the console uses

    def console() -> None:
        with Control(str(emulator.http.base_url)) as other:  # its own connection, in its own thread
            deadline = time.monotonic() + 20
            while not any(r["method"] == "PATCH" for r in other.requests()):
                assert time.monotonic() < deadline
                time.sleep(0.005)
            other.advance("raced-run")

    racer = threading.Thread(target=console)
    racer.start()
    outcome = invoke("apply", str(jobs), "--auto-approve", "--format", "json")
    racer.join()
    assert outcome.exit_code == 4, outcome.describe()
    patched, launched = json.loads(outcome.stdout)["results"]
    assert (patched["section"], patched["outcome"]) == ("jobname", "done")
    assert (launched["section"], launched["outcome"]) == ("run", "stale")
    assert launched["detail"] == "not launched by this apply: the job was already JOB_STATE_STARTED"
    runs = [r for r in emulator.requests() if r["path"].endswith("/raced-run/run")]
    assert [r["status"] for r in runs] == [400]  # one attempt, refused: nothing of this run's was applied


def test_a_prune_whose_answer_was_lost_is_reported_deleted(emulator: Control, invoke: Runner, tmp_path: Path) -> None:
    marker = f"managed-by: reconciler; id=lost-orphan; generation=0; root={tmp_path / 'jobs'}"
    emulator.seed(
        [
            {"id": "lost-kept", "templateId": "t", "name": "Kept"},
            {"id": "lost-orphan", "templateId": "t", "name": "Orphan", "description": marker},
        ]
    )
    jobs = _manifest(tmp_path / "jobs", "lost-kept", "Kept")
    _first_write_loses_its_answer(emulator)
    outcome = invoke("apply", str(jobs), "--prune", "--auto-approve")
    assert outcome.exit_code == 0, outcome.describe()
    assert "job lost-orphan DELETE: done: read back: the job no longer exists" in outcome.stdout
    deletes = [r for r in emulator.requests() if r["method"] == "DELETE"]
    assert [r["status"] for r in deletes] == [None, 404]  # the lost answer, then the retry's 404


def test_a_run_timeout_makes_the_apply_partial_not_interrupted(
    emulator: Control, invoke: Runner, tmp_path: Path
) -> None:
    ids = [f"slow-{number}" for number in range(6)]
    emulator.seed([{"id": job_id, "templateId": "t", "name": "Old"} for job_id in ids])
    folder = tmp_path / "jobs"
    for job_id in ids:
        _manifest(folder, job_id, "New")
    emulator.faults(latencyMs=300)
    outcome = invoke("apply", str(folder), "--auto-approve", "--concurrency", "1", "--run-timeout", "1")
    assert outcome.exit_code == 4, outcome.describe()
    assert "not attempted: the run timed out (--run-timeout 1 s)" in outcome.stdout
    assert "Apply partial: the run timed out" in outcome.stdout
    assert "Apply interrupted" not in outcome.stdout
