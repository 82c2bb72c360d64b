"""The HTTP engine under httpx: its own transport, or the aiohttp one, chosen once per client.

httpx's async pool slows down as concurrency grows (several times slower at 16 in flight, encode/httpx#3215),
while the aiohttp transport costs about 0.1 s to import: a run of a few requests is quicker on httpx's own, a
large one on aiohttp (see the README's Performance section). A client is told how many requests its run
expects when it is built, and keeps the engine that count picks: switching in the middle of a burst stalled
every request in flight while aiohttp was imported. Both engines verify TLS through one context.
"""

from __future__ import annotations

import functools
import ssl
from typing import Final, Literal

import httpx

Engine = Literal["httpx", "aiohttp"]
LARGE: Final = 64  # past this many requests, aiohttp's speed repays its import


def engine_for(expected_requests: int) -> Engine:
    return "aiohttp" if expected_requests > LARGE else "httpx"


def default(concurrency: int, expected_requests: int) -> Transport:
    """The transport of a client that will send about ``expected_requests`` requests, ``concurrency`` at a time."""
    return Transport(concurrency, engine=engine_for(expected_requests))


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context, built once per process: loading the CA bundle costs about 20 ms, and an
    apply opens two clients (the plan's and its own)."""
    return httpx.create_ssl_context()


class Transport(httpx.AsyncBaseTransport):
    """One engine for the client's whole life, with a pool as wide as the run's concurrency.

    aiohttp is imported only when chosen: most plans never pay for it.
    """

    def __init__(self, concurrency: int, *, engine: Engine = "httpx") -> None:
        self.engine = engine
        self.ssl_context = tls_context()
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._engine: httpx.AsyncBaseTransport
        if engine == "aiohttp":
            from httpx_aiohttp import AiohttpTransport

            self._engine = AiohttpTransport(verify=self.ssl_context, limits=limits)
        else:
            self._engine = httpx.AsyncHTTPTransport(verify=self.ssl_context, limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._engine.handle_async_request(request)

    async def aclose(self) -> None:
        await self._engine.aclose()
