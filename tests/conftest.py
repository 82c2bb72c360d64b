"""The one emulator of a test session, on 127.0.0.1 and started once, and the fixtures every kind of test uses.

``server`` is the running emulator (its URL, its store); ``emulator`` is its test control, reset before and after
each test that takes it, so no job, log entry or fault leaks into the next one. A test that needs other start-up
options starts its own ``EmulatorServer`` as a context manager, so it is stopped by that test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stamina

from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.server import EmulatorServer
from tests.support import API_KEY, Control


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(api_key=API_KEY, step_seconds=0)) as running:
        yield running


@pytest.fixture
def emulator(server: EmulatorServer) -> Iterator[Control]:
    """The session emulator with no jobs, an empty log and its start-up (fault-free) settings."""
    with Control(server.base_url, api_key=API_KEY) as control:
        control.reset()
        yield control
        control.reset()


@pytest.fixture
def without_backoff() -> Iterator[None]:
    """Retries as many as configured, without the waits between them (backoff, Retry-After): for a test of what
    is sent, not of how long the tool waits. In this process only: a CLI run as a subprocess still waits."""
    with stamina.set_testing(True, attempts=1_000_000, cap=True):
        yield
