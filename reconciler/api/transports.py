"""The HTTP engine under httpx: its own transport, or the aiohttp one, both verifying TLS through one context.

httpx's async pool slows down as concurrency grows (several times slower at 16 in flight, encode/httpx#3215),
while the aiohttp transport costs about 0.1 s to import: a run of a few requests is quicker on httpx's own,
a large one on aiohttp (see the shared measurements and the README's Performance section).
"""

from __future__ import annotations

import functools
import ssl

import httpx


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
