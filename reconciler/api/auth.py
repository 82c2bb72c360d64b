"""The API key for a token, and the token on every request: an ``httpx.Auth`` flow.

``POST {root}/auth/access_token`` is the one call that carries the key. There is no refresh call: the key is
exchanged once per run, again shortly before the token expires (it lives an hour) and again once on a 401,
after which the answer is trusted. Every customer call sends the token raw in ``Authorization`` (no
``Bearer``), as ByteNite's own examples do. The key and every token obtained are secrets: the token joins the
client's set of values scrubbed from every message, and no error here quotes either.

The flow runs inside the request's exchange (:func:`receiving.receive`), so an exchange of the key that a
request needs, and its sending again after a 401, share that request's ``--request-timeout``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Final

import httpx

from reconciler import errors, settings
from reconciler.api import answers, counters, receiving, statuses

log = logging.getLogger(__name__)

TOKEN_MARGIN: Final = 60.0  # exchange again this long before the token's announced expiry


@dataclass
class Token:
    """An access token and when to exchange the key again; shared by the clients of one run.

    ``plan`` reads through a read-only client and ``apply`` writes through another: sharing the token keeps
    the promise of one exchange per run (and saves a round trip).
    """

    value: str | None = None
    expires: float = 0.0


class TokenAuth(httpx.Auth):
    """The token each API request carries, exchanged for the key when there is none fit to send.

    Every request it signs is counted as it leaves (a read or a write), the one sent again after a 401 too;
    ``pace`` is awaited before that second send, the first having been paced by the caller before its
    deadline began. The exchange itself goes out through ``http`` without this auth.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        config: settings.Settings,
        *,
        token: Token,
        secrets: set[str],
        counted: counters.Counters,
        pace: Callable[[], Awaitable[None]],
    ) -> None:
        self._http = http
        self._config = config
        self._token = token
        self._secrets = secrets
        self._counted = counted
        self._pace = pace
        self._lock = asyncio.Lock()  # concurrent requests that find the token stale wait for one exchange

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        response = yield self._signed(request, token)
        if response.status_code != 401:
            return
        # The token may have expired under us: exchange the key once more, then trust the answer.
        log.debug("%s %s -> 401: the key is exchanged again", request.method, request.url.path)
        receiving.discard(response, self._config.max_response_bytes)
        token = await self.token(stale=token)
        await self._pace()
        yield self._signed(request, token)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Refused: the exchange is a request of the async client, and a request without a token only meets 401."""
        raise TypeError("TokenAuth signs the requests of an httpx.AsyncClient only")

    def _signed(self, request: httpx.Request, token: str) -> httpx.Request:
        request.headers["Authorization"] = token
        if request.method == "GET":
            self._counted.reads += 1
        else:
            self._counted.writes += 1
        return request

    async def token(self, *, stale: str | None = None) -> str:
        """The current token; a new one when there is none yet, it is about to expire, or it is ``stale`` (the
        one a 401 just refused; a request that finds it already replaced uses the replacement)."""
        async with self._lock:
            token = self._token
            if token.value is None or time.monotonic() >= token.expires or token.value == stale:
                token.value, lifetime = await self._exchange()
                token.expires = time.monotonic() + max(lifetime - TOKEN_MARGIN, lifetime / 2)
            self._secrets.add(token.value)
            return token.value

    async def _exchange(self) -> tuple[str, float]:
        """``POST /auth/access_token``: the key for a one-hour token.

        Only the documented answer is a token: a 404, a page or a body without one is a wrong address, said
        with the URL; 429 and 5xx are retried like any call.
        """
        self._counted.token_exchanges += 1
        config = self._config
        url = config.auth_root + "/access_token"
        body = json.dumps({"apiKey": config.api_key.reveal()}).encode()
        try:
            response = await receiving.receive(
                self._http,
                "POST",
                url,
                deadline=config.request_timeout,
                cap=config.max_response_bytes,
                content=body,
                headers={"Content-Type": "application/json"},
            )
        except httpx.TransportError as failure:
            what = f"POST {url}"
            raise statuses.unreachable(failure, call=what, address=what, secrets=self._secrets) from None
        log.debug("POST /access_token -> %s", response.status_code)
        return self._read(response, url)

    def _read(self, response: httpx.Response, url: str) -> tuple[str, float]:
        """The token and its lifetime in an exchange's answer, or the error the answer means."""
        status = response.status_code
        if status in (401, 403):
            raise errors.AuthError("the API key was refused", status=status)
        if status in statuses.TRANSIENT_STATUSES:
            raise statuses.error(response, "/access_token", self._secrets)
        if not response.is_success:
            detail = statuses.what_came_back(response, self._secrets)
            raise errors.EndpointError(
                f"{detail}: this is not the API's token exchange; {statuses.HINT_URL}; {statuses.HINT_PROXY}"
            )
        answer = statuses.decode(response, "/access_token", self._secrets)
        try:
            return answers.token(answer, where=f"POST {url}")
        except errors.BadAnswer as error:
            raise errors.EndpointError(f"{error.message}; {statuses.HINT_URL}") from None
