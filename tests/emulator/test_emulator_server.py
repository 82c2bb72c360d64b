"""The context manager: a free loopback port, the URLs, direct store access, a clean stop."""

from __future__ import annotations

import httpx
import pytest

from reconciler.emulator.server import EmulatorConfig, EmulatorServer


def test_context_manager_serves_on_a_free_loopback_port() -> None:
    with EmulatorServer(EmulatorConfig(step_seconds=0)) as emu:
        assert emu.base_url.startswith("http://127.0.0.1:")
        assert emu.url == emu.base_url + "/v1"
        assert len(emu.store) == 0
        token = emu.issue_token()
        response = httpx.post(f"{emu.url}/customer/jobs", json={"templateId": "t"}, headers={"Authorization": token})
        assert response.status_code == 200
        assert emu.store.get(response.json()["job"]["id"])["templateId"] == "t"
        base_url = emu.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/_emulator/counters")
    assert len(emu.store) == 1  # still readable after the stop


def test_parts_are_unavailable_before_start() -> None:
    with pytest.raises(RuntimeError):
        _ = EmulatorServer().store


def test_two_servers_run_side_by_side() -> None:
    with EmulatorServer() as first, EmulatorServer() as second:
        assert first.base_url != second.base_url
        assert httpx.get(f"{first.base_url}/_emulator/counters").status_code == 200
        assert httpx.get(f"{second.base_url}/_emulator/counters").status_code == 200


def test_a_taken_port_is_an_error() -> None:
    with EmulatorServer() as emu:
        port = int(emu.base_url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match="in use"):
            EmulatorServer(EmulatorConfig(port=port)).start()
