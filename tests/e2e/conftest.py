"""End-to-end fixtures: the session's emulator (``tests/conftest.py``) as the API, and the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler import cli
from reconciler.emulator.server import EmulatorServer
from tests.support import API_KEY, ROOT, Control

LEGACY_ENV = {"LEGACY_S3_ACCESS_KEY": "E2E-ROTATED-ACCESS-KEY", "LEGACY_S3_SECRET_KEY": "demo-legacy-secret-key"}


@pytest.fixture
def witnessing(emulator: Control) -> Iterator[Control]:
    """The session emulator with write witnesses on for one test (off again after it)."""
    emulator.witness(True)
    try:
        yield emulator
    finally:
        emulator.witness(False)


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
