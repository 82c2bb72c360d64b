"""What the security tests share: the sentinels and the scanner that finds them, and the record of one CLI run (in
process or as a subprocess). The emulator, its key and its test control are every test's (``tests/support.py``).

Sentinels are distinctive strings planted as secrets (in the environment, in manifests, on the server); a test then
looks for each one, raw and JSON-escaped, in every byte a run produced: stdout, stderr, log records, tracebacks and
the files it wrote. Import this module as ``tests.security.helpers`` everywhere, so there is one copy of it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.support import API_KEY, ROOT

HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
# Tokens the emulator issues ("emu." and 32 URL-safe characters): secrets as much as the key.
TOKEN = re.compile(rb"emu\.[A-Za-z0-9_-]{20,}")


@dataclass(frozen=True)
class Sentinel:
    """A planted secret. ``forms`` are the spellings a leak could take: raw, JSON-escaped, and the plain core."""

    name: str
    value: str

    def forms(self) -> set[bytes]:
        forms = {
            self.value,
            json.dumps(self.value)[1:-1],
            json.dumps(self.value, ensure_ascii=False)[1:-1],
            # The ASCII part before the first character an encoder might escape: catches partial and other encodings.
            re.split(r"[^A-Za-z0-9-]", self.value)[0],
        }
        return {form.encode() for form in forms if len(form) >= 12}


# Values a manifest takes from the environment (so every path they resolve at is sensitive).
ENV_SENTINELS = {
    "SEC_ACCESS_KEY": "SENTINEL-ACCESS-9f3a",
    "SEC_SECRET_KEY": "SENTINEL-SECRET-9f3a",
    # Quote, backslash and a non-ASCII letter: JSON escapes all three, so a leak can hide in an escaped form.
    "SEC_PASSWORD": 'SENTINEL-PASSWORD-9f3a"\\é',
    "SEC_SOURCE_URL": "https://example.com/prompts.txt?sig=SENTINEL-URL-9f3a",
    "SEC_PROMPT": "SENTINEL-PROMPT-9f3a",
    "SEC_NAME": "SENTINEL-NAME-9f3a",
}
# Inline credentials (and values at sensitive paths) the server already holds for the seeded jobs.
SERVER_SENTINELS = {
    "server access key": "SENTINEL-SERVER-ACCESS-9f3a",
    "server secret key": "SENTINEL-SERVER-SECRET-9f3a",
    "server destination access key": "SENTINEL-SERVER-DEST-ACCESS-9f3a",
    "server destination secret key": "SENTINEL-SERVER-DEST-SECRET-9f3a",
    "server prompt": "SENTINEL-SERVER-PROMPT-9f3a",
    "server password": "SENTINEL-SERVER-PASSWORD-9f3a",
    "server url": "https://example.com/old.txt?sig=SENTINEL-SERVER-URL-9f3a",
    "server name": "SENTINEL-SERVER-NAME-9f3a",
}
# Credentials written in plain text in a manifest: refused, and never echoed by the refusal.
LITERAL_SENTINELS = {
    "literal access key": "SENTINEL-LITERAL-ACCESS-9f3a",
    "literal secret key": "SENTINEL-LITERAL-SECRET-9f3a",
    "literal password": "SENTINEL-LITERAL-PASSWORD-9f3a",
    "literal token": "SENTINEL-LITERAL-TOKEN-9f3a",
}
WRONG_KEY = "SENTINEL-WRONG-APIKEY-9f3a"

ALL_SENTINELS = (
    Sentinel("BYTENITE_API_KEY", API_KEY),
    Sentinel("a refused API key", WRONG_KEY),
    *(Sentinel(name, value) for name, value in ENV_SENTINELS.items()),
    *(Sentinel(name, value) for name, value in SERVER_SENTINELS.items()),
    *(Sentinel(name, value) for name, value in LITERAL_SENTINELS.items()),
)


def find_leaks(where: str, data: str | bytes, sentinels: Iterable[Sentinel] = ALL_SENTINELS) -> list[str]:
    """Every sentinel form (and every emulator token) found in ``data``, described with ``where``."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    found = [
        f"{sentinel.name} ({form.decode()!r}) in {where}"
        for sentinel in sentinels
        for form in sorted(sentinel.forms())
        if form in raw
    ]
    found.extend(f"an access token ({match.group().decode()!r}) in {where}" for match in TOKEN.finditer(raw))
    return found


# Addresses ----------------------------------------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# One run of the CLI -------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """Everything one run produced."""

    args: list[str]
    exit_code: int
    stdout: str
    stderr: str
    logs: list[str] = field(default_factory=list)
    crash: str = ""  # the traceback Python would have printed for an exception that escaped the CLI
    files: dict[str, bytes] = field(default_factory=dict)  # files the run created or changed
    seconds: float = 0.0

    def leaks(self, sentinels: Iterable[Sentinel] = ALL_SENTINELS) -> list[str]:
        sentinels = tuple(sentinels)
        found = find_leaks("stdout", self.stdout, sentinels) + find_leaks("stderr", self.stderr, sentinels)
        found += find_leaks("an uncaught traceback", self.crash, sentinels)
        for number, line in enumerate(self.logs):
            found += find_leaks(f"log record {number}", line, sentinels)
        for path, content in self.files.items():
            found += find_leaks(f"the file {path}", content, sentinels)
        return found

    def describe(self) -> str:
        return (
            f"$ reconciler {' '.join(self.args)}\n-> exit {self.exit_code}\n--- stdout\n{self.stdout[-3000:]}"
            f"\n--- stderr\n{self.stderr[-3000:]}\n--- crash\n{self.crash[-3000:]}"
        )


Runner = Callable[..., Outcome]


def manifest_folder(root: Path, text: str, name: str = "job.yaml") -> Path:
    """``root/jobs/`` holding one manifest file with ``text``: the tree most tests plan."""
    folder = root / "jobs"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def snapshot(root: Path) -> dict[Path, bytes]:
    """Every regular file under ``root`` and its bytes."""
    return {path: path.read_bytes() for path in root.rglob("*") if path.is_file() and not path.is_symlink()}


def written(before: Mapping[Path, bytes], root: Path) -> dict[str, bytes]:
    """The files under ``root`` that are new or changed since ``before``."""
    return {str(path): content for path, content in snapshot(root).items() if before.get(path) != content}


def run_subprocess(
    args: list[str], *, cwd: Path, env: Mapping[str, str], timeout: float = 60.0, scan: Path | None = None
) -> Outcome:
    """The installed CLI as its own process, so every byte it writes to its file descriptors is seen."""
    base = {name: value for name, value in os.environ.items() if not name.startswith(("BYTENITE_", "GITHUB_"))}
    base.pop("CI", None)
    root = scan or cwd
    before = snapshot(root)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", *args],
            cwd=cwd,
            env={**base, "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(cwd), **env},
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        seconds = time.perf_counter() - started
        out = (expired.stdout or b"").decode("utf-8", "replace")
        err = (expired.stderr or b"").decode("utf-8", "replace")
        return Outcome(args, -9, out, err + f"\n[killed after {timeout:g} s]", seconds=seconds)
    seconds = time.perf_counter() - started
    return Outcome(
        args,
        done.returncode,
        done.stdout.decode("utf-8", "surrogateescape"),
        done.stderr.decode("utf-8", "surrogateescape"),
        files=written(before, root),
        seconds=seconds,
    )


# An API whose error messages echo what it was sent ---------------------------------------------------------------


class EchoingTransport(httpx.AsyncBaseTransport):
    """The real API (the emulator, over loopback) for reads and the token exchange; every write (a PATCH, a
    create, a launch) is refused with a 400 whose message quotes part of the request, as a hostile or careless
    server may.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, echo: Callable[[httpx.Request, Any], str]) -> None:
        self.inner = inner
        self.echo = echo

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" or "access_token" in request.url.path:
            return await self.inner.handle_async_request(request)
        body = json.loads(request.content) if request.content else None
        message = f"invalid argument: {self.echo(request, body)}"
        return httpx.Response(400, json={"code": 3, "message": message, "details": []}, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


# A scripted server on loopback ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What a scripted server answers: a status, a body, and its content type."""

    status: int
    body: bytes | str | Any = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Script = Callable[[str, str, bytes], Reply]


def token_then(script: Script) -> Script:
    """A script that hands out a token for any key, and leaves every other request to ``script``."""

    def answer(method: str, path: str, body: bytes) -> Reply:
        if method == "POST" and path.endswith("/auth/access_token"):
            return Reply(200, {"token": "scripted-token", "expiresIn": "3600"})
        return script(method, path, body)

    return answer


@contextmanager
def scripted_server(script: Script) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A small hostile server on 127.0.0.1 that answers each request as ``script`` says; yields its ``/v1`` URL and
    the ``(method, path)`` of every request it received. Stopped when the block ends."""
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append((self.command, self.path))
            reply = script(self.command, self.path, body)
            data = reply.encoded()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads the CLI's output, not the server's."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
