"""The client's transport is chosen before a burst of requests, not in the middle of one.

Moving to aiohttp costs an import of about 0.1 s; paid in the middle of 16 requests in flight, it stalls
all of them. A run that learns how many requests it will send (the pages left, the calls of an apply) says so.
"""

from __future__ import annotations

import asyncio

import httpx

from reconciler import markers, settings
from reconciler.api import endpoints, fetching, transports
from reconciler.emulator.server import EmulatorServer
from tests.e2e.conftest import API_KEY, Control


def engines(server: EmulatorServer, expectations: list[int]) -> list[str]:
    """The engine each request used, after announcing ``expectations[i]`` more requests before request i."""

    async def scenario() -> list[str]:
        transport = transports.AdaptiveTransport(4, switch_after=8)
        used = []
        async with httpx.AsyncClient(transport=transport) as http:
            for expected in expectations:
                transport.expect(expected)
                used.append(transport.engine)
                response = await http.get(server.base_url + "/_emulator/counters")
                assert response.status_code == 200
        return used

    return asyncio.run(scenario())


def test_a_small_run_stays_on_httpx(server: EmulatorServer) -> None:
    assert engines(server, [3, 0, 0, 2]) == ["httpx"] * 4


def test_a_burst_announced_as_large_moves_to_aiohttp_before_its_first_request(server: EmulatorServer) -> None:
    assert engines(server, [1, 20, 0, 0]) == ["httpx", "aiohttp", "aiohttp", "aiohttp"]


def test_a_run_that_grows_unannounced_moves_after_the_threshold(server: EmulatorServer) -> None:
    assert engines(server, [0] * 10) == ["httpx"] * 8 + ["aiohttp"] * 2


def test_a_plan_announces_the_pages_it_is_about_to_read(server: EmulatorServer, emulator: Control) -> None:
    emulator.seed([{"id": f"job-{n:03d}", "templateId": "t", "name": f"job {n}"} for n in range(250)])
    announced: list[int] = []

    class Spy(transports.AdaptiveTransport):
        def expect(self, requests: int) -> None:
            announced.append(requests)
            super().expect(requests)

    config = settings.from_environment(api_url=server.url, environ={"BYTENITE_API_KEY": API_KEY})
    identities = [markers.Identity(f"job-{n:03d}") for n in range(250)]

    async def scenario() -> int:
        async with endpoints.Client(config, transport=Spy(4), read_only=True) as api:
            fetched = await fetching.fetch(api, identities, concurrency=4)
        return len(fetched.jobs)

    assert asyncio.run(scenario()) == 250
    assert announced == [0, 2]  # nothing known at the start; the first page's total leaves 2 pages to read
