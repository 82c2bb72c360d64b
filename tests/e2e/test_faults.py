"""Reliability against a faulty API: retries, rate limits, dropped connections, expiring tokens, interrupts."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler import errors, keys, settings
from reconciler.api import counters, endpoints
from reconciler.emulator.server import EmulatorServer
from tests.e2e import generated
from tests.support import API_KEY, ROOT, Control


def _successful_writes(emulator: Control) -> collections.Counter[str]:
    return collections.Counter(
        r["path"] for r in emulator.requests() if r["method"] == "PATCH" and r["status"] == 200 and not r["fault"]
    )


def test_fault_soak_converges_with_exactly_one_successful_write_each(
    emulator: Control, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, without_backoff: None
) -> None:
    count = 300
    generated.fleet(emulator, tmp_path / "jobs", count)
    emulator.faults(faultRate=0.2, throttleRate=0.1, retryAfter=1, jitterMs=50, seed=7)
    monkeypatch.setenv("BYTENITE_RETRY_ATTEMPTS", "30")
    started = time.monotonic()
    applied = run("apply", str(tmp_path / "jobs"), "--auto-approve", "--concurrency", "32")
    assert applied.exit_code == 0, applied.stdout[-2000:] + applied.stderr
    assert time.monotonic() - started < 120  # a generous bound; the budget of a minute is measured in benchmarks
    faults = collections.Counter(r["fault"] for r in emulator.requests())
    assert faults["503"] + faults["500"] > 0
    assert faults["429"] > 0
    assert _successful_writes(emulator) == generated.expected_writes(count)
    emulator.faults(faultRate=0, throttleRate=0, jitterMs=0)
    again = run("plan", str(tmp_path / "jobs"), "--detailed-exitcode")
    assert again.exit_code == 0, again.stdout[-2000:]
    retries = int(applied.stdout.rsplit("writes, ", 1)[1].split(" retries")[0])
    assert retries > 0


def test_a_write_whose_answer_was_lost_is_retried_harmlessly(
    emulator: Control, run: Any, tmp_path: Path, without_backoff: None
) -> None:
    count = 40
    generated.fleet(emulator, tmp_path / "jobs", count)
    emulator.faults(dropAfterWriteRate=0.3, dropRate=0.1, seed=3)
    applied = run("apply", str(tmp_path / "jobs"), "--auto-approve")
    assert applied.exit_code == 0, applied.stdout[-2000:] + applied.stderr
    dropped = [r for r in emulator.requests() if r["fault"] == "drop-after-write"]
    assert dropped  # some writes were applied and their answers lost, then sent again
    emulator.faults(dropAfterWriteRate=0, dropRate=0)
    assert run("plan", str(tmp_path / "jobs"), "--detailed-exitcode").exit_code == 0


def test_malformed_bodies_are_retried(emulator: Control, run: Any, tmp_path: Path, without_backoff: None) -> None:
    generated.fleet(emulator, tmp_path / "jobs", 20)
    emulator.faults(malformedRate=0.4, seed=1)
    planned = run("plan", str(tmp_path / "jobs"), "--detailed-exitcode")
    assert planned.exit_code == 2, planned.stdout + planned.stderr
    assert any(r["fault"] == "malformed" for r in emulator.requests())
    assert " 0 retries" not in planned.stdout


def _config(server: EmulatorServer, **retry: Any) -> settings.Settings:
    return settings.Settings(
        api_key=keys.Secret(API_KEY), api_url=server.url, retry=settings.Retry(**retry), concurrency=4
    )


def test_a_token_that_expires_mid_run_is_exchanged_again(emulator: Control, server: EmulatorServer) -> None:
    emulator.seed(generated.seed_jobs(1))

    async def scenario() -> counters.Counters:
        async with endpoints.Client(_config(server), transport=None) as api:
            await api.get_job(generated.job_id(0))
            emulator.expire_tokens()
            await api.get_job(generated.job_id(0))
            return api.counters

    counters = asyncio.run(scenario())
    assert counters.token_exchanges == 2
    statuses = [r["status"] for r in emulator.requests() if r["path"].endswith(generated.job_id(0))]
    assert statuses == [200, 401, 200]


def test_client_errors_are_never_retried(emulator: Control, server: EmulatorServer) -> None:
    job = {**generated.seed_jobs(1)[0], "state": "JOB_STATE_COMPLETE"}
    emulator.seed([job])

    async def scenario() -> counters.Counters:
        async with endpoints.Client(_config(server)) as api:
            with pytest.raises(errors.FailedPrecondition):
                await api.patch(job["id"], "jobname", "new name")
            with pytest.raises(errors.NotFound):
                await api.get_job("no-such-job")
            return api.counters

    counters = asyncio.run(scenario())
    assert counters.retries == 0
    assert len([r for r in emulator.requests() if "access_token" not in r["path"]]) == 2


def test_a_retry_after_beyond_the_budget_fails_at_once(emulator: Control, server: EmulatorServer) -> None:
    emulator.seed(generated.seed_jobs(1))
    emulator.faults(throttleRate=1.0, retryAfter=30)

    async def scenario() -> None:
        async with endpoints.Client(_config(server, budget=2.0)) as api:
            await api.get_job(generated.job_id(0))

    started = time.monotonic()
    with pytest.raises(errors.RateLimited):
        asyncio.run(scenario())
    assert time.monotonic() - started < 10
    assert len([r for r in emulator.requests() if r["fault"] == "429"]) == 1


def test_read_only_client_refuses_writes_before_the_network(emulator: Control, server: EmulatorServer) -> None:
    emulator.seed(generated.seed_jobs(1))

    async def scenario() -> None:
        async with endpoints.Client(_config(server), read_only=True) as api:
            for write in (
                api.patch(generated.job_id(0), "jobname", "x"),
                api.create_job({"templateId": "t"}),
                api.run_job(generated.job_id(0)),
                api.abort_job(generated.job_id(0)),
                api.delete_job(generated.job_id(0)),
            ):
                with pytest.raises(errors.ReadOnlyViolation):
                    await write

    asyncio.run(scenario())
    # First contact, when the client opened, is the only request: not one write reached the server.
    assert [(r["method"], r["path"]) for r in emulator.requests()] == [("POST", "/v1/auth/access_token")]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_apply_starts_no_new_write_and_reports(
    emulator: Control, server: EmulatorServer, tmp_path: Path, signum: int
) -> None:
    count = 30
    generated.fleet(emulator, tmp_path / "jobs", count)
    emulator.faults(latencyMs=150)
    env = {**os.environ, "BYTENITE_API_URL": server.url, "BYTENITE_API_KEY": API_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", str(tmp_path / "jobs"), "--auto-approve",
         "--concurrency", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not [r for r in emulator.requests() if r["method"] == "PATCH"]:
            assert time.monotonic() < deadline, "apply never started writing"
            time.sleep(0.05)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    settled = len([r for r in emulator.requests() if r["method"] == "PATCH"])
    time.sleep(0.5)
    assert len([r for r in emulator.requests() if r["method"] == "PATCH"]) == settled
    assert process.returncode == 130, stderr
    assert "Interrupted: finishing the calls in flight" in stderr
    assert "not attempted: interrupted" in stdout
    assert "Apply interrupted" in stdout
    assert settled < len(generated.expected_writes(count))
