"""A client's HTTP engine is chosen once, when it is built, from the requests its caller expects.

Moving to aiohttp costs an import of about 0.1 s; paid in the middle of 16 requests in flight, it stalled all
of them. So no client switches engines: a run that knows it is large (the pages of a large plan, the calls of
an apply) says so when it builds its client, and every request of that client goes through one engine.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from reconciler import settings
from reconciler.api import endpoints, fetching, transports
from reconciler.emulator.server import EmulatorServer
from reconciler.planning import markers
from tests.support import API_KEY, Control


def engines(server: EmulatorServer, expected: int, requests: int) -> list[str]:
    """The engine that served each of ``requests`` requests, on the transport of a client expecting ``expected``."""

    async def scenario() -> list[str]:
        used = []
        async with httpx.AsyncClient(transport=transports.default(4, expected)) as http:
            for _ in range(requests):
                response = await http.get(server.base_url + "/_emulator/counters")
                assert response.status_code == 200
                used.append("httpx" if "network_stream" in response.extensions else "aiohttp")  # httpcore's own key
        return used

    return asyncio.run(scenario())


def test_a_small_run_stays_on_httpx(server: EmulatorServer) -> None:
    assert engines(server, 11, 4) == ["httpx"] * 4


def test_a_run_announced_as_large_uses_aiohttp_from_its_first_request(server: EmulatorServer) -> None:
    assert engines(server, 65, 4) == ["aiohttp"] * 4


def test_a_run_that_grows_unannounced_keeps_its_engine(server: EmulatorServer) -> None:
    assert engines(server, 0, transports.LARGE + 6) == ["httpx"] * (transports.LARGE + 6)


@pytest.mark.parametrize(("jobs", "engine"), [(250, "httpx"), (10_000, "aiohttp")])
def test_a_plan_builds_its_client_for_the_pages_its_jobs_fill(
    server: EmulatorServer, emulator: Control, monkeypatch: pytest.MonkeyPatch, jobs: int, engine: str
) -> None:
    emulator.seed([{"id": f"job-{n:05d}", "templateId": "t", "name": f"job {n}"} for n in range(250)])
    expected: list[int] = []
    real = transports.default

    def spy(concurrency: int, requests: int) -> transports.Transport:
        expected.append(requests)
        return real(concurrency, requests)

    monkeypatch.setattr(transports, "default", spy)
    config = settings.from_environment(api_url=server.url, environ={"BYTENITE_API_KEY": API_KEY})
    identities = [markers.Identity(f"job-{n:05d}") for n in range(jobs)]
    wanted = fetching.expected_requests(jobs)

    async def scenario() -> int:
        async with endpoints.Client(config, read_only=True, expected_requests=wanted) as api:
            fetched = await fetching.fetch(api, identities, concurrency=4)
        return len(fetched.jobs)

    assert asyncio.run(scenario()) == 250
    assert expected == [1 + -(-jobs // 100)]  # the token exchange, then a page per 100 jobs
    assert transports.engine_for(expected[0]) == engine
