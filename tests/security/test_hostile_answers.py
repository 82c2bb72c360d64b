"""A server's answers are checked before anything trusts them: another job, no job, a number as text, a body
that is not the API's, a token no header can carry. Each is a clear error in the report (a failed call, exit 4,
mid-apply; a failed job or a one-line error while planning), never a traceback and never a write to a job no
manifest named.

Every server here is a small scripted one on loopback (``helpers.scripted_server``), started and stopped by its
test; it hands out a token, then answers as the case says.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.security.helpers import Reply, Runner, manifest_folder, run_subprocess, scripted_server, token_then

ONE = """\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {id: my-job}
spec: {name: Wanted name, config: {taskTimeout: 900}}
"""
TWO = (
    ONE
    + """---
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {id: my-other-job}
spec: {name: Other}
"""
)


def _job(job_id: str = "my-job", **fields: Any) -> dict[str, Any]:
    return {"id": job_id, "templateId": "t", "name": "Old name", "state": "JOB_STATE_NEW", **fields}


def _jobs(tmp_path: Path, text: str = ONE) -> Path:
    return manifest_folder(tmp_path, text)


def _reads(answer: Callable[[str], Reply]) -> Callable[[str, str, bytes], Reply]:
    """GETs answered by ``answer(path)``; a write answers with the job as asked, so only a read can be hostile."""

    def script(method: str, path: str, body: bytes) -> Reply:
        if method == "GET":
            return answer(path)
        return Reply(200, {"job": _job()})

    return token_then(script)


def _writes_in(seen: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(method, path) for method, path in seen if method != "GET" and "access_token" not in path]


# 11. The job a server returns must be the one asked for ----------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"job": _job("victim-job")}, id="another job"),
        pytest.param({"job": None}, id="a null job"),
        pytest.param({}, id="no job at all"),
        pytest.param({"job": _job("")}, id="an empty id"),
    ],
)
def test_a_read_that_answers_another_job_or_none_writes_nothing(
    answer: dict[str, Any], tmp_path: Path, invoke: Runner
) -> None:
    with scripted_server(_reads(lambda path: Reply(200, answer))) as (url, seen):
        outcome = invoke("apply", str(_jobs(tmp_path)), "--auto-approve", "--api-url", url)

    assert outcome.exit_code == 1, outcome.describe()
    assert not outcome.crash, outcome.describe()
    assert _writes_in(seen) == []  # no PATCH of victim-job, no PATCH /jobs//jobname, no create
    assert "breaks the API contract" in outcome.stdout + outcome.stderr or "another job" in outcome.stdout
    assert "victim-job" not in [path.split("/")[-2] for _, path in seen if path.count("/") > 4]


# 13. Unexpected data is a clear error, never a traceback -----------------------------------------------------------


@pytest.mark.parametrize(
    ("job", "field"),
    [
        pytest.param(_job(config={"taskTimeout": "an hour"}), "config.taskTimeout", id="a config number as text"),
        pytest.param(_job(params="all of them"), "params", id="params as a string"),
        pytest.param(_job(config={"isTestJob": "yes"}), "config.isTestJob", id="a flag as text"),
        pytest.param(_job(dataSource=["s3"]), "dataSource", id="a data source as a list"),
        pytest.param(_job(name=7), "name", id="a name as a number"),
    ],
)
def test_a_read_that_breaks_the_contract_fails_that_job_in_one_line(
    job: dict[str, Any], field: str, tmp_path: Path, invoke: Runner
) -> None:
    with scripted_server(_reads(lambda path: Reply(200, {"job": job}))) as (url, seen):
        outcome = invoke("plan", str(_jobs(tmp_path)), "--api-url", url)

    assert outcome.exit_code == 1, outcome.describe()
    assert not outcome.crash, outcome.describe()
    assert f"job.{field}" in outcome.stdout + outcome.stderr, outcome.describe()
    assert _writes_in(seen) == []


def test_a_bad_patch_answer_is_one_failed_call_in_the_report_exit_4(tmp_path: Path, invoke: Runner) -> None:
    """Mid-apply, a PATCH answered with a broken job fails that call; the others still run and are reported."""

    def script(method: str, path: str, body: bytes) -> Reply:
        if method == "GET":
            return Reply(200, {"job": _job()})
        if path.endswith("/jobname"):
            return Reply(200, {"job": _job(config={"taskTimeout": {"nested": True}})})
        return Reply(200, {"job": _job(name="Wanted name", config={"taskTimeout": "900"})})

    with scripted_server(token_then(script)) as (url, seen):
        outcome = invoke("apply", str(_jobs(tmp_path)), "--auto-approve", "--api-url", url, "--format", "json")

    assert outcome.exit_code == 4, outcome.describe()
    assert not outcome.crash, outcome.describe()
    results = {result["section"]: result for result in json.loads(outcome.stdout)["results"]}
    assert results["jobname"]["outcome"] == "failed"
    assert "config.taskTimeout" in results["jobname"]["detail"]
    assert results["configs"]["outcome"] == "done"
    assert sorted(path.rsplit("/", 1)[-1] for _, path in _writes_in(seen)) == ["configs", "jobname"]


@pytest.mark.parametrize(
    ("page", "what"),
    [
        pytest.param({"data": [], "pagination": {"total": "lots"}}, "pagination.total", id="a total as text"),
        pytest.param({"data": [], "pagination": {"total": -5}}, "pagination.total", id="a negative total"),
        pytest.param({"data": {"my-job": {}}, "pagination": {"total": 1}}, "data", id="data as a mapping"),
        pytest.param({"data": [_job(), "my-other-job"]}, "data.1", id="a job as a string"),
    ],
)
def test_a_listing_that_breaks_the_contract_is_one_line(
    page: dict[str, Any], what: str, tmp_path: Path, invoke: Runner
) -> None:
    with scripted_server(_reads(lambda path: Reply(200, page))) as (url, _):
        outcome = invoke("plan", str(_jobs(tmp_path, TWO)), "--api-url", url)

    assert outcome.exit_code == 1, outcome.describe()
    assert not outcome.crash, outcome.describe()
    (line,) = outcome.stderr.strip().splitlines()
    assert line.startswith("error: "), line
    assert f"GET /jobs: the server's answer breaks the API contract: {what}" in line, line


@pytest.mark.parametrize(
    ("token", "what"),
    [
        pytest.param({"token": "tökén", "expiresIn": "3600"}, "token", id="a non-ASCII token"),
        pytest.param({"token": "t", "expiresIn": "soon"}, "expiresIn", id="a lifetime as text"),
        pytest.param({"token": "t", "expiresIn": "0"}, "expiresIn", id="a lifetime of zero"),
        pytest.param({"token": ["t"]}, "token", id="a token as a list"),
        pytest.param({"expiresIn": "3600"}, "token", id="no token"),
    ],
)
def test_a_token_answer_that_breaks_the_contract_ends_the_run_in_one_line(
    token: dict[str, Any], what: str, tmp_path: Path, invoke: Runner
) -> None:
    with scripted_server(lambda method, path, body: Reply(200, token)) as (url, seen):
        outcome = invoke("plan", str(_jobs(tmp_path)), "--api-url", url)

    assert outcome.exit_code == 1, outcome.describe()
    assert not outcome.crash, outcome.describe()
    (line,) = outcome.stderr.strip().splitlines()
    assert f"POST {url}/auth/access_token: the server's answer breaks the API contract: {what}" in line, line
    assert seen == [("POST", "/v1/auth/access_token")]  # no job was read with it


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"error": "boom"}, id="error as a string"),
        pytest.param({"code": "three", "message": ["a", "b"]}, id="code and message of the wrong types"),
        pytest.param([1, 2, 3], id="a list"),
        pytest.param("<h1>Bad request</h1>", id="html"),
    ],
)
def test_an_error_body_that_is_not_an_rpc_status_is_still_one_line(body: Any, tmp_path: Path, invoke: Runner) -> None:
    reply = Reply(400, body, "text/html" if isinstance(body, str) else "application/json")
    with scripted_server(_reads(lambda path: reply)) as (url, _):
        outcome = invoke("plan", str(_jobs(tmp_path)), "--api-url", url)

    assert outcome.exit_code == 1, outcome.describe()
    assert not outcome.crash, outcome.describe()
    assert "HTTP 400" in outcome.stdout + outcome.stderr, outcome.describe()


def test_a_lone_surrogate_in_a_name_is_shown_not_crashed_on(tmp_path: Path) -> None:
    """``"\\ud800"`` is valid JSON that no UTF-8 stream can write: the real process, real stdout."""
    raw = b'{"job": {"id": "my-job", "templateId": "t", "name": "bad \\ud800 name", "state": "JOB_STATE_NEW"}}'
    with scripted_server(_reads(lambda path: Reply(200, raw))) as (url, _):
        outcome = run_subprocess(
            ["plan", "jobs", "--api-url", url], cwd=tmp_path, env={"BYTENITE_API_KEY": "k"}, scan=_jobs(tmp_path)
        )

    assert outcome.exit_code == 0, outcome.describe()
    assert "Traceback" not in outcome.stderr, outcome.describe()
    assert "bad \ufffd name" in outcome.stdout, outcome.describe()


# 19. Retry-After on a 503 is honoured ------------------------------------------------------------------------------


def test_a_retry_after_on_a_503_is_waited_for(tmp_path: Path, invoke: Runner) -> None:
    times: list[float] = []

    def answer(path: str) -> Reply:
        times.append(time.monotonic())
        if len(times) == 1:
            return Reply(503, {"code": 14, "message": "unavailable"}, headers={"Retry-After": "2"})
        return Reply(200, {"job": _job(name="Wanted name", config={"taskTimeout": "900"})})

    with scripted_server(_reads(answer)) as (url, _):
        outcome = invoke("plan", str(_jobs(tmp_path)), "--api-url", url)

    assert outcome.exit_code == 0, outcome.describe()
    assert len(times) == 2
    assert times[1] - times[0] >= 1.9  # the computed backoff alone would have been 0.2 to 0.7 s
