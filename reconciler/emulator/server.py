"""Serving the emulator with uvicorn: in the foreground for the CLI, or in a thread for tests.

    from reconciler.emulator.server import EmulatorServer, EmulatorConfig
    with EmulatorServer(EmulatorConfig(api_key="k", step_seconds=0)) as emu:
        emu.url         # "http://127.0.0.1:PORT/v1"  (auth under /auth, jobs under /customer)
        emu.base_url    # "http://127.0.0.1:PORT"
        emu.store       # the jobs, for tests that need them directly

The socket is bound before uvicorn starts (port 0 gives a free one), so the port is known up front and
the tempUrls handed out carry it. uvicorn's access log is off: at thousands of requests per second it
costs more than the emulator itself.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn

from reconciler.emulator import app
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.gateway import ConnectionDropped
from reconciler.emulator.store import Store

__all__ = ["EmulatorConfig", "EmulatorServer", "serve"]

_STARTUP_TIMEOUT = 10.0


class _HideDrops(logging.Filter):
    """Drop uvicorn's "Exception in ASGI application" record for a connection dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def _hide_drops() -> None:
    target = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDrops) for f in target.filters):
        target.addFilter(_HideDrops())


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets that say they are TCP,
    # and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _origin(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _uvicorn(emulator: app.Emulator) -> uvicorn.Server:
    config = uvicorn.Config(emulator.asgi, log_level="warning", access_log=False, lifespan="on")
    _hide_drops()  # after uvicorn.Config, which (re)configures its loggers
    return uvicorn.Server(config)


class EmulatorServer:
    """An emulator on a loopback port in a background thread, for tests and benchmarks."""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._emulator: app.Emulator | None = None

    @property
    def emulator(self) -> app.Emulator:
        """The emulator's parts (store, tokens, faults, log); still readable after a stop, for post-mortems."""
        if self._emulator is None:
            raise RuntimeError("the emulator is not running")
        return self._emulator

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.emulator.base_url

    @property
    def url(self) -> str:
        """The API root, ``http://127.0.0.1:PORT/v1``."""
        return self.base_url + "/v1"

    @property
    def store(self) -> Store:
        """The jobs."""
        return self.emulator.store

    def issue_token(self) -> str:
        """A valid access token, without an HTTP round trip."""
        return self.emulator.tokens.issue()

    def start(self) -> EmulatorServer:
        """Bind, start uvicorn in a thread and wait until it serves."""
        self._socket = _bind(self.config.host, self.config.port)
        self._emulator = app.build(self.config, _origin(self._socket, self.config.host))
        self._server = _uvicorn(self._emulator)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop uvicorn and join its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def serve(config: EmulatorConfig, *, ready: Callable[[str], None] | None = None) -> None:
    """Serve in the foreground until interrupted (the CLI); ``ready`` gets the base URL once bound."""
    sock = _bind(config.host, config.port)
    emulator = app.build(config, _origin(sock, config.host))
    if ready is not None:
        ready(emulator.base_url)
    try:
        _uvicorn(emulator).run(sockets=[sock])
    finally:
        sock.close()
