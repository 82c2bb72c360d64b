"""A scripted HTTP server on loopback that answers the way a hostile or broken API would: slowly, hugely, forever.

A test gives it a script, ``(method, path) -> Reply``, starts it, points the CLI at ``server.url`` and stops it
when done; every request it saw and every body byte it managed to send are recorded. The token exchange is
answered by default, so a script only says what the jobs routes do.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN_PATH = "/v1/auth/access_token"
TOKEN_ANSWER = {"token": "hostile-token-0123456789", "expiresIn": 3600}


@dataclass(frozen=True)
class Reply:
    """One answer. ``chunks`` (when given) is the body, sent piece by piece after a ``Content-Length`` of
    ``length``; ``pause`` seconds pass before each piece (a trickle)."""

    status: int = 200
    body: bytes = b"{}"
    headers: tuple[tuple[str, str], ...] = ()
    chunks: Iterable[bytes] | None = None
    length: int | None = None
    pause: float = 0.0


def json_reply(answer: Any, status: int = 200, *headers: tuple[str, str]) -> Reply:
    return Reply(status, json.dumps(answer).encode(), (("Content-Type", "application/json"), *headers))


def trickle(pause: float = 0.5) -> Reply:
    """An answer that starts at once and never ends: one byte of a promised megabyte every ``pause`` seconds."""
    return Reply(chunks=(b" " for _ in iter(int, 1)), length=1024 * 1024, pause=pause)


def gzip_bomb(size: int) -> Reply:
    """A small gzip body that inflates to ``size`` bytes of valid JSON (a job with a very long name)."""
    prefix, suffix = b'{"job": {"id": "transport-job", "name": "', b'"}}'
    raw = prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix
    headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
    return Reply(body=gzip.compress(raw, compresslevel=9), headers=headers)


Script = Callable[[str, str], Reply]


@dataclass
class HostileServer:
    script: Script
    token: Reply = field(default_factory=lambda: json_reply(TOKEN_ANSWER))  # what the token exchange meets
    requests: list[tuple[str, str]] = field(default_factory=list)
    body_bytes_sent: int = 0
    port: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def seen(self, method: str, prefix: str = "/v1/customer/jobs") -> list[str]:
        return [path for seen, path in list(self.requests) if seen == method and path.startswith(prefix)]

    def wait_for(self, method: str, count: int = 1, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.seen(method)) < count:
            assert time.monotonic() < deadline, f"no {method} reached the server: {self.requests}"
            time.sleep(0.02)

    @contextmanager
    def running(self) -> Iterator[HostileServer]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, name="hostile-server", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.stopping.set()  # ends every trickle
            server.shutdown()
            server.server_close()
            thread.join(5)


def _handler(owner: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads ``owner.requests`` instead."""

        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            owner.requests.append((self.command, self.path))
            reply = owner.token if self.path == TOKEN_PATH else owner.script(self.command, self.path)
            try:
                self.send(reply)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up reading: what a cap or a deadline should do

        def send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.chunks is None:
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                owner.body_bytes_sent += len(reply.body)
                return
            self.send_header("Content-Length", str(reply.length))
            self.end_headers()
            self.wfile.flush()
            for chunk in reply.chunks:
                if owner.stopping.wait(reply.pause) if reply.pause else owner.stopping.is_set():
                    self.close_connection = True
                    return
                self.wfile.write(chunk)
                self.wfile.flush()
                owner.body_bytes_sent += len(chunk)

        do_GET = do_POST = do_PATCH = do_DELETE = answer

    return Handler
