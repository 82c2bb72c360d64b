"""The front of the API routes: faults, latency, the request log. A plain ASGI wrapper, no middleware stack.

Only paths under ``/v1/`` (the API) pass through here; ``/_emulator/`` goes straight to the app, so test
control is never faulted, delayed or logged.

Dropping a connection: uvicorn answers 500 to an app that fails *before* starting a response, but closes
the socket when it fails *after*. So a drop sends a response start (status and a Content-Length promising
a body) and raises :class:`ConnectionDropped`; the client reads the head, then EOF, and httpx raises
``RemoteProtocolError``, a real connection error to retry. ``server.py`` keeps that exception out of logs.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.emulator import observing, wire
from reconciler.emulator.faults import Fault, Faults

API_PREFIX = "/v1/"
_MALFORMED = b'{"job": {"id": "'  # cut off mid-string: no JSON parser accepts it


class ConnectionDropped(Exception):
    """Raised after a response start so that uvicorn closes the connection without a body."""


class Gateway:
    """Wraps the Starlette app; draws a fault per API request before the request is applied."""

    def __init__(self, app: ASGIApp, *, faults: Faults, log: observing.RequestLog) -> None:
        self.app = app
        self.faults = faults
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method: str = scope["method"]
        route = observing.route_of(scope["path"])
        draw = self.faults.draw(is_read=method == "GET", is_write=observing.is_write(method, route))
        status: list[int | None] = [None]
        note: dict[str, Any] | None = {} if self.log.witness and observing.is_write(method, route) else None
        if note is not None:
            scope = {**scope, observing.WITNESS_KEY: note}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            if draw.delay_seconds > 0:
                await asyncio.sleep(draw.delay_seconds)
            await self._answer(draw.fault, draw.retry_after, scope, receive, recording_send)
        finally:
            entry: dict[str, Any] = {
                "method": method,
                "path": scope["path"],
                "query": scope["query_string"].decode("latin-1"),
                "route": route,
                "status": None if draw.fault in (Fault.DROP, Fault.DROP_AFTER_WRITE) else status[0],
                "latencyMs": round((time.perf_counter() - started) * 1000.0, 3),
                "fault": None if draw.fault is None else draw.fault.value,
            }
            if note is not None:
                entry["witness"] = note or None  # None: the write never reached a handler (a fault, a bad body)
            self.log.record(entry, route=route)

    async def _answer(self, fault: Fault | None, retry_after: int, scope: Scope, receive: Receive, send: Send) -> None:
        if fault is None:
            await self.app(scope, receive, send)
        elif fault is Fault.THROTTLED:
            # Rate limits are undocumented; answer like a gateway would: 429, rpcStatus code 8, Retry-After.
            body = wire.rpc_status(8, "rate limit exceeded")
            await _send_json(send, 429, body, extra=[(b"retry-after", str(retry_after).encode())])
        elif fault in (Fault.UNAVAILABLE, Fault.INTERNAL):
            status = int(fault.value)
            code, message = (14, "service unavailable") if status == 503 else (13, "internal error")
            await _send_json(send, status, wire.rpc_status(code, message))
        elif fault is Fault.MALFORMED:
            await _send_raw(send, 200, _MALFORMED)
        elif fault is Fault.DROP:
            await _drop(send)
        else:  # DROP_AFTER_WRITE: the write is applied, its answer is lost
            await self.app(scope, receive, _swallow)
            await _drop(send)


async def _swallow(message: Message) -> None:
    """A ``send`` that discards the app's answer (the connection will be dropped instead)."""


async def _drop(send: Send) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"1024")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    raise ConnectionDropped


async def _send_json(
    send: Send, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    await _send_raw(send, status, json.dumps(body).encode(), extra)


async def _send_raw(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
