"""End-to-end fixtures: one emulator on 127.0.0.1 per session, reset before every test, and the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from reconciler import cli
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.server import EmulatorServer
from tests.e2e import generated

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "jobs"
SEED = ROOT / "examples" / "emulator" / "seed.yaml"
API_KEY = "e2e-test-key"
LEGACY_ENV = {"LEGACY_S3_ACCESS_KEY": "E2E-ROTATED-ACCESS-KEY", "LEGACY_S3_SECRET_KEY": "demo-legacy-secret-key"}


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(api_key=API_KEY, step_seconds=0)) as running:
        yield running


@dataclass
class Control:
    """The emulator's test-control API (``/_emulator/``): seeding, the request log, faults."""

    http: httpx.Client

    @classmethod
    @contextmanager
    def connect(cls, base_url: str) -> Iterator[Control]:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            yield cls(http)

    def seed(self, jobs: list[dict[str, Any]]) -> None:
        self.http.post("/_emulator/jobs", json={"jobs": jobs}).raise_for_status()

    def generate(self, folder: Path, count: int) -> Path:
        """``count`` generated manifests in ``folder``, and their jobs seeded (most of them differing)."""
        generated.write_manifests(folder, count)
        self.seed(generated.seed_jobs(count))
        return folder

    def seed_examples(self) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = YAML(typ="safe").load(SEED.read_text())
        self.seed(jobs)
        return jobs

    def requests(self) -> list[dict[str, Any]]:
        return list(self.http.get("/_emulator/requests").json()["requests"])

    def writes(self) -> list[tuple[str, str]]:
        return [
            (r["method"], r["path"])
            for r in self.requests()
            if r["method"] != "GET" and "access_token" not in r["path"]
        ]

    def counters(self) -> dict[str, Any]:
        return dict(self.http.get("/_emulator/counters").json())

    def faults(self, **settings: Any) -> None:
        self.http.put("/_emulator/faults", json=settings).raise_for_status()

    def _token(self) -> str:
        return str(self.http.post("/v1/auth/access_token", json={"apiKey": API_KEY}).json()["token"])

    def job(self, job_id: str) -> dict[str, Any]:
        answer = self.http.get(f"/v1/customer/jobs/{job_id}", headers={"Authorization": self._token()})
        answer.raise_for_status()
        return dict(answer.json()["job"])

    def all_jobs(self) -> list[dict[str, Any]]:
        """Every job, through the API's paged list."""
        token, jobs, offset = self._token(), [], 0
        while True:
            params = {"pagination.limit": 100, "pagination.offset": offset}
            page = self.http.get("/v1/customer/jobs", params=params, headers={"Authorization": token}).json()
            jobs.extend(page["data"])
            if not page["pagination"]["hasNext"]:
                return jobs
            offset += 100

    def clear_log(self) -> None:
        self.http.post("/_emulator/reset", json={"jobs": False, "log": True}).raise_for_status()


@pytest.fixture
def emulator(server: EmulatorServer) -> Iterator[Control]:
    with Control.connect(server.base_url) as control:
        control.http.post("/_emulator/reset", json={"jobs": True, "log": True, "faults": True}).raise_for_status()
        yield control


@pytest.fixture
def witnessing(emulator: Control) -> Iterator[Control]:
    """The session emulator with write witnesses on for one test (off again after it, faults restored)."""
    emulator.http.put("/_emulator/log", json={"witness": True}).raise_for_status()
    try:
        yield emulator
    finally:
        emulator.http.put("/_emulator/log", json={"witness": False}).raise_for_status()
        emulator.http.post("/_emulator/reset", json={"jobs": True, "log": True, "faults": True}).raise_for_status()


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def env(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"BYTENITE_API_URL": server.url, "BYTENITE_API_KEY": API_KEY, **LEGACY_ENV}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BYTENITE_JOBS_PREFIX", raising=False)
    monkeypatch.chdir(ROOT)
    return values


@pytest.fixture
def run(env: dict[str, str]) -> Any:
    """The real CLI, in process: ``run("plan", "examples/jobs")``."""

    def invoke(*args: str, stdin: str | None = None) -> Outcome:
        result = CliRunner().invoke(cli.cli, list(args), input=stdin, catch_exceptions=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return invoke
