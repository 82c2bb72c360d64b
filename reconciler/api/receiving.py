"""One HTTP exchange, bounded in time and in size: what the server sends is never trusted to end or to be small.

httpx's read timeout is per read, so a server that trickles one byte a second never trips it: the whole
exchange (sending, the status line, every byte of the body) runs under one deadline instead. The body is read
as a stream and counted *after* decoding, so a small gzip answer that inflates to a gigabyte is stopped at the
cap too. Both engines of :mod:`reconciler.api.transports` hand httpx the raw bytes (the aiohttp one with its own
decompression off), so httpx's decoder, and this counter after it, sees every answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Final

import httpx

from reconciler import errors

# Headers that described the body as it came over the wire, not the decoded bytes the new response holds.
WIRE_HEADERS: Final = frozenset({"content-encoding", "content-length", "transfer-encoding"})


async def receive(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    deadline: float,
    cap: int,
    auth: httpx.Auth | None = None,
    **request: Any,
) -> httpx.Response:
    """``method url`` with its answer read whole: within ``deadline`` seconds, and at most ``cap`` decoded bytes.

    Running out of time is a :class:`errors.TransientError` (another try may be quicker); an answer over the cap
    is a plain :class:`errors.ApiError` that names the URL, since sending the request again would only fetch the
    same answer again. httpx's own transport errors pass through for the caller to classify. What ``auth`` does
    (a token exchanged, a request sent again after a 401) happens inside the exchange, under its deadline.
    """
    built = http.build_request(method, url, **request)
    try:
        async with asyncio.timeout(deadline):
            response = await http.send(built, stream=True, auth=auth)
            try:
                body = await _read(response, cap)
            finally:
                await response.aclose()
    except TimeoutError:
        raise errors.TransientError(
            f"{method} {built.url.path}: no complete answer within {deadline:g} s (--request-timeout)"
        ) from None
    return _complete(response, body)


async def _read(response: httpx.Response, cap: int) -> bytes:
    """The decoded body, refused as soon as it passes ``cap`` bytes (one decoded chunk past it at most)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            request = response.request
            raise errors.ApiError(
                f"the answer to {request.method} {request.url} is larger than {_size(cap)} once decoded: refused",
                status=response.status_code,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def discard(response: httpx.Response, cap: int) -> None:
    """The body of an answer an auth flow hands back to httpx (a 401 it answers by sending again), read to its
    end within ``cap`` bytes and dropped.

    httpx reads such an answer before it sends the flow's next request, whole, decoded and outside
    :func:`receive`'s cap; this gives it nothing to decode. Read to its end, the connection serves the next
    request, as an answer read by :func:`receive` does.
    """
    if isinstance(response.stream, httpx.AsyncByteStream):
        response.stream = _Discarded(response.stream, cap, response)


class _Discarded(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, cap: int, response: httpx.Response) -> None:
        self._stream = stream
        self._cap = cap
        self._request = response.request
        self._status = response.status_code

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._stream:
            size += len(chunk)
            if size > self._cap:
                request, limit = self._request, _size(self._cap)
                raise errors.ApiError(
                    f"the answer to {request.method} {request.url} is larger than {limit}: refused", status=self._status
                )
        yield b""  # all httpx keeps of it

    async def aclose(self) -> None:
        await self._stream.aclose()


def _complete(response: httpx.Response, body: bytes) -> httpx.Response:
    """A response like ``response`` that holds ``body``, already decoded, so ``.json()`` and ``.text`` work."""
    headers = [(name, value) for name, value in response.headers.multi_items() if name.lower() not in WIRE_HEADERS]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        extensions=response.extensions,
    )


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:g} MiB" if count >= 1024 * 1024 else f"{count} bytes"
