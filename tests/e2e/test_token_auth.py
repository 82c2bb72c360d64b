"""The token flow (an ``httpx.Auth``) against the emulator on loopback: one exchange while the token lives, one
more when a 401 says it went stale, never a second on the same request, and the key in no error.

The flow is driven through a plain ``httpx.AsyncClient``, as the API client drives it; what the server saw is
read from the emulator's request log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from reconciler import errors, keys, settings
from reconciler.api import auth, counters
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.server import EmulatorServer
from tests.support import API_KEY, Control

SENTINEL_KEY = "sentinel-key-9f3c1e77-never-shown"


class Flow:
    """A token flow over one httpx client, with what it counted and how often it paced a request."""

    def __init__(self, http: httpx.AsyncClient, server: EmulatorServer, key: str = API_KEY) -> None:
        self.config = settings.Settings(api_key=keys.Secret(key), api_url=server.url)
        self.token = auth.Token()
        self.secrets = {key}
        self.counted = counters.Counters()
        self.paced = 0
        self.auth = auth.TokenAuth(
            http, self.config, token=self.token, secrets=self.secrets, counted=self.counted, pace=self._pace
        )

    async def _pace(self) -> None:
        self.paced += 1


def _with_flow(
    server: EmulatorServer, scenario: Callable[[httpx.AsyncClient, Flow], Awaitable[Any]], *, key: str = API_KEY
) -> Any:
    async def run() -> Any:
        async with httpx.AsyncClient() as http:
            return await scenario(http, Flow(http, server, key))

    return asyncio.run(run())


def _log(control: Control, ending: str) -> list[tuple[str, int]]:
    return [(r["method"], r["status"]) for r in control.requests() if r["path"].endswith(ending)]


def test_the_token_is_exchanged_once_and_sent_raw_while_it_lives(server: EmulatorServer, emulator: Control) -> None:
    async def scenario(http: httpx.AsyncClient, flow: Flow) -> list[int]:
        statuses = [(await http.get(server.url + "/customer/jobs", auth=flow.auth)).status_code for _ in range(3)]
        assert flow.counted == counters.Counters(reads=3, token_exchanges=1)
        assert flow.token.value in flow.secrets  # scrubbed from every message from now on
        return statuses

    assert _with_flow(server, scenario) == [200, 200, 200]  # the emulator accepts only a raw token, no "Bearer"
    assert _log(emulator, "/access_token") == [("POST", 200)]


def test_a_token_gone_stale_is_exchanged_again_once_on_401(server: EmulatorServer, emulator: Control) -> None:
    async def scenario(http: httpx.AsyncClient, flow: Flow) -> None:
        assert (await http.get(server.url + "/customer/jobs", auth=flow.auth)).status_code == 200
        first = flow.token.value
        emulator.http.post("/_emulator/tokens/expire").raise_for_status()
        assert (await http.get(server.url + "/customer/jobs", auth=flow.auth)).status_code == 200
        assert (await http.get(server.url + "/customer/jobs", auth=flow.auth)).status_code == 200
        assert flow.token.value != first
        assert {first, flow.token.value} <= flow.secrets
        assert flow.counted == counters.Counters(reads=4, token_exchanges=2)  # the refused request counted too
        assert flow.paced == 1  # the request sent again waits its turn like any other

    _with_flow(server, scenario)
    assert _log(emulator, "/customer/jobs") == [("GET", 200), ("GET", 401), ("GET", 200), ("GET", 200)]
    assert _log(emulator, "/access_token") == [("POST", 200), ("POST", 200)]


def test_a_request_refused_after_the_exchange_again_is_not_sent_a_third_time(
    server: EmulatorServer, emulator: Control
) -> None:
    """Jobs served by a second emulator, which knows none of the first one's tokens: every request meets 401."""
    with (
        EmulatorServer(EmulatorConfig(api_key=API_KEY, step_seconds=0)) as elsewhere,
        Control(elsewhere.base_url) as other,
    ):

        async def scenario(http: httpx.AsyncClient, flow: Flow) -> int:
            response = await http.get(elsewhere.url + "/customer/jobs", auth=flow.auth)
            assert flow.counted == counters.Counters(reads=2, token_exchanges=2)
            return response.status_code

        assert _with_flow(server, scenario) == 401  # the answer is trusted: the caller maps it to an AuthError
        assert _log(other, "/customer/jobs") == [("GET", 401), ("GET", 401)]
    assert _log(emulator, "/access_token") == [("POST", 200), ("POST", 200)]


def test_a_refused_key_is_an_auth_error_that_never_shows_the_key(server: EmulatorServer, emulator: Control) -> None:
    async def scenario(http: httpx.AsyncClient, flow: Flow) -> list[errors.ApiError]:
        caught = []
        with pytest.raises(errors.AuthError) as exchanged:
            await flow.auth.token()
        caught.append(exchanged.value)
        with pytest.raises(errors.AuthError) as requested:
            await http.get(server.url + "/customer/jobs", auth=flow.auth)
        caught.append(requested.value)
        assert flow.token.value is None
        return caught

    caught = _with_flow(server, scenario, key=SENTINEL_KEY)
    for error in caught:
        assert error.status == 401
        shown = [str(error), repr(error), error.message, *map(str, error.args)]
        assert not [text for text in shown if SENTINEL_KEY in text], shown
    assert _log(emulator, "/access_token") == [("POST", 401), ("POST", 401)]
    assert _log(emulator, "/customer/jobs") == []  # no request leaves without a token
