"""Answers a hostile or broken server can give, and the bounds the CLI holds against them (issue 19, items 12, 14).

- A trickled answer (one byte at a time, never done) fails within ``--request-timeout`` and is retried within
  the retry budget; SIGINT, SIGTERM and ``--run-timeout`` end a plan stuck on one at once.
- A stopping apply starts no request: a retry's backoff sleep (a ``Retry-After: 20``) is cut short, a call on
  the wire keeps only its own deadline, and the report says what was and was not done.
- Sizes from the server are not trusted: a body past 16 MiB once decoded (a gzip bomb, a stream without end)
  is refused naming its URL, on both transport engines; a ``pagination.total`` implying more pages than the
  tool reads is an error, never an allocation.

Runs that would hang on the old code go through a subprocess with a timeout, so the test fails instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.api import transports
from tests.security.helpers import API_KEY, ROOT, Outcome, Runner, manifest_folder, run_subprocess
from tests.security.hostile_http import HostileServer, Reply, Script, gzip_bomb, json_reply, trickle

JOB = "transport-job"
JOB_PATH = f"/v1/customer/jobs/{JOB}"
MANIFEST = f"""\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {{id: {JOB}}}
spec:
  name: A job
  config: {{taskTimeout: 900}}
"""
DRAFT = {"id": JOB, "templateId": "t", "name": "Old name", "state": "JOB_STATE_NEW", "config": {"taskTimeout": 300}}
MIB = 1024 * 1024
NOT_RETRIED = "PATCH /jobs/transport-job/jobname not retried, the run is stopping; its last attempt: "


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    return manifest_folder(tmp_path, MANIFEST)


def _reads_then(write: Reply) -> Script:
    """The job is a draft that differs from its manifest; every write meets ``write``."""

    def script(method: str, path: str) -> Reply:
        if method == "GET" and path == JOB_PATH:
            return json_reply({"job": DRAFT})
        return write

    return script


def _read_meets(reply: Reply) -> Script:
    return lambda method, path: reply


@pytest.fixture
def hostile(request: pytest.FixtureRequest) -> Iterator[HostileServer]:
    """A hostile server running the test's script (``@pytest.mark.parametrize("hostile", [...], indirect=True)``)."""
    with HostileServer(request.param).running() as server:
        yield server


def _cli(args: list[str], server: HostileServer, cwd: Path, **env: str) -> Outcome:
    return run_subprocess(
        args,
        cwd=cwd,
        env={"BYTENITE_API_URL": server.url, "BYTENITE_API_KEY": API_KEY, **env},
        timeout=40,
    )


def _started(args: list[str], server: HostileServer, cwd: Path, **env: str) -> subprocess.Popen[str]:
    base = {name: value for name, value in os.environ.items() if not name.startswith(("BYTENITE_", "GITHUB_"))}
    base.pop("CI", None)
    variables = {**base, "BYTENITE_API_URL": server.url, "BYTENITE_API_KEY": API_KEY, "HOME": str(cwd), **env}
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _signalled(process: subprocess.Popen[str], signum: int, *, within: float) -> tuple[int, str, str, float]:
    """Send ``signum``; the exit code, stdout, stderr and how long the process took to end."""
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        stdout, stderr = process.communicate(timeout=within + 20)
    finally:
        process.kill()
    return process.returncode, stdout, stderr, time.monotonic() - sent


# A trickled answer ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", [_read_meets(trickle())], indirect=True)
def test_a_trickled_answer_fails_within_the_request_timeout_and_is_retried(
    hostile: HostileServer, manifests: Path, tmp_path: Path
) -> None:
    limits = {"BYTENITE_REQUEST_TIMEOUT": "1", "BYTENITE_RETRY_ATTEMPTS": "2"}
    outcome = _cli(["plan", str(manifests)], hostile, tmp_path, **limits)
    assert outcome.exit_code == 1, outcome.describe()
    assert "GET /v1/customer/jobs/transport-job: no complete answer within 1 s (--request-timeout)" in (
        outcome.stdout + outcome.stderr
    ), outcome.describe()
    assert hostile.seen("GET") == [JOB_PATH, JOB_PATH]  # a timeout is transient: retried within the budget
    assert outcome.seconds < 20, outcome.describe()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("hostile", [_read_meets(trickle())], indirect=True)
def test_a_signal_ends_a_plan_stuck_on_a_trickle(
    signum: int, hostile: HostileServer, manifests: Path, tmp_path: Path
) -> None:
    process = _started(["plan", str(manifests)], hostile, tmp_path)
    hostile.wait_for("GET")
    code, stdout, stderr, seconds = _signalled(process, signum, within=5)
    assert code == 130, (code, stdout, stderr)
    assert seconds < 5, seconds
    assert stderr.strip() == "interrupted", stderr  # one line, no traceback
    assert stdout == ""


@pytest.mark.parametrize("hostile", [_read_meets(trickle())], indirect=True)
def test_the_run_timeout_ends_a_plan_stuck_on_a_trickle(
    hostile: HostileServer, manifests: Path, tmp_path: Path
) -> None:
    outcome = _cli(["plan", str(manifests), "--run-timeout", "1"], hostile, tmp_path)
    assert outcome.exit_code == 1, outcome.describe()
    assert outcome.stderr.strip() == "error: request failed: the run took longer than --run-timeout 1 s"
    assert outcome.seconds < 15, outcome.describe()


@pytest.mark.parametrize("hostile", [_reads_then(trickle())], indirect=True)
def test_a_trickled_answer_to_a_write_fails_the_call_within_the_request_timeout(
    hostile: HostileServer, manifests: Path, tmp_path: Path
) -> None:
    args = ["apply", str(manifests), "--auto-approve", "--request-timeout", "1", "--retry-attempts", "2"]
    outcome = _cli(args, hostile, tmp_path)
    assert outcome.exit_code == 4, outcome.describe()
    assert "job transport-job PATCH jobname: failed: " in outcome.stdout, outcome.describe()
    assert "no complete answer within 1 s (--request-timeout)" in outcome.stdout, outcome.describe()
    assert len(hostile.seen("PATCH")) == 4  # two sections, each tried twice


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("hostile", [_reads_then(trickle())], indirect=True)
def test_a_signal_during_a_trickled_write_waits_only_for_its_deadline_and_retries_nothing(
    signum: int, hostile: HostileServer, manifests: Path, tmp_path: Path
) -> None:
    process = _started(["apply", str(manifests), "--auto-approve", "--request-timeout", "3"], hostile, tmp_path)
    hostile.wait_for("PATCH")
    code, stdout, stderr, seconds = _signalled(process, signum, within=8)
    assert code == 130, (code, stdout, stderr)
    assert seconds < 8, seconds
    assert hostile.seen("PATCH") == [f"{JOB_PATH}/jobname"]  # not retried, and the next section not started
    assert f"PATCH jobname: failed: request failed: {NOT_RETRIED}" in stdout, stdout
    assert "no complete answer within 3 s" in stdout, stdout
    assert "job transport-job PATCH configs: not attempted: interrupted" in stdout, stdout
    assert "Apply interrupted" in stdout, stdout
    assert "Traceback" not in stderr, stderr


# A Retry-After sleep ----------------------------------------------------------------------------------------------


THROTTLED = json_reply({"code": 8, "message": "slow down"}, 429, ("Retry-After", "20"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("hostile", [_reads_then(THROTTLED)], indirect=True)
def test_a_signal_cuts_a_retry_after_sleep_short_and_sends_nothing_more(
    signum: int, hostile: HostileServer, manifests: Path, tmp_path: Path
) -> None:
    process = _started(["apply", str(manifests), "--auto-approve"], hostile, tmp_path)
    hostile.wait_for("PATCH")
    time.sleep(0.3)  # into the 20 s sleep
    code, stdout, stderr, seconds = _signalled(process, signum, within=5)
    assert code == 130, (code, stdout, stderr)
    assert seconds < 5, seconds  # not the 20 s the server asked for
    assert hostile.seen("PATCH") == [f"{JOB_PATH}/jobname"]
    assert f"PATCH jobname: failed: request failed: {NOT_RETRIED}HTTP 429: slow down" in stdout, stdout
    assert "job transport-job PATCH configs: not attempted: interrupted" in stdout, stdout
    assert "Apply interrupted" in stdout, stdout
    assert "Interrupted: finishing the calls in flight" in stderr, stderr
    assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize("hostile", [_reads_then(THROTTLED)], indirect=True)
def test_the_run_timeout_cuts_a_retry_after_sleep_short_and_the_apply_is_partial(
    hostile: HostileServer, manifests: Path, tmp_path: Path
) -> None:
    outcome = _cli(["apply", str(manifests), "--auto-approve", "--run-timeout", "2"], hostile, tmp_path)
    assert outcome.exit_code == 4, outcome.describe()
    assert outcome.seconds < 10, outcome.describe()
    assert hostile.seen("PATCH") == [f"{JOB_PATH}/jobname"]
    assert "not retried, the run is stopping; its last attempt: HTTP 429: slow down" in outcome.stdout
    assert "job transport-job PATCH configs: not attempted: the run timed out (--run-timeout 2 s)" in outcome.stdout
    assert "Apply partial: the run timed out" in outcome.stdout, outcome.describe()


# Sizes ------------------------------------------------------------------------------------------------------------


@pytest.fixture(params=["httpx", "aiohttp"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Both engines a client may be built on decode gzip: each must stop at the cap (and is checked to be used)."""
    served: list[str] = []

    class Observed(transports.Transport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await super().handle_async_request(request)
            served.append("httpx" if "network_stream" in response.extensions else "aiohttp")  # httpcore's own key
            return response

    monkeypatch.setattr(transports, "default", lambda workers, expected: Observed(workers, engine=request.param))
    yield str(request.param)
    assert served, "the CLI sent nothing through the transport it built"
    assert set(served) == {request.param}


@pytest.mark.parametrize("hostile", [_read_meets(gzip_bomb(40 * MIB))], indirect=True)
def test_a_gzip_answer_inflating_past_the_cap_is_refused_naming_its_url(
    engine: str, hostile: HostileServer, manifests: Path, invoke: Runner
) -> None:
    outcome = invoke("plan", str(manifests), env={"BYTENITE_API_URL": hostile.url})
    assert outcome.exit_code == 1, outcome.describe()
    url = f"{hostile.url}/customer/jobs/transport-job"
    expected = f"HTTP 200: the answer to GET {url} is larger than 16 MiB once decoded"
    assert expected in outcome.stdout + outcome.stderr, outcome.describe()
    assert hostile.seen("GET") == [JOB_PATH]  # refused, not retried: the same request fetches the same answer
    assert not outcome.crash, outcome.describe()


def test_a_token_exchange_answer_past_the_cap_is_refused(engine: str, manifests: Path, invoke: Runner) -> None:
    with HostileServer(_read_meets(json_reply({})), token=gzip_bomb(20 * MIB)).running() as hostile:
        outcome = invoke("plan", str(manifests), env={"BYTENITE_API_URL": hostile.url})
    assert outcome.exit_code == 1, outcome.describe()
    expected = f"the answer to POST {hostile.url}/auth/access_token is larger than 16 MiB once decoded"
    assert expected in outcome.stdout + outcome.stderr, outcome.describe()
    assert hostile.seen("POST", "/v1/auth") == ["/v1/auth/access_token"]
    assert hostile.seen("GET") == []


ENDLESS = Reply(chunks=(b"x" * MIB for _ in range(64)), length=64 * MIB)


@pytest.mark.parametrize("hostile", [_read_meets(ENDLESS)], indirect=True)
def test_a_body_past_the_cap_is_not_read_to_its_end(
    engine: str, hostile: HostileServer, manifests: Path, invoke: Runner
) -> None:
    outcome = invoke("plan", str(manifests), env={"BYTENITE_API_URL": hostile.url})
    assert outcome.exit_code == 1, outcome.describe()
    assert "is larger than 16 MiB once decoded" in outcome.stdout + outcome.stderr, outcome.describe()
    time.sleep(0.2)
    assert hostile.body_bytes_sent < 40 * MIB, hostile.body_bytes_sent  # the client hung up near 16 MiB


def test_a_refused_answer_past_the_cap_is_not_read_to_its_end_either(
    engine: str, manifests: Path, invoke: Runner
) -> None:
    """A 401 is answered by exchanging the key and sending the request again: its body, which httpx reads before
    sending again, is dropped within the cap like any other."""
    endless = Reply(401, chunks=(b"x" * MIB for _ in range(64)), length=64 * MIB)
    with HostileServer(_read_meets(endless)).running() as hostile:
        outcome = invoke("plan", str(manifests), env={"BYTENITE_API_URL": hostile.url})
        time.sleep(0.2)
    assert outcome.exit_code == 1, outcome.describe()
    expected = f"HTTP 401: the answer to GET {hostile.url}/customer/jobs/transport-job is larger than 16 MiB"
    assert expected in outcome.stdout + outcome.stderr, outcome.describe()
    assert hostile.seen("GET") == [JOB_PATH]  # refused, not sent again
    assert hostile.body_bytes_sent < 40 * MIB, hostile.body_bytes_sent


def _listing(total: int) -> Script:
    def script(method: str, path: str) -> Reply:
        if "pagination" not in path:
            return json_reply({"job": {**DRAFT, "id": path.rsplit("/", 1)[-1]}})
        return json_reply({"data": [DRAFT], "pagination": {"total": total, "limit": 100, "offset": 0}})

    return script


@pytest.mark.parametrize("hostile", [_listing(10**15)], indirect=True)
def test_a_huge_pagination_total_is_an_error_not_an_allocation(
    hostile: HostileServer, manifests: Path, tmp_path: Path
) -> None:
    # Under a 2 GiB address-space limit: planning pages from that total would die of MemoryError, not pass.
    limited = (
        "import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
        "sys.argv = ['reconciler', *sys.argv[1:]]; runpy.run_module('reconciler', run_name='__main__')"
    )
    env: dict[str, Any] = {name: value for name, value in os.environ.items() if not name.startswith("BYTENITE_")}
    env.update(BYTENITE_API_URL=hostile.url, BYTENITE_API_KEY=API_KEY, HOME=str(tmp_path))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", limited, "plan", str(manifests), "--prune"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stderr.strip().splitlines() == [
        "error: request failed: GET /jobs reports pagination.total 1000000000000000, 10000000000000 pages: more than "
        "the 10000 this tool reads (a limit against a server that misreports it); refused before any write"
    ], done.stderr
    assert hostile.seen("GET") == ["/v1/customer/jobs?pagination.limit=100&pagination.offset=0"]
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("hostile", [_listing(10**15)], indirect=True)
def test_a_huge_total_without_prune_reads_the_jobs_one_by_one(
    hostile: HostileServer, tmp_path: Path, invoke: Runner
) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "jobs.yaml").write_text(MANIFEST + "---\n" + MANIFEST.replace(JOB, "second-job"))
    outcome = invoke("plan", str(folder), env={"BYTENITE_API_URL": hostile.url})
    assert not outcome.crash, outcome.describe()
    pages = [path for path in hostile.seen("GET") if "pagination" in path]
    assert len(pages) == 1, hostile.requests  # the probe only: the list lost to two GETs


def test_the_request_timeout_is_a_setting_with_a_sane_default() -> None:
    from reconciler import settings

    assert settings.from_environment(environ={}).request_timeout == 60.0
    assert settings.from_environment(environ={"BYTENITE_REQUEST_TIMEOUT": "5"}).request_timeout == 5.0
    flag_first = settings.from_environment(request_timeout=2.5, environ={"BYTENITE_REQUEST_TIMEOUT": "5"})
    assert flag_first.request_timeout == 2.5
