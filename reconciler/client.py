"""The ByteNite API over HTTP: one method per endpoint, statuses mapped onto the error tree.

All I/O of the API side happens here, over an httpx client whose transport is injected (tests may use
httpx's default; runs use the aiohttp transport, several times faster under concurrency). The token is
exchanged once per run, again shortly before it expires and again once on a 401. A read-only client, the
one ``plan`` uses, refuses every write before it reaches the network.

First contact is checked when the client opens, before any job is judged: an address that does not answer
the token exchange as the API does (a URL without ``/v1``, a proxy's login page) ends the run with an
:class:`errors.EndpointError` naming the URL and what to check. After it, a job is missing only when the API
says so (a 404 carrying its rpcStatus of code 5 on the job's path); any other 404 is the same kind of error,
so no plan proposes a create from a wrong address. Every 2xx body is checked by :mod:`reconciler.api.answers`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, TypeVar
from urllib.parse import quote

import httpx
import stamina

from reconciler import errors, redaction, settings
from reconciler.api import answers, pausing, receiving, retrying

log = logging.getLogger(__name__)

TRANSIENT_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
TOKEN_MARGIN: Final = 60.0  # exchange again this long before the token's announced expiry
GRPC_FAILED_PRECONDITION: Final = 9
GRPC_NOT_FOUND: Final = 5
PAGE_LIMIT: Final = 100
SHOWN_BODY: Final = 80  # characters of a non-JSON body quoted in an error, after scrubbing
JOB_PATH: Final = re.compile(r"^/jobs/[^/]+(/[a-z]+)?$")
LONE_SURROGATE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
HINT_URL: Final = "BYTENITE_API_URL must be the API root, ending in /v1 (https://api.bytenite.com/v1)"
HINT_PREFIX: Final = "the jobs prefix is /customer (BYTENITE_JOBS_PREFIX)"
HINT_PROXY: Final = "a proxy or login page may be answering in the API's place"
Result = TypeVar("Result")


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
            raise errors.ConfigError(f"no API key: set {self.config.key_variable} or pass --api-key-file")
        timeout = httpx.Timeout(self.config.read_timeout, connect=self.config.connect_timeout)
        self._transport = self._transport or default_transport(self.config.concurrency)
        self._http = httpx.AsyncClient(transport=self._transport, timeout=timeout, follow_redirects=False)
        self.expect(self._expected)
        try:
            await self._first_contact()
        except BaseException:
            await self._http.aclose()
            raise
        return self

    async def _first_contact(self) -> None:
        """The token exchange, once, before any job is read: what answers must be the API.

        A failure that survives the retries ends the run here, naming the URL, rather than failing every job
        one by one (or, worse, making every job look missing).
        """
        try:
            await self._retrying(self._current_token, "POST", "/access_token")
        except errors.NotJson as error:
            raise errors.EndpointError(f"{error.detail}: this is not the API; {HINT_PROXY}; {HINT_URL}") from None
        except errors.TransientError as error:
            if error.status is not None:
                raise  # the API answered, busy: the address is right, and the error says what it said
            raise errors.EndpointError(f"cannot reach the API: {error.message}; {HINT_URL}") from None

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
        """The job, which must be the one asked for: trusting another id would aim the writes at it."""
        path = f"/jobs/{quote(job_id, safe='')}"
        return answers.job(await self._call("GET", path), asked=job_id, where=f"GET {path}")

    async def list_jobs(self, *, limit: int = PAGE_LIMIT, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """One page of ``GET /jobs``: its jobs and the total count the server reports."""
        params = {"pagination.limit": str(limit), "pagination.offset": str(offset)}
        return answers.page(await self._call("GET", "/jobs", params=params), where="GET /jobs")

    async def patch(self, job_id: str, section: str, body: Any) -> dict[str, Any]:
        """``PATCH /jobs/{id}/{section}``; returns the job as the server now has it."""
        self._remember(body)
        path = f"/jobs/{quote(job_id, safe='')}/{section}"
        return answers.job(await self._call("PATCH", path, body=body), asked=job_id, where=f"PATCH {path}")

    async def create_job(self, body: Mapping[str, Any]) -> dict[str, Any]:
        self._remember(body)
        answer = await self._call("POST", "/jobs", body=dict(body))
        return answers.job(answer, asked=body.get("jobId") or None, where="POST /jobs")

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
        self.secrets.update(redaction.credential_values(body))

    async def _call(
        self, method: str, path: str, *, body: Any = None, params: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        if self.read_only and method != "GET":
            raise errors.ReadOnlyViolation(f"{method} {path} refused: this client only reads")
        try:
            return await self._retrying(lambda: self._send(method, path, body, params), method, path)
        except errors.NotJson as error:
            hint = HINT_URL if path == "/jobs" else f"{HINT_URL}; {HINT_PREFIX}"
            raise errors.EndpointError(f"{error.detail}: this is not the API; {HINT_PROXY}; {hint}") from None

    async def _retrying(self, operation: Callable[[], Awaitable[Result]], method: str, path: str) -> Result:
        """``operation`` under the run's retry policy (stamina: backoff with jitter, attempts, a budget), which a
        stopping run cuts short (see :mod:`reconciler.api.pausing`)."""
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
                    return await operation()
        except asyncio.CancelledError:
            if retries.pause.cut_short():  # the run stopped during a backoff sleep
                raise retries.stopped(method, path) from None
            raise
        except errors.TransientError:
            if retries.refused:
                raise retries.stopped(method, path) from None
            raise
        except errors.ApiError as error:
            error.attempts = retries.hook.retries + 1
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
        return self._decode(response, path)

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
            _refuse_unverified(error, reason, f"{method} {self.config.jobs_root + path}")
            raise errors.TransientError(f"{method} {path}: {reason}") from None
        log.debug("%s %s -> %s in %.0f ms", method, path, response.status_code, 1000 * (time.perf_counter() - started))
        return response

    async def _receive(self, method: str, url: str, **request: Any) -> httpx.Response:
        """The answer, read whole within ``--request-timeout`` and the size cap (:mod:`reconciler.api.receiving`)."""
        assert self._http is not None, "use the client as an async context manager"
        config = self.config
        return await receiving.receive(
            self._http, method, url, deadline=config.request_timeout, cap=config.max_response_bytes, **request
        )

    def _decode(self, response: httpx.Response, path: str) -> dict[str, Any]:
        if not response.is_success:
            raise self._error(response, path)
        if not _is_json(response):
            detail = _what_came_back(response, self.secrets)
            status = response.status_code
            raise errors.NotJson("the server answered with a page, not JSON", status=status, detail=detail)
        try:
            answer = response.json()
        except ValueError:
            raise errors.TransientError("the server sent a malformed JSON body", status=response.status_code) from None
        if not isinstance(answer, dict):
            raise errors.TransientError("the server sent a body that is not a JSON object", status=response.status_code)
        if LONE_SURROGATE.search(response.content):
            cleaned: dict[str, Any] = _without_lone_surrogates(answer)
            return cleaned
        return answer

    def _error(self, response: httpx.Response, path: str) -> errors.ApiError:
        """The error a failed answer means; a 404 that is not the API's own raises :class:`errors.EndpointError`
        instead, since it is no error of this call but of the address every call goes to."""
        status = response.status_code
        code, message = _status_of(response)
        message = redaction.scrub(message, self.secrets)
        if status == 429:
            return errors.RateLimited(message, retry_after=retrying.retry_after(response.headers.get("Retry-After")))
        if status in TRANSIENT_STATUSES:
            wait = retrying.retry_after(response.headers.get("Retry-After"))
            return errors.TransientError(message, status=status, code=code, retry_after=wait)
        if status in (401, 403):
            return errors.AuthError(message or "the API refused the credentials", status=status, code=code)
        if status == 404:
            if code == GRPC_NOT_FOUND and JOB_PATH.match(path):
                return errors.NotFound(message, status=status, code=code)
            # Not the API's "no such job": a wrong prefix or address. Judging jobs by it would plan creates.
            detail = _what_came_back(response, self.secrets)
            raise errors.EndpointError(f"{detail}: this path is not served; {HINT_PREFIX}; {HINT_URL}")
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

    @property
    def _exchange_url(self) -> str:
        return self.config.auth_root + "/access_token"

    async def _exchange(self) -> tuple[str, float]:
        """``POST /auth/access_token``: the key for a one-hour token; there is no refresh call.

        Only the documented answer is a token: a 404, a page or a body without one is a wrong address, said
        with the URL; 429 and 5xx are retried like any call.
        """
        assert self._http is not None
        self.counters.token_exchanges += 1
        url = self._exchange_url
        body = json.dumps({"apiKey": self.config.api_key.reveal()}).encode()
        try:
            response = await self._receive("POST", url, content=body, headers={"Content-Type": "application/json"})
        except httpx.TransportError as error:
            reason = _transport_reason(error, self.secrets)
            _refuse_unverified(error, reason, f"POST {url}")
            raise errors.TransientError(f"POST {url}: {reason}") from None
        log.debug("POST /access_token -> %s", response.status_code)
        status = response.status_code
        if status in (401, 403):
            raise errors.AuthError("the API key was refused", status=status)
        if status in TRANSIENT_STATUSES:
            raise self._error(response, "/access_token")
        if not response.is_success:
            detail = _what_came_back(response, self.secrets)
            raise errors.EndpointError(f"{detail}: this is not the API's token exchange; {HINT_URL}; {HINT_PROXY}")
        answer = self._decode(response, "/access_token")
        try:
            return answers.token(answer, where=f"POST {url}")
        except errors.BadAnswer as error:
            raise errors.EndpointError(f"{error.message}; {HINT_URL}") from None


def _is_json(response: httpx.Response) -> bool:
    """A JSON content type, or none at all (the body then decides); anything else is a page, not the API."""
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return not media or media == "application/json" or media.endswith("+json")


def _what_came_back(response: httpx.Response, secrets: set[str]) -> str:
    """``METHOD URL answered STATUS TYPE ("first bytes")``: enough to tell a login page from a wrong path."""
    request = response.request
    url = str(request.url.copy_with(query=None))
    kind = response.headers.get("content-type", "").split(";", 1)[0].strip() or "no content type"
    text = " ".join(response.content[: SHOWN_BODY * 4].decode("utf-8", "replace").split())
    shown = redaction.scrub(text, secrets, SHOWN_BODY)
    quoted = f' ("{shown}")' if shown else ""
    return f"{request.method} {url} answered {response.status_code} {kind}{quoted}"


def _refuse_unverified(error: httpx.TransportError, reason: str, what: str) -> None:
    """A certificate that does not verify is no passing fault: retrying cannot fix it, so the run ends."""
    if reason.startswith("TLS verification failed"):
        raise errors.EndpointError(
            f"{what}: {reason}; the server's certificate is not trusted for this address: {HINT_URL}"
        ) from None


def _without_lone_surrogates(value: Any) -> Any:
    """``"\\ud800"`` decodes to a string no terminal or file can encode: each lone half becomes U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_without_lone_surrogates(key): _without_lone_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    return value


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
    if not isinstance(body, dict):
        return None, f"HTTP {response.status_code}"
    code = body.get("code")
    message = body.get("message")
    nested = body.get("error")
    if not isinstance(message, str) and isinstance(nested, dict):
        message = nested.get("message")
    if not isinstance(message, str):
        message = response.reason_phrase or ""
    return (code if isinstance(code, int) and not isinstance(code, bool) else None), message
