"""Concurrent applies and crashes (issue 16): real processes against one emulator, judged from its log.

Two ``apply`` processes on one tree, an ``apply`` racing out-of-band edits, and ``kill -9`` of an apply at points
chosen by what the emulator has seen (before any write, after the first, mid-way, after the last). Each ends with a
converged account, no job created twice, no launch twice. The two racing processes talk to the emulator's two
mounts of one store (``/v1/customer`` and ``/v1/computing``), so its log says which process sent what, and each
report is held to exactly that: a call reported done is a call of that process that the server applied.
"""

from __future__ import annotations

import collections
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import wire
from reconciler.emulator.server import EmulatorServer
from tests.e2e import model
from tests.support import API_KEY, ROOT, Control

COUNT = 24


def _tree(folder: Path) -> dict[int, tuple[bool, dict[str, Any]]]:
    """Keyed manifests that launch their job; the even ones fixed-id, to race creates of both kinds."""
    manifests: dict[int, tuple[bool, dict[str, Any]]] = {}
    for slot in range(COUNT):
        spec = {"name": f"race {slot}", "params": {"app": {"slot": slot}}, "config": {"taskTimeout": 600}, "run": True}
        manifests[slot] = (slot % 2 == 1, spec)
    model.write_tree(folder, manifests)
    return manifests


def _seed_drafts(control: Control, manifests: Mapping[int, tuple[bool, dict[str, Any]]]) -> None:
    """A third of the jobs exist as differing drafts (PATCHes, then a launch); the rest are to be created."""
    jobs = [
        {
            "id": model.job_id(slot, keyed),
            "templateId": model.TEMPLATE,
            "name": "old",
            "params": {"partitioner": {"k": 1}},
        }
        for slot, (keyed, _) in manifests.items()
        if slot % 3 == 0
    ]
    control.seed(jobs)


def _apply(server: EmulatorServer, folder: Path, prefix: str = "/customer") -> subprocess.Popen[str]:
    env = {**os.environ, "BYTENITE_API_URL": server.url, "BYTENITE_API_KEY": API_KEY, "BYTENITE_JOBS_PREFIX": prefix}
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", str(folder), "--auto-approve", "--format", "json",
         "--concurrency", "4"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _finish(process: subprocess.Popen[str]) -> tuple[int, dict[str, Any], str]:
    try:
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, json.loads(stdout), stderr


def _applied(entries: Iterable[Mapping[str, Any]], prefix: str) -> collections.Counter[tuple[str, str]]:
    """(job, section) of every write through ``prefix`` that the server applied (answered 2xx)."""
    applied: collections.Counter[tuple[str, str]] = collections.Counter()
    for entry in entries:
        if entry["method"] == "GET" or f"/v1{prefix}/" not in entry["path"] or not entry.get("witness"):
            continue
        if entry["status"] == 200:
            section = "create" if entry["route"] == "/jobs" else model.section_of(entry["path"])
            applied[(entry["witness"]["jobId"], "delete" if entry["method"] == "DELETE" else section)] += 1
    return applied


def _reported(report: Mapping[str, Any]) -> collections.Counter[tuple[str, str]]:
    return collections.Counter((r["id"], r["section"]) for r in report.get("results", ()) if r["outcome"] == "done")


def _assert_one_job_and_one_launch_each(control: Control, server: EmulatorServer, manifests: Mapping[int, Any]) -> None:
    entries = control.requests()
    launched = model.launches(entries)
    ids = {model.job_id(slot, keyed) for slot, (keyed, _) in manifests.items()}
    assert launched == dict.fromkeys(ids, 1), launched
    created = collections.Counter(
        e["witness"]["jobId"]
        for e in model.witnessed(entries)
        if e["route"] == "/jobs" and e["witness"]["before"] is None
    )
    assert max(created.values(), default=0) <= 1, created
    assert {job["id"] for job in server.store.all()} == ids  # nothing made under another id


def _converged(run: Any, folder: Path) -> None:
    again = run("plan", str(folder), "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout[-3000:]


def test_two_applies_at_once_converge_and_each_reports_what_it_did(
    witnessing: Control, server: EmulatorServer, run: Any, tmp_path: Path
) -> None:
    manifests = _tree(tmp_path / "jobs")
    _seed_drafts(witnessing, manifests)
    witnessing.faults(latencyMs=15, jitterMs=15, seed=1)
    first, second = _apply(server, tmp_path / "jobs", "/customer"), _apply(server, tmp_path / "jobs", "/computing")
    outcomes = {"/customer": _finish(first), "/computing": _finish(second)}
    witnessing.faults(latencyMs=0, jitterMs=0)
    entries = witnessing.requests()
    for prefix, (code, report, stderr) in outcomes.items():
        assert code in (0, 4), stderr
        assert _reported(report) == _applied(entries, prefix), prefix
        if code == 4:  # it lost a race: what it could not do is said, never claimed
            assert {r["outcome"] for r in report["results"]} <= {"done", "failed", "stale", "not attempted"}
    _assert_one_job_and_one_launch_each(witnessing, server, manifests)
    _converged(run, tmp_path / "jobs")


def test_an_apply_racing_out_of_band_edits_converges(
    witnessing: Control, server: EmulatorServer, run: Any, tmp_path: Path
) -> None:
    """While it runs, drafts change behind its back (declared and undeclared units); some launch early."""
    manifests = _tree(tmp_path / "jobs")
    _seed_drafts(witnessing, manifests)
    witnessing.faults(latencyMs=15, jitterMs=15, seed=2)
    ids = sorted(model.job_id(slot, keyed) for slot, (keyed, _) in manifests.items())
    chance = random.Random(16)
    process = _apply(server, tmp_path / "jobs")
    edited = 0
    while process.poll() is None and edited < 200:
        job = server.store.find(chance.choice(ids))
        if job is not None and job["state"] == model.NEW:
            params = {**(job["params"] or {}), "partitioner": {"console": edited}}
            server.store.set_params(job["id"], wire.parse_params(params))
            edited += 1
        time.sleep(0.005)
    code, report, stderr = _finish(process)
    witnessing.faults(latencyMs=0, jitterMs=0)
    assert edited > 0
    assert code in (0, 4), stderr
    assert _reported(report) == _applied(witnessing.requests(), "/customer")
    if code == 4:
        rerun = run("apply", str(tmp_path / "jobs"), "--auto-approve")
        assert rerun.exit_code == 0, rerun.stdout[-3000:]
    _assert_one_job_and_one_launch_each(witnessing, server, manifests)
    _converged(run, tmp_path / "jobs")


@pytest.mark.parametrize("after_writes", [0, 1, 12, 30, None])
def test_kill_9_mid_apply_then_apply_converges_launching_once(
    witnessing: Control, server: EmulatorServer, run: Any, tmp_path: Path, after_writes: int | None
) -> None:
    """Killed once the emulator has seen N writes (``None``: once every write is sent, launches in flight)."""
    manifests = _tree(tmp_path / "jobs")
    _seed_drafts(witnessing, manifests)
    witnessing.faults(latencyMs=20, jitterMs=20, seed=3)
    drafts = COUNT // 3
    total = (COUNT - drafts) + drafts * 3 + COUNT  # creates, PATCHes (name, params, configs), launches
    target = total - 4 if after_writes is None else after_writes
    process = _apply(server, tmp_path / "jobs")
    try:
        deadline = time.monotonic() + 60
        while (
            len([e for e in witnessing.requests() if e["method"] != "GET" and "access_token" not in e["path"]]) < target
        ):
            assert process.poll() is None, "apply ended before the kill"
            assert time.monotonic() < deadline, "apply never reached the kill point"
            time.sleep(0.002)
        process.kill()  # SIGKILL: no handler runs, no report is printed
    finally:
        process.kill()
        process.communicate(timeout=30)  # reaps it and closes its pipes
    witnessing.faults(latencyMs=0, jitterMs=0)
    rerun = run("apply", str(tmp_path / "jobs"), "--auto-approve")
    assert rerun.exit_code == 0, rerun.stdout[-3000:]
    _assert_one_job_and_one_launch_each(witnessing, server, manifests)
    _converged(run, tmp_path / "jobs")
