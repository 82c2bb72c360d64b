"""Auth: API key -> token with a TTL; the raw token in Authorization; 401 rpcStatus otherwise."""

from __future__ import annotations

import time

import httpx
import pytest

from reconciler.emulator.server import EmulatorConfig, EmulatorServer
from tests.support import API_KEY

from .helpers import assert_rpc_error


def test_token_exchange_answers_token_ttl_string_and_scope(emu: EmulatorServer) -> None:
    response = httpx.post(f"{emu.url}/auth/access_token", json={"apiKey": API_KEY})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiresIn", "scope"}
    assert body["expiresIn"] == "3600"  # int64 as a string
    listing = httpx.get(f"{emu.url}/customer/jobs", headers={"Authorization": body["token"]})
    assert listing.status_code == 200


@pytest.mark.parametrize("body", [{"apiKey": "wrong"}, {"apiKey": ""}, {}])
def test_a_key_other_than_the_configured_one_is_refused(emu: EmulatorServer, body: dict[str, str]) -> None:
    assert_rpc_error(httpx.post(f"{emu.url}/auth/access_token", json=body), 401, 16)


def test_without_a_configured_key_any_non_empty_key_is_accepted() -> None:
    with EmulatorServer(EmulatorConfig(step_seconds=0)) as emu:
        assert httpx.post(f"{emu.url}/auth/access_token", json={"apiKey": "anything"}).status_code == 200
        assert_rpc_error(httpx.post(f"{emu.url}/auth/access_token", json={"apiKey": ""}), 401, 16)


def test_a_malformed_token_request_is_400(emu: EmulatorServer) -> None:
    assert_rpc_error(httpx.post(f"{emu.url}/auth/access_token", json={"apiKey": 5}), 400, 3)
    assert_rpc_error(httpx.post(f"{emu.url}/auth/access_token", content=b"not json"), 400, 3)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "unknown-token"}],
    ids=["missing", "empty", "unknown"],
)
def test_customer_routes_need_a_live_token(emu: EmulatorServer, headers: dict[str, str]) -> None:
    assert_rpc_error(httpx.get(f"{emu.url}/customer/jobs", headers=headers), 401, 16)
    assert_rpc_error(httpx.post(f"{emu.url}/customer/jobs", headers=headers, json={"templateId": "t"}), 401, 16)


def test_the_token_is_sent_raw_not_as_bearer(emu: EmulatorServer, token: str) -> None:
    response = httpx.get(f"{emu.url}/customer/jobs", headers={"Authorization": f"Bearer {token}"})
    assert_rpc_error(response, 401, 16)


def test_expire_endpoint_expires_every_issued_token(emu: EmulatorServer, api: httpx.Client) -> None:
    assert api.get("/jobs").status_code == 200
    assert httpx.post(f"{emu.base_url}/_emulator/tokens/expire").json()["expired"] >= 1
    assert_rpc_error(api.get("/jobs"), 401, 16)


def test_a_token_expires_after_its_ttl() -> None:
    with EmulatorServer(EmulatorConfig(api_key="k", token_ttl=1, step_seconds=0)) as emu:
        body = httpx.post(f"{emu.url}/auth/access_token", json={"apiKey": "k"}).json()
        assert body["expiresIn"] == "1"
        headers = {"Authorization": body["token"]}
        assert httpx.get(f"{emu.url}/customer/jobs", headers=headers).status_code == 200
        time.sleep(1.1)
        assert_rpc_error(httpx.get(f"{emu.url}/customer/jobs", headers=headers), 401, 16)


def test_control_routes_need_no_token(emu: EmulatorServer) -> None:
    assert httpx.get(f"{emu.base_url}/_emulator/counters").status_code == 200
