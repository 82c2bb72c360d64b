"""Partial failures, the convergence check, the rate limit and the run timeout, against the emulator."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler import keys, pipeline, settings
from reconciler.planning import plans, reports
from tests.e2e import generated
from tests.support import API_KEY, Control


def test_a_partial_apply_reports_each_call_and_a_second_apply_converges(
    emulator: Control, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 24
    generated.fleet(emulator, tmp_path / "jobs", count)
    plan_file = tmp_path / "plan.json"
    assert run("plan", str(tmp_path / "jobs"), "--out", str(plan_file)).exit_code == 0
    emulator.faults(faultRate=0.5, seed=5)
    monkeypatch.setenv("BYTENITE_RETRY_ATTEMPTS", "1")
    first = run("apply", str(plan_file), "--format", "json")
    assert first.exit_code == 4, first.stdout + first.stderr
    report = first.json()
    outcomes = {result["outcome"] for result in report["results"]}
    assert {"done", "failed"} <= outcomes
    failed = [result for result in report["results"] if result["outcome"] == "failed"]
    assert all("HTTP 5" in result["detail"] or "could not re-read" in result["detail"] for result in failed)
    assert report["partial"] is True

    emulator.faults(faultRate=0)
    second = run("apply", str(tmp_path / "jobs"), "--auto-approve")
    assert second.exit_code == 0, second.stdout
    assert run("plan", str(tmp_path / "jobs"), "--detailed-exitcode").exit_code == 0


class DroppingTransport(httpx.AsyncHTTPTransport):
    """Stands in for a server that silently drops one field of every params write (as unknown fields are)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.method != "PATCH" or not request.url.path.endswith("/params"):
            return response
        body = json.loads(await response.aread())
        body["job"]["params"]["app"].pop("index", None)
        return httpx.Response(response.status_code, json=body)


def test_a_field_the_server_dropped_is_reported_as_unconverged(emulator: Control, server: Any, tmp_path: Path) -> None:
    generated.fleet(emulator, tmp_path / "jobs", 3)
    config = settings.Settings(api_key=keys.Secret(API_KEY), api_url=server.url)
    prepared = pipeline.prepare([str(tmp_path / "jobs")], {})
    planned = asyncio.run(pipeline.plan(prepared, config))
    assert planned.plan.counts[plans.Action.UPDATE] == 2
    report = asyncio.run(pipeline.apply(planned, config, transport=DroppingTransport()))
    unconverged = [result for result in report.results if result.outcome is reports.Outcome.UNCONVERGED]
    assert [(result.section, result.detail) for result in unconverged] == [
        ("params", "still differs after the write: params.app.index")
    ]
    assert report.partial


def test_the_rate_limit_spaces_requests_out(emulator: Control, run: Any, tmp_path: Path) -> None:
    generated.fleet(emulator, tmp_path / "jobs", 32)
    started = time.monotonic()
    outcome = run("apply", str(tmp_path / "jobs"), "--auto-approve", "--rate-limit", "10", "--concurrency", "32")
    elapsed = time.monotonic() - started
    assert outcome.exit_code == 0, outcome.stdout
    counters = emulator.counters()
    assert counters["writes"] == 24
    # 1 read then 24 writes at 10 a second (after a first burst of 10 in each phase) cannot finish sooner:
    # a lower bound, which cannot flake on a slow machine.
    assert elapsed >= 1.2


def test_the_run_timeout_ends_a_slow_plan_with_a_clear_error(emulator: Control, run: Any, tmp_path: Path) -> None:
    generated.fleet(emulator, tmp_path / "jobs", 6)
    emulator.faults(latencyMs=1500)
    started = time.monotonic()
    outcome = run("plan", str(tmp_path / "jobs"), "--run-timeout", "0.5")
    assert outcome.exit_code == 1
    assert "the run took longer than --run-timeout 0.5 s" in outcome.stderr
    assert time.monotonic() - started < 30
    # The abandoned request (the token exchange, sleeping its 1.5 s in the emulator) lands here, not in the
    # next test's log. It is the only one: the run ended before any read.
    while not emulator.requests() and time.monotonic() - started < 30:
        time.sleep(0.1)
    assert [r["method"] for r in emulator.requests()] == ["POST"]
