"""The jobs API, one method per endpoint, over an httpx client whose transport may be injected.

Each method is the start of a request's path through :mod:`reconciler.api` (retries, the token, one bounded
exchange, the status, the body's check). A read-only client, the one ``plan`` uses, refuses every write before
it reaches the network.

First contact is checked when the client opens, before any job is judged: an address that does not answer
the token exchange as the API does (a URL without ``/v1``, a proxy's login page) ends the run with an
:class:`errors.EndpointError` naming the URL and what to check.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Final, TypeVar
from urllib.parse import quote

import httpx

from reconciler import errors, settings
from reconciler.api import answers, auth, counters, receiving, retrying, statuses, transports
from reconciler.planning import redaction

log = logging.getLogger(__name__)

PAGE_LIMIT: Final = 100
Result = TypeVar("Result")


class Client:
    """An async client of the jobs API; use as ``async with Client(settings) as client``.

    ``expected_requests`` is how many requests the caller expects to send (the pages of a plan, the calls of
    an apply): the client's HTTP engine is chosen from it once, when it opens (see
    :mod:`reconciler.api.transports`), unless a ``transport`` is injected.
    """

    def __init__(
        self,
        config: settings.Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        read_only: bool = False,
        token: auth.Token | None = None,
        expected_requests: int = 0,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self.config = config
        self.stopping = stopping  # once set, no attempt starts and a backoff sleep ends
        self.read_only = read_only
        self.counters = counters.Counters()
        self.secrets: set[str] = {config.api_key.reveal()}
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._token = token or auth.Token()
        # The first contact exchanges the key unless the run already holds a token: one request more.
        self._expected = expected_requests + (0 if self._token.value else 1)
        self._auth: auth.TokenAuth | None = None
        self._limiter: Any = None
        if config.rate_limit:
            from aiolimiter import AsyncLimiter

            self._limiter = AsyncLimiter(config.rate_limit, 1.0)

    async def __aenter__(self) -> Client:
        if not self.config.api_key:
            raise errors.ConfigError(f"no API key: set {self.config.key_variable} or pass --api-key-file")
        timeout = httpx.Timeout(self.config.read_timeout, connect=self.config.connect_timeout)
        self._transport = self._transport or transports.default(self.config.concurrency, self._expected)
        self._http = httpx.AsyncClient(transport=self._transport, timeout=timeout, follow_redirects=False)
        self._auth = auth.TokenAuth(
            self._http, self.config, token=self._token, secrets=self.secrets, counted=self.counters, pace=self._pace
        )
        try:
            await self._first_contact(self._auth)
        except BaseException:
            await self._http.aclose()
            raise
        return self

    async def _first_contact(self, tokens: auth.TokenAuth) -> None:
        """The token exchange, once, before any job is read: what answers must be the API.

        A failure that survives the retries ends the run here, naming the URL, rather than failing every job
        one by one (or, worse, making every job look missing).
        """
        try:
            await self._retrying(tokens.token, "POST", "/access_token")
        except errors.NotJson as error:
            hint = f"{statuses.HINT_PROXY}; {statuses.HINT_URL}"
            raise errors.EndpointError(f"{error.detail}: this is not the API; {hint}") from None
        except errors.TransientError as error:
            if error.status is not None:
                raise  # the API answered, busy: the address is right, and the error says what it said
            raise errors.EndpointError(f"cannot reach the API: {error.message}; {statuses.HINT_URL}") from None

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
            hint = statuses.HINT_URL if path == "/jobs" else f"{statuses.HINT_URL}; {statuses.HINT_PREFIX}"
            raise errors.EndpointError(f"{error.detail}: this is not the API; {statuses.HINT_PROXY}; {hint}") from None

    async def _retrying(self, operation: Callable[[], Awaitable[Result]], method: str, path: str) -> Result:
        return await retrying.call(
            operation, policy=self.config.retry, counted=self.counters, stopping=self.stopping, method=method, path=path
        )

    async def _send(self, method: str, path: str, body: Any, params: Mapping[str, str] | None) -> dict[str, Any]:
        """One attempt: the request signed by the token flow (which counts it, and sends it again once on a
        401), its answer read whole and mapped onto the error tree."""
        assert self._http is not None, "use the client as an async context manager"
        await self._pace()
        content = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        url = self.config.jobs_root + path
        config = self.config
        try:
            response = await receiving.receive(
                self._http,
                method,
                url,
                deadline=config.request_timeout,
                cap=config.max_response_bytes,
                content=content,
                params=params,
                headers=headers,
                auth=self._auth,
            )
        except httpx.TransportError as failure:
            call, address = f"{method} {path}", f"{method} {url}"
            error = statuses.unreachable(failure, call=call, address=address, secrets=self.secrets)
            log.debug("%s", error)
            raise error from None
        log.debug("%s %s -> %s in %.0f ms", method, path, response.status_code, 1000 * (time.perf_counter() - started))
        return statuses.decode(response, path, self.secrets)

    async def _pace(self) -> None:
        """``--rate-limit``: a request waits its turn before it is sent, outside its ``--request-timeout``."""
        if self._limiter is not None:
            await self._limiter.acquire()
