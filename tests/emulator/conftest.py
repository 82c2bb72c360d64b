"""The emulator's own tests, on the session's emulator (``tests/conftest.py``), over real loopback sockets.

``api`` is a client on the jobs root with a valid token, ``control`` a raw one on ``/_emulator`` (these tests are of
that wire itself; the others use ``tests.support.Control``). A test that needs other start-up options starts its
own server with ``EmulatorServer`` as a context manager, so it is stopped by that test.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.emulator.server import EmulatorServer
from tests.support import Control


@pytest.fixture
def emu(server: EmulatorServer, emulator: Control) -> EmulatorServer:
    """The session emulator with no jobs, an empty log and the start-up (fault-free) settings (``emulator``
    resets it), for the tests that read its parts directly."""
    return server


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
