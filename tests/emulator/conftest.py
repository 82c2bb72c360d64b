"""One emulator per session (steps under test control), reset before every test.

Tests talk to it over real loopback sockets with httpx: ``api`` is a client on the jobs root with a valid
token, ``control`` one on ``/_emulator``. A test that needs other start-up options starts its own server
with ``EmulatorServer`` as a context manager, so it is stopped by that test.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.emulator.server import EmulatorConfig, EmulatorServer

from .helpers import API_KEY


@pytest.fixture(scope="session")
def session_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(api_key=API_KEY, step_seconds=0)) as server:
        yield server


@pytest.fixture
def emu(session_emulator: EmulatorServer) -> EmulatorServer:
    """The session emulator with no jobs, an empty log and the start-up (fault-free) settings."""
    response = httpx.post(
        f"{session_emulator.base_url}/_emulator/reset", json={"jobs": True, "log": True, "faults": True}
    )
    response.raise_for_status()
    return session_emulator


@pytest.fixture
def token(emu: EmulatorServer) -> str:
    """A fresh token, issued without a request (so the request log stays empty)."""
    return emu.issue_token()


@pytest.fixture
def api(emu: EmulatorServer, token: str) -> Iterator[httpx.Client]:
    """A client on ``/v1/customer`` sending the raw token."""
    with httpx.Client(base_url=f"{emu.url}/customer", headers={"Authorization": token}) as client:
        yield client


@pytest.fixture
def control(emu: EmulatorServer) -> Iterator[httpx.Client]:
    """A client on ``/_emulator``."""
    with httpx.Client(base_url=f"{emu.base_url}/_emulator") as client:
        yield client
