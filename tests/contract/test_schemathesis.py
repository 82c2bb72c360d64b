"""The contract: schemathesis (``--checks all``) against the session's emulator, for both spec files.

Runs the schemathesis CLI as a subprocess with ``schemathesis.toml`` from this folder (see
that file and NOTES.md for the one expectation it states). Seeded and bounded: both specs take well under
a minute. The emulator follows the spec strictly, so zero failures is the bar.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.emulator.server import EmulatorServer
from tests.support import Control

HERE = Path(__file__).parent
SCHEMAS = HERE.parent.parent / "schemas"
MAX_EXAMPLES = 30


def _schemathesis() -> list[str]:
    script = Path(sys.executable).parent / "schemathesis"
    return [str(script)] if script.exists() else [sys.executable, "-m", "schemathesis.cli"]


def _run(spec: str, url: str, workdir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run from a temporary folder: schemathesis keeps a cache in its working directory."""
    command = [
        *_schemathesis(),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        str(SCHEMAS / spec),
        "--url",
        url,
        "--checks",
        "all",
        "--seed",
        "1",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--no-color",
        *extra,
    ]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.contract
def test_customer_api_conforms(server: EmulatorServer, emulator: Control, tmp_path: Path) -> None:
    token = emulator.token()
    result = _run("openapi-customer.json", f"{server.url}/customer", tmp_path, "-H", f"Authorization: {token}")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.contract
def test_auth_api_conforms(server: EmulatorServer, emulator: Control, tmp_path: Path) -> None:
    result = _run("openapi-auth.json", f"{server.url}/auth", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
