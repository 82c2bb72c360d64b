"""The transport: plain HTTP only to loopback, TLS verified by default, and a plan that can only read.

No test here contacts anything beyond loopback: the ``loopback_only`` guard (conftest) refuses and records any
name lookup or connection elsewhere, and fails the test that tried.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yarl

from reconciler import errors, keys, settings
from reconciler.api import endpoints, transports
from reconciler.planning import markers
from tests.security.helpers import Runner, manifest_folder
from tests.support import Control

MANIFEST = """\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {id: transport-job}
spec:
  name: A job
"""


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    return manifest_folder(tmp_path, MANIFEST)


# Plain HTTP is for loopback only ----------------------------------------------------------------------------------


REMOTE_HTTP = [
    "http://example.com/v1",
    "http://example.com:8080/v1",
    "http://10.1.2.3/v1",
    "http://localhost.example.com/v1",
    "http://127.0.0.1.nip.io/v1",
    "http://127.0.0.1:80@example.com/v1",  # userinfo that looks like a host
    "http://example.com#@127.0.0.1/v1",  # a fragment that looks like userinfo
    "HTTP://EXAMPLE.COM/v1",
]


@pytest.mark.parametrize("how", ["flag", "environment"])
@pytest.mark.parametrize("url", REMOTE_HTTP)
def test_plain_http_beyond_loopback_is_refused_before_any_request(
    url: str, how: str, *, manifests: Path, invoke: Runner, emulator: Control, loopback_only: list[str]
) -> None:
    if how == "flag":
        outcome = invoke("plan", str(manifests), "--api-url", url)
    else:
        outcome = invoke("plan", str(manifests), env={"BYTENITE_API_URL": url})

    assert outcome.exit_code == 1, outcome.describe()
    if "@" in url.split("#", maxsplit=1)[0]:  # userinfo is refused first, as a credential, without echoing the URL
        assert outcome.stderr.startswith("error: the API URL holds a user name or password"), outcome.describe()
    else:
        assert outcome.stderr.startswith("error: refusing plain http to "), outcome.describe()
        assert "use https" in outcome.stderr, outcome.describe()
    assert len(outcome.stderr.strip().splitlines()) == 1, outcome.describe()
    assert not outcome.crash, outcome.describe()
    assert loopback_only == []  # not even a name lookup
    assert emulator.counters()["total"] == 0


def test_the_refusal_comes_before_any_connection_even_without_manifests_to_read(
    manifests: Path, invoke: Runner, loopback_only: list[str]
) -> None:
    outcome = invoke("apply", str(manifests), "--auto-approve", "--api-url", "http://example.com/v1")
    assert outcome.exit_code == 1, outcome.describe()
    assert "refusing plain http" in outcome.stderr
    assert loopback_only == []


@pytest.mark.parametrize(
    "url", ["https://api.bytenite.com/v1", "https://example.com:8443/v1", "https://10.1.2.3/v1", "HTTPS://x.y/v1"]
)
def test_https_is_accepted_anywhere(url: str) -> None:
    assert settings.check_url(url) == url
    assert settings.from_environment(environ={"BYTENITE_API_URL": url}).api_url == url
    assert settings.from_environment(api_url=url, environ={}).api_url == url


def test_the_default_api_url_is_https() -> None:
    assert settings.from_environment(environ={}).api_url.startswith("https://")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/v1", "http://localhost:8080/v1", "http://[::1]:8080/v1", "http://127.0.0.2/v1"],
)
def test_plain_http_to_loopback_is_accepted(url: str) -> None:
    assert settings.check_url(url) == url


@pytest.mark.parametrize("url", ["ftp://example.com/v1", "file:///etc/passwd", "example.com/v1", "http:///v1", ""])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(errors.ConfigError):
        settings.check_url(url)


# URLs that parsers disagree on: whatever the check accepts as loopback, the clients must connect to loopback.
TRICKY = [
    "http://example.com\\@127.0.0.1/v1",
    "http://127.0.0.1\\@example.com/v1",
    "http://example.com%5c@127.0.0.1/v1",
    "http://a@b@127.0.0.1/v1",
    "http://127.0.0.1%2f@example.com/v1",
    "http://127.0.0.1 @example.com/v1",
    "http://127.0.0.1\t.example.com/v1",
    "http://[::ffff:127.0.0.1]/v1",
    "http://0x7f000001/v1",
    "http://127.1/v1",
    "http://127。0。0。1/v1",
    "http://localhost./v1",
]


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@pytest.mark.parametrize("url", TRICKY)
def test_no_parser_differential_lets_plain_http_leave_loopback(url: str) -> None:
    try:
        settings.check_url(url)
    except errors.ConfigError:
        return  # refused: nothing is sent
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL:
        return  # the client cannot even build the request
    assert _loopback(target.host), f"{url!r} accepted, but httpx would connect to {target.host!r}"
    assert _loopback(yarl.URL(str(target)).host), f"{url!r} accepted, but aiohttp would connect elsewhere"


# TLS is verified --------------------------------------------------------------------------------------------------


def test_the_default_transport_verifies_certificates_and_hostnames() -> None:
    transport: Any = transports.default(4, 0)
    context = transport.ssl_context
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_the_cli_builds_its_clients_on_the_verifying_transport(
    manifests: Path, invoke: Runner, emulator: Control, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.seed([{"id": "transport-job", "templateId": "t", "name": "Old name"}])
    built: list[Any] = []
    real = transports.default

    def spy(concurrency: int, expected: int) -> httpx.AsyncBaseTransport:
        built.append(real(concurrency, expected))
        return built[-1]

    monkeypatch.setattr(transports, "default", spy)
    assert invoke("plan", str(manifests)).exit_code == 0
    assert invoke("apply", str(manifests), "--auto-approve").exit_code == 0
    assert len(built) >= 2  # the plan's client and the apply's
    for transport in built:
        assert transport.ssl_context.verify_mode == ssl.CERT_REQUIRED
        assert transport.ssl_context.check_hostname is True


@dataclass
class TlsServer:
    """A TLS server on loopback: counts handshakes that failed and HTTP requests that arrived, answers 401."""

    certificate: Path
    key: Path
    requests: list[bytes] = field(default_factory=list)
    refused_handshakes: int = 0
    port: int = 0

    @contextmanager
    def running(self) -> Iterator[TlsServer]:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, self.key)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    raw, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                raw.settimeout(5)
                try:
                    with context.wrap_socket(raw, server_side=True) as conn:
                        data = b""
                        while b"\r\n\r\n" not in data:
                            chunk = conn.recv(4096)
                            if not chunk:
                                break
                            data += chunk
                        if data:
                            self.requests.append(data.split(b"\r\n", 1)[0])
                            _read_body(conn, data)  # closing with unread bytes would reset the connection
                            conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except (ssl.SSLError, OSError):
                    self.refused_handshakes += 1
                    raw.close()

        thread = threading.Thread(target=serve, name="tls-server", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(5)
            listener.close()


def _read_body(conn: ssl.SSLSocket, data: bytes) -> None:
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            return
        body += chunk


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Self-signed certificates: one for 127.0.0.1, one for another name."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    folder = tmp_path_factory.mktemp("tls")
    made = {}
    for name, subject_alt_name in (("loopback", "IP:127.0.0.1"), ("other-name", "DNS:api.other.example")):
        certificate, key = folder / f"{name}.pem", folder / f"{name}.key"
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
                *("-keyout", str(key), "-out", str(certificate), "-days", "2", "-subj", f"/CN={name}"),
                *("-addext", f"subjectAltName={subject_alt_name}"),
            ],
            check=True,
            capture_output=True,
        )
        made[name] = (certificate, key)
    return made


@pytest.mark.parametrize(
    ("certificate", "trusted", "reaches_the_server"),
    [
        pytest.param("loopback", False, False, id="self-signed, not trusted: refused"),
        pytest.param("other-name", True, False, id="trusted, but for another host name: refused"),
        pytest.param("loopback", True, True, id="trusted and for this host: the control case"),
    ],
)
def test_an_unverifiable_server_gets_no_request(
    certificate: str,
    trusted: bool,
    reaches_the_server: bool,
    *,
    certificates: dict[str, tuple[Path, Path]],
    manifests: Path,
    invoke: Runner,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    cert, key = certificates[certificate]
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    if trusted:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # httpx reads it (trust_env) to build the verifying context
    else:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    # The context is built once per process, from the environment of the moment: this test changes it.
    transports.tls_context.cache_clear()
    request.addfinalizer(transports.tls_context.cache_clear)
    with TlsServer(cert, key).running() as server:
        url = f"https://127.0.0.1:{server.port}/v1"
        # Eight attempts allowed: a certificate that does not verify must still be tried only once.
        outcome = invoke("plan", str(manifests), env={"BYTENITE_API_URL": url, "BYTENITE_RETRY_ATTEMPTS": "8"})

    assert outcome.exit_code == 1, outcome.describe()
    assert not outcome.crash, outcome.describe()
    if reaches_the_server:
        assert server.requests == [b"POST /v1/auth/access_token HTTP/1.1"], server.requests
        assert "refused" in outcome.stdout + outcome.stderr, outcome.describe()
    else:
        assert server.requests == [], server.requests  # not one byte of a request went out
        assert server.refused_handshakes == 1  # retrying cannot make a certificate trusted
        (line,) = outcome.stderr.strip().splitlines()
        assert line.startswith(f"error: POST {url}/auth/access_token: TLS verification failed"), line


# plan only reads ----------------------------------------------------------------------------------------------------


PENDING = """\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {id: ro-update}
spec: {name: New name, config: {taskTimeout: 900}}
---
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {id: ro-create}
spec: {templateId: img-gen-diffusers, name: To be created}
---
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {id: ro-launch}
spec: {name: Ready, run: true}
---
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {key: ro-replace}
spec: {templateId: img-gen-diffusers, name: A new generation}
"""


def _pending_server_state(root: Path) -> list[dict[str, Any]]:
    """Jobs for each kind of write, created from ``root`` (the folder the test plans)."""
    replaced = markers.generation_id("ro-replace", 0)
    return [
        {"id": "ro-update", "templateId": "t", "name": "Old name", "config": {"taskTimeout": 300}},
        {"id": "ro-launch", "templateId": "t", "name": "Ready"},
        {
            "id": replaced,
            "templateId": "img-gen-diffusers",
            "name": "Started long ago",
            "state": "JOB_STATE_PARTITIONING",
            "description": markers.Marker("key", "ro-replace", 0).line(),
        },
        {
            "id": "ro-orphan",
            "templateId": "t",
            "name": "Nobody claims me",
            "description": markers.Marker("key", "gone", 0, root=str(root)).line(),
        },
    ]


class RecordingTransport(httpx.AsyncBaseTransport):
    """The real transport, recording every request the client sends (the client's side of the story)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, sent: list[tuple[str, str]]) -> None:
        self.inner = inner
        self.sent = sent

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("flags", [[], ["--replace", "--abort-running", "--prune"]], ids=["plain", "lifecycle"])
@pytest.mark.parametrize("output", ["text", "json", "markdown"])
def test_plan_only_reads_even_with_changes_pending(
    flags: list[str],
    output: str,
    *,
    tmp_path: Path,
    invoke: Runner,
    emulator: Control,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "pending"
    folder.mkdir()
    (folder / "jobs.yaml").write_text(PENDING)
    emulator.seed(_pending_server_state(folder))
    emulator.clear_log()
    sent: list[tuple[str, str]] = []
    real = transports.default
    monkeypatch.setattr(transports, "default", lambda *chosen: RecordingTransport(real(*chosen), sent))

    outcome = invoke("plan", str(folder), "--detailed-exitcode", "--format", output, "--out", "plan.json", *flags)

    # Changes are pending (2); without --replace the started job is blocked, which outranks them (3).
    assert outcome.exit_code == (2 if flags else 3), outcome.describe()
    planned = json.loads(Path("plan.json").read_text())
    methods = {call["method"] for job in planned["jobs"] for call in job["calls"]}
    expected = {"PATCH", "POST", "DELETE"} if flags else {"PATCH", "POST"}
    assert methods >= expected, methods  # the plan does propose writes...
    seen = emulator.requests()
    assert seen, "the plan read nothing"
    writes = [
        (r["method"], r["path"]) for r in seen if r["method"] != "GET" and not r["path"].endswith("/access_token")
    ]
    assert writes == [], writes  # ...and not one reached the API
    assert {method for method, path in sent if not path.endswith("/access_token")} == {"GET"}, sent


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("patch", ("job-1", "params", {"app": {}})),
        ("create_job", ({"templateId": "t"},)),
        ("run_job", ("job-1",)),
        ("abort_job", ("job-1",)),
        ("delete_job", ("job-1",)),
    ],
)
def test_a_read_only_client_refuses_writes_before_the_network(call: str, args: tuple[Any, ...]) -> None:
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"token": "t", "expiresIn": "3600", "job": {}})

    config = settings.Settings(api_key=keys.Secret("k"), api_url="https://api.example.invalid/v1")

    async def attempt() -> None:
        async with endpoints.Client(config, transport=httpx.MockTransport(record), read_only=True) as api:
            await getattr(api, call)(*args)

    with pytest.raises(errors.ReadOnlyViolation):
        asyncio.run(attempt())
    # Only the first contact, made when the client opened: the write was refused before the network.
    assert [(request.method, request.url.path) for request in sent] == [("POST", "/v1/auth/access_token")]
