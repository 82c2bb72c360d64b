"""The ByteNite API over HTTP: one method per endpoint, statuses mapped onto the error tree.

All I/O of the API side happens here, over an httpx client whose transport is injected (tests may use
httpx's default; runs use the aiohttp transport, several times faster under concurrency). The token is
exchanged once per run, again shortly before it expires and again once on a 401. A read-only client, the
one ``plan`` uses, refuses every write before it reaches the network.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final
from urllib.parse import quote

import httpx
import stamina

from reconciler import errors, pausing, receiving, redaction, retrying, settings

log = logging.getLogger(__name__)

TRANSIENT_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
TOKEN_MARGIN: Final = 60.0  # exchange again this long before the token's announced expiry
GRPC_FAILED_PRECONDITION: Final = 9
GRPC_NOT_FOUND: Final = 5
PAGE_LIMIT: Final = 100


@dataclass
class Counters:
    """Requests sent, by kind: every run reports them."""

    reads: int = 0
    writes: int = 0
    retries: int = 0
    token_exchanges: int = 0


@dataclass
class Token:
    """An access token and when to exchange the key again; shared by the clients of one run.

    ``plan`` reads through a read-only client and ``apply`` writes through another: sharing the token keeps
    the promise of one exchange per run (and saves a round trip).
    """

    value: str | None = None
    expires: float = 0.0


def default_transport(concurrency: int) -> httpx.AsyncBaseTransport:
    return AdaptiveTransport(concurrency)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context, built once per process: loading the CA bundle costs about 20 ms, and an
    apply opens two clients (the plan's and its own)."""
    return httpx.create_ssl_context()


class AdaptiveTransport(httpx.AsyncBaseTransport):
    """httpx's own transport for a run's first requests, the aiohttp one once the run proves large.

    httpx's async pool slows down as concurrency grows (several times slower at 16 in flight), while the
    aiohttp transport costs about 0.2 s to import. Most plans read a few pages; an apply of hundreds of
    calls switches after ``switch_after`` requests. Both verify TLS through one context.
    """

    def __init__(self, concurrency: int, *, switch_after: int = 64) -> None:
        self.ssl_context = tls_context()
        self.limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.switch_after = switch_after
        self._small = httpx.AsyncHTTPTransport(verify=self.ssl_context, limits=self.limits)
        self._large: httpx.AsyncBaseTransport | None = None
        self._sent = 0

    def expect(self, requests: int) -> None:
        """A run that knows it is large (an apply of many calls, many pages) moves to aiohttp at once."""
        if self._sent + requests > self.switch_after:
            self.switch_after = 0

    @property
    def engine(self) -> str:
        """Which transport the next request goes through: ``httpx`` or ``aiohttp``."""
        return "aiohttp" if self._large is not None or self._sent >= self.switch_after else "httpx"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._sent += 1
        if self._large is None and self._sent > self.switch_after:
            from httpx_aiohttp import AiohttpTransport

            self._large = AiohttpTransport(verify=self.ssl_context, limits=self.limits)
        return await (self._large or self._small).handle_async_request(request)

    async def aclose(self) -> None:
        await self._small.aclose()
        if self._large is not None:
            await self._large.aclose()


class Client:
    """An async client of the jobs API; use as ``async with Client(settings) as client``."""

    def __init__(
        self,
        config: settings.Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        read_only: bool = False,
        token: Token | None = None,
        expected_requests: int = 0,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self.config = config
        self.stopping = stopping  # once set, no attempt starts and a backoff sleep ends
        self.read_only = read_only
        self.counters = Counters()
        self.secrets: set[str] = {config.api_key.reveal()}
        self._transport = transport
        self._expected = expected_requests
        self._http: httpx.AsyncClient | None = None
        self._token = token or Token()
        self._token_lock = asyncio.Lock()
        self._limiter: Any = None
        if config.rate_limit:
            from aiolimiter import AsyncLimiter

            self._limiter = AsyncLimiter(config.rate_limit, 1.0)

    async def __aenter__(self) -> Client:
        if not self.config.api_key:
            raise errors.ConfigError("no API key: set BYTENITE_API_KEY or pass --api-key-file")
        timeout = httpx.Timeout(self.config.read_timeout, connect=self.config.connect_timeout)
        self._transport = self._transport or default_transport(self.config.concurrency)
        self._http = httpx.AsyncClient(transport=self._transport, timeout=timeout, follow_redirects=False)
        self.expect(self._expected)
        return self

    def expect(self, requests: int) -> None:
        """``requests`` more are coming (the pages left to read, say): the transport picks its engine for them
        now, rather than switching in the middle of a burst."""
        if isinstance(self._transport, AdaptiveTransport):
            self._transport.expect(requests)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._http is not None:
            await self._http.aclose()

    # The endpoints ------------------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> dict[str, Any]:
        answer = await self._call("GET", f"/jobs/{quote(job_id, safe='')}")
        return dict(answer.get("job") or {})

    async def list_jobs(self, *, limit: int = PAGE_LIMIT, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """One page of ``GET /jobs``: its jobs and the total count the server reports."""
        params = {"pagination.limit": str(limit), "pagination.offset": str(offset)}
        answer = await self._call("GET", "/jobs", params=params)
        total = int((answer.get("pagination") or {}).get("total") or 0)
        return list(answer.get("data") or []), total

    async def patch(self, job_id: str, section: str, body: Any) -> dict[str, Any]:
        """``PATCH /jobs/{id}/{section}``; returns the job as the server now has it."""
        self._remember(body)
        answer = await self._call("PATCH", f"/jobs/{quote(job_id, safe='')}/{section}", body=body)
        return dict(answer.get("job") or {})

    async def create_job(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self._remember(body)
        answer = await self._call("POST", "/jobs", body=dict(body))
        return dict(answer.get("job") or {})

    async def run_job(self, job_id: str, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = {"config": dict(config)} if config else {}
        return await self._call("POST", f"/jobs/{quote(job_id, safe='')}/run", body=body)

    async def abort_job(self, job_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/jobs/{quote(job_id, safe='')}/abort", body={})

    async def delete_job(self, job_id: str) -> dict[str, Any]:
        return await self._call("DELETE", f"/jobs/{quote(job_id, safe='')}")

    # The machinery ------------------------------------------------------------------------------------

    def _remember(self, body: Any) -> None:
        """Credentials a body carries (the server's own, re-sent in a whole section) are scrubbed from errors."""
        if isinstance(body, dict):
            for key, value in body.items():
                if redaction.is_credential(key) and isinstance(value, str):
                    self.secrets.add(value)
                else:
                    self._remember(value)
        elif isinstance(body, list):
            for item in body:
                self._remember(item)

    async def _call(
        self, method: str, path: str, *, body: Any = None, params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        if self.read_only and method != "GET":
            raise errors.ReadOnlyViolation(f"{method} {path} refused: this client only reads")
        policy = self.config.retry
        retries = pausing.Retries(retrying.Hook(policy), self.stopping)
        try:
            async for attempt in stamina.retry_context(
                on=retries,
                attempts=policy.attempts,
                timeout=policy.budget,
                wait_initial=policy.initial,
                wait_max=policy.cap,
                wait_jitter=policy.jitter,
            ):
                with attempt:
                    retries.starting(method, path)
                    return await self._send(method, path, body, params)
        except asyncio.CancelledError:
            if retries.pause.cut_short():  # the run stopped during a backoff sleep
                raise retries.stopped(method, path) from None
            raise
        except errors.TransientError:
            if retries.refused:
                raise retries.stopped(method, path) from None
            raise
        finally:
            retries.pause.awake()
            self.counters.retries += retries.hook.retries
        raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover

    async def _send(self, method: str, path: str, body: Any, params: Mapping[str, str] | None) -> dict[str, Any]:
        token = await self._current_token()
        response = await self._request(method, path, body, params, token)
        if response.status_code == 401:
            # The token may have expired under us: exchange the key once more, then trust the answer.
            token = await self._current_token(stale=token)
            response = await self._request(method, path, body, params, token)
        return self._decode(response)

    async def _request(
        self, method: str, path: str, body: Any, params: Mapping[str, str] | None, token: str
    ) -> httpx.Response:
        assert self._http is not None, "use the client as an async context manager"
        if self._limiter is not None:
            await self._limiter.acquire()
        if method == "GET":
            self.counters.reads += 1
        else:
            self.counters.writes += 1
        content = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": token, "Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            response = await self._receive(
                method, self.config.jobs_root + path, content=content, params=params, headers=headers
            )
        except httpx.TransportError as error:
            reason = _transport_reason(error, self.secrets)
            log.debug("%s %s failed: %s", method, path, reason)
            raise errors.TransientError(f"{method} {path}: {reason}") from None
        log.debug("%s %s -> %s in %.0f ms", method, path, response.status_code, 1000 * (time.perf_counter() - started))
        return response

    async def _receive(self, method: str, url: str, **request: Any) -> httpx.Response:
        """The answer, read whole within ``--request-timeout`` and the size cap (see :mod:`reconciler.receiving`)."""
        assert self._http is not None, "use the client as an async context manager"
        config = self.config
        return await receiving.receive(
            self._http, method, url, deadline=config.request_timeout, cap=config.max_response_bytes, **request
        )

    def _decode(self, response: httpx.Response) -> dict[str, Any]:
        if response.is_success:
            try:
                answer = response.json()
            except ValueError:
                raise errors.TransientError(
                    "the server sent a malformed JSON body", status=response.status_code
                ) from None
            if not isinstance(answer, dict):
                raise errors.TransientError("the server sent a body that is not a JSON object")
            return answer
        raise self._error(response)

    def _error(self, response: httpx.Response) -> errors.ApiError:
        status = response.status_code
        code, message = _status_of(response)
        message = redaction.scrub(message, self.secrets)
        if status == 429:
            return errors.RateLimited(message, retry_after=retrying.retry_after(response.headers.get("Retry-After")))
        if status in TRANSIENT_STATUSES:
            return errors.TransientError(message, status=status, code=code)
        if status in (401, 403):
            return errors.AuthError(message or "the API refused the credentials", status=status, code=code)
        if status == 404 or code == GRPC_NOT_FOUND:
            return errors.NotFound(message, status=status, code=code)
        if code == GRPC_FAILED_PRECONDITION:
            return errors.FailedPrecondition(message, status=status, code=code)
        if 400 <= status < 500:
            return errors.BadRequest(message, status=status, code=code)
        return errors.ApiError(message, status=status, code=code)

    async def _current_token(self, *, stale: str | None = None) -> str:
        async with self._token_lock:
            token = self._token
            if token.value is None or time.monotonic() >= token.expires or token.value == stale:
                token.value, lifetime = await self._exchange()
                token.expires = time.monotonic() + max(lifetime - TOKEN_MARGIN, lifetime / 2)
            self.secrets.add(token.value)
            return token.value

    async def _exchange(self) -> tuple[str, float]:
        """``POST /auth/access_token``: the key for a one-hour token; there is no refresh call."""
        assert self._http is not None
        self.counters.token_exchanges += 1
        body = json.dumps({"apiKey": self.config.api_key.reveal()}).encode()
        try:
            response = await self._receive(
                "POST",
                self.config.auth_root + "/access_token",
                content=body,
                headers={"Content-Type": "application/json"},
            )
        except httpx.TransportError as error:
            raise errors.TransientError(f"token exchange: {_transport_reason(error, self.secrets)}") from None
        log.debug("POST /access_token -> %s", response.status_code)
        if response.status_code in (401, 403):
            raise errors.AuthError("the API key was refused", status=response.status_code)
        answer = self._decode(response)
        token = str(answer.get("token") or "")
        if not token:
            raise errors.AuthError("the token exchange returned no token", status=response.status_code)
        return token, float(answer.get("expiresIn") or 3600)


def _transport_reason(error: httpx.TransportError, secrets: set[str]) -> str:
    """What went wrong below HTTP, in words: a refused connection, a failed TLS check, a dropped answer."""
    detail = str(error) or str(error.__cause__ or "")
    if "CERTIFICATE_VERIFY_FAILED" in detail or "certificate" in detail.lower():
        return f"TLS verification failed ({redaction.scrub(detail, secrets, 160)})"
    return f"{type(error).__name__}: {redaction.scrub(detail, secrets, 160)}" if detail else type(error).__name__


def _status_of(response: httpx.Response) -> tuple[int | None, str]:
    """The gRPC code and message of an rpcStatus body, or what can be said of any other body."""
    try:
        body = response.json()
    except ValueError:
        return None, response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        code = body.get("code")
        message = body.get("message") or (body.get("error") or {}).get("message") or ""
        return (code if isinstance(code, int) else None), str(message)
    return None, f"HTTP {response.status_code}"
