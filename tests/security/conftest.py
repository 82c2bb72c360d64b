"""Security fixtures: the CLI run in process with every log record captured, against the session's emulator (whose
API key is itself a sentinel, see ``tests/support.py``), and a guard that refuses any connection beyond loopback
made by the test process."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler import cli
from reconciler.cli import app
from reconciler.emulator.server import EmulatorServer
from tests.security.helpers import API_KEY, ENV_SENTINELS, Outcome, Runner, snapshot, written

TIMINGS = pytest.StashKey[dict[str, float]]()


@pytest.fixture(scope="session")
def timings(pytestconfig: pytest.Config) -> dict[str, float]:
    """Measured times worth reporting at the end of the run (the issue's budgets are measured, not asserted)."""
    return pytestconfig.stash.setdefault(TIMINGS, {})


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    measured = config.stash.get(TIMINGS, {})
    if measured:
        terminalreporter.section("security: measured times (bound 10 s; the issue's budget is 1 s)")
        for name, seconds in sorted(measured.items()):
            terminalreporter.write_line(f"{seconds:7.2f} s  {name}")


# Loopback only -------------------------------------------------------------------------------------------------


def _is_loopback(host: Any) -> bool:
    if host in (None, "localhost") or not isinstance(host, str):
        return True  # AF_UNIX paths and "no host" are local by construction
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Refuse (and record) every name lookup or connection beyond loopback made in this process."""
    attempts: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host.decode() if isinstance(host, bytes) else host):
            attempts.append(f"lookup {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, "blocked by the test: loopback only")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            attempts.append(f"connect {address!r}")
            raise ConnectionRefusedError("blocked by the test: loopback only")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            attempts.append(f"connect {address!r}")
            return 111  # ECONNREFUSED
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield attempts
    assert not attempts, f"the test tried to reach beyond loopback: {attempts}"


class _Records(logging.Handler):
    """Every log record, formatted with its traceback and every extra attribute (structured loggers show those)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName == "emulator":
            return  # the emulator's own records are not the CLI's output
        self.lines.append(f"{self.format(record)} {record.__dict__!r}")


@contextmanager
def _restored_logging() -> Iterator[None]:
    """The CLI configures its loggers on every run; put them back so later tests see a clean slate."""
    names = ("reconciler", "stamina", *app.QUIET_LOGGERS)
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers)) for name in names}
    try:
        yield
    finally:
        for name, (level, handlers) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = handlers


@pytest.fixture
def environment(server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The sentinels in the environment, the emulator as the API, and tmp_path as the working directory."""
    for name in list(os.environ):
        if name.startswith(("BYTENITE_", "GITHUB_")) or name in ("CI", "NO_COLOR"):
            monkeypatch.delenv(name)
    values = {
        "BYTENITE_API_URL": server.url,
        "BYTENITE_API_KEY": API_KEY,
        "BYTENITE_RETRY_ATTEMPTS": "2",
        **ENV_SENTINELS,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return values


@pytest.fixture
def invoke(environment: dict[str, str], tmp_path: Path) -> Runner:
    """The real CLI in process: ``invoke("plan", "jobs", env={"NAME": None})`` (None unsets a variable).

    Output is captured by click, log records by a handler on the root logger, and an exception that escapes the
    CLI is kept as the traceback Python would print. Files are compared with a snapshot of tmp_path.
    """

    def run(*args: str, env: Mapping[str, str | None] | None = None) -> Outcome:
        before = snapshot(tmp_path)
        records = _Records()
        root = logging.getLogger()
        root.addHandler(records)
        started = time.perf_counter()
        try:
            with _restored_logging():
                result = CliRunner().invoke(cli.cli, list(args), env=dict(env or {}), catch_exceptions=True)
        finally:
            root.removeHandler(records)
        seconds = time.perf_counter() - started
        crash = ""
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            crash = "".join(traceback.format_exception(result.exception))
        return Outcome(
            list(args),
            result.exit_code,
            result.stdout,
            result.stderr,
            records.lines,
            crash,
            written(before, tmp_path),
            seconds,
        )

    return run
