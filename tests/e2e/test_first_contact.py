"""A wrong API address never looks like an empty account: first contact is checked before any job is judged.

Each wrong address (no ``/v1``, ``/v2``, a wrong jobs prefix, a login page answering ``200 text/html`` to
everything) is tried with every command that reads jobs: ``plan``, ``apply``, ``import`` and ``apply PLANFILE``.
Each must exit 1 within seconds, send no write, propose no create, and say in one line which URL it called and
what to fix. A job that really does not exist is still a create (keyed) or missing (a fixed id), as before.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import EmulatorServer
from tests.security.helpers import Reply, manifest_folder, scripted_server
from tests.support import Control

MANIFESTS = """\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {key: first-contact/keyed}
spec: {templateId: img-gen-diffusers, name: Keyed}
---
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {id: first-contact-fixed}
spec: {name: Fixed}
"""
LOGIN_PAGE = "<!doctype html>\n<html><head><title>Sign in</title></head><body>Single sign-on</body></html>"
WRONG = ["no /v1", "/v2", "jobs prefix", "login page"]
COMMANDS = ["plan", "apply", "import", "apply PLANFILE"]


@pytest.fixture
def jobs(tmp_path: Path) -> Path:
    return manifest_folder(tmp_path, MANIFESTS)


@pytest.fixture
def login_page() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A proxy in front of the API: every request, whatever its method or path, gets its sign-in page."""
    with scripted_server(lambda method, path, body: Reply(200, LOGIN_PAGE, "text/html; charset=utf-8")) as running:
        yield running


def _wrong(
    case: str, server: EmulatorServer, login_page: tuple[str, list[tuple[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """Point the CLI at a wrong address; return the URL it will call first and the fix the error must name."""
    if case == "no /v1":
        url = server.base_url
        monkeypatch.setenv("BYTENITE_API_URL", url)
        return f"{url}/auth/access_token", "/v1"
    if case == "/v2":
        url = server.base_url + "/v2"
        monkeypatch.setenv("BYTENITE_API_URL", url)
        return f"{url}/auth/access_token", "/v1"
    if case == "jobs prefix":
        monkeypatch.setenv("BYTENITE_JOBS_PREFIX", "/customers")
        return f"{server.url}/customers/jobs", "/customer"
    url, _ = login_page
    monkeypatch.setenv("BYTENITE_API_URL", url)
    return f"{url}/auth/access_token", "/v1"


def _plan_file(run: Any, jobs: Path, tmp_path: Path) -> Path:
    """A plan made against the right address (the apply is then pointed at the wrong one, and the file with it)."""
    path = tmp_path / "plan.json"
    made = run("plan", str(jobs), "--out", str(path))
    assert made.exit_code == 0, made.stderr
    return path


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", WRONG)
def test_a_wrong_address_ends_the_run_in_one_line_naming_the_url_and_the_fix(
    case: str,
    command: str,
    *,
    jobs: Path,
    tmp_path: Path,
    run: Any,
    emulator: Control,
    server: EmulatorServer,
    login_page: tuple[str, list[tuple[str, str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator.seed([{"id": "first-contact-fixed", "templateId": "t", "name": "Old name"}])
    plan_file = _plan_file(run, jobs, tmp_path) if command == "apply PLANFILE" else None
    called, fix = _wrong(case, server, login_page, monkeypatch)
    if plan_file is not None and case != "jobs prefix":
        document = json.loads(plan_file.read_text())
        document["api_url"] = called.removesuffix("/auth/access_token")
        plan_file.write_text(json.dumps(document))
    emulator.clear_log()
    args = {
        "plan": ["plan", str(jobs), "--detailed-exitcode"],
        "apply": ["apply", str(jobs), "--auto-approve"],
        "import": ["import", "first-contact-fixed"],
        "apply PLANFILE": ["apply", str(plan_file)],
    }[command]

    started = time.monotonic()
    outcome = run(*args)
    seconds = time.monotonic() - started

    assert outcome.exit_code == 1, (outcome.stdout, outcome.stderr)
    assert seconds < 5, seconds
    assert emulator.writes() == []
    assert [request for request in login_page[1] if request[0] != "POST" or "access_token" not in request[1]] == []
    assert len([request for request in login_page[1] if "access_token" in request[1]]) <= 2  # one retry at most
    assert "create" not in outcome.stdout
    lines = [line for line in outcome.stderr.splitlines() if not line.startswith("Applying the reviewed plan")]
    assert len(lines) == 1, outcome.stderr
    (line,) = lines
    assert line.startswith("error: "), line
    assert called in line, line
    assert fix in line, line
    if case == "login page":
        assert "text/html" in line, line
        assert "Sign in" in line, line
        assert "proxy" in line, line


def test_a_keyed_job_that_does_not_exist_is_still_a_create(jobs: Path, run: Any, emulator: Control) -> None:
    emulator.seed([{"id": "first-contact-fixed", "templateId": "t", "name": "Fixed"}])

    outcome = run("plan", str(jobs), "--detailed-exitcode")

    assert outcome.exit_code == 2, outcome.stderr
    assert "+ create job " in outcome.stdout, outcome.stdout
    assert "Plan: 1 to create" in outcome.stdout, outcome.stdout


def test_a_fixed_id_that_does_not_exist_is_still_reported_missing(run: Any, emulator: Control) -> None:
    outcome = run("import", "no-such-job")

    assert outcome.exit_code == 1
    assert outcome.stderr.strip() == "error: request failed: cannot import no-such-job: no such job", outcome.stderr


def test_the_emulator_tells_a_wrong_path_from_a_missing_job(emulator: Control, server: EmulatorServer) -> None:
    """What the client's rule rests on: only the job routes answer the rpcStatus of code 5."""
    token = emulator.token()
    missing = emulator.http.get("/v1/customer/jobs/no-such-job", headers={"Authorization": token})
    unserved = emulator.http.get("/v1/customers/jobs/no-such-job", headers={"Authorization": token})

    assert (missing.status_code, missing.json()["code"]) == (404, 5)
    assert (unserved.status_code, unserved.headers["content-type"].split(";")[0]) == (404, "text/plain")
