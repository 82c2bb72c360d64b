"""Faults: seeded, drawn before applying (a 5xx changed nothing), settable at run time, API routes only."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from .helpers import assert_rpc_error, create


def _faults(control: httpx.Client, **settings: Any) -> dict[str, Any]:
    response = control.put("/faults", json=settings)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _statuses(api: httpx.Client, path: str, count: int) -> list[int]:
    return [api.get(path).status_code for _ in range(count)]


def test_fault_settings_round_trip(control: httpx.Client) -> None:
    defaults = control.get("/faults").json()
    assert defaults == {
        "latencyMs": 0.0,
        "jitterMs": 0.0,
        "faultRate": 0.0,
        "throttleRps": 0.0,
        "throttleRate": 0.0,
        "retryAfter": 1,
        "dropRate": 0.0,
        "dropAfterWriteRate": 0.0,
        "malformedRate": 0.0,
        "seed": None,
    }
    merged = _faults(control, faultRate=0.25, seed=3)
    assert merged == {**defaults, "faultRate": 0.25, "seed": 3}
    assert control.get("/faults").json() == merged
    for bad in ({"faultRate": 2}, {"nope": 1}, {"retryAfter": 1.5}, {"seed": "x"}, {"latencyMs": -1}):
        assert control.put("/faults", json=bad).status_code == 400, bad


def test_5xx_faults_are_seeded_and_reproducible(api: httpx.Client, control: httpx.Client) -> None:
    job = create(api)
    _faults(control, faultRate=0.5, seed=42)
    first = _statuses(api, f"/jobs/{job['id']}", 60)
    _faults(control, seed=42)
    second = _statuses(api, f"/jobs/{job['id']}", 60)
    assert first == second
    assert set(first) == {200, 500, 503}


def test_a_5xx_changed_nothing(api: httpx.Client, control: httpx.Client) -> None:
    job = create(api)
    _faults(control, faultRate=1.0, seed=1)
    statuses = set()
    for _ in range(10):
        response = api.patch(f"/jobs/{job['id']}/jobname", json="changed")
        statuses.add(response.status_code)
        assert response.json()["code"] in (13, 14)
    assert statuses <= {500, 503}
    assert create_rejected(api)
    _faults(control, faultRate=0.0)
    assert api.get(f"/jobs/{job['id']}").json()["job"] == job
    assert api.get("/jobs").json()["pagination"]["total"] == "1"


def create_rejected(api: httpx.Client) -> bool:
    return api.post("/jobs", json={"templateId": "t"}).status_code >= 500


def test_throttle_rate_answers_429_with_retry_after(api: httpx.Client, control: httpx.Client) -> None:
    job = create(api)
    _faults(control, throttleRate=1.0, retryAfter=7)
    response = api.patch(f"/jobs/{job['id']}/jobname", json="changed")
    assert_rpc_error(response, 429, 8)
    assert response.headers["retry-after"] == "7"
    _faults(control, throttleRate=0.0)
    assert api.get(f"/jobs/{job['id']}").json()["job"]["name"] == ""


def test_throttle_rps_limits_the_request_rate(api: httpx.Client, control: httpx.Client) -> None:
    _faults(control, throttleRps=5.0)
    responses = [api.get("/jobs") for _ in range(30)]
    throttled = [r for r in responses if r.status_code == 429]
    assert 10 < len(throttled) < 30
    for response in throttled:
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["code"] == 8
    _faults(control, throttleRps=0.0)
    assert all(api.get("/jobs").status_code == 200 for _ in range(30))


def test_drop_closes_the_connection_before_applying(api: httpx.Client, control: httpx.Client) -> None:
    job = create(api)
    _faults(control, dropRate=1.0)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.patch(f"/jobs/{job['id']}/jobname", json="changed")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.get("/jobs")
    _faults(control, dropRate=0.0)
    assert api.get(f"/jobs/{job['id']}").json()["job"]["name"] == ""


def test_drop_after_write_applies_the_write_and_a_retry_is_harmless(api: httpx.Client, control: httpx.Client) -> None:
    job = create(api)
    _faults(control, dropAfterWriteRate=1.0)
    assert api.get(f"/jobs/{job['id']}").status_code == 200  # reads are never affected
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.patch(f"/jobs/{job['id']}/params", json={"app": {"n": 1}})
    _faults(control, dropAfterWriteRate=0.0)
    applied = api.get(f"/jobs/{job['id']}").json()["job"]
    assert applied["params"]["app"] == {"n": 1.0}
    retried = api.patch(f"/jobs/{job['id']}/params", json={"app": {"n": 1}})
    assert retried.json()["job"] == applied


def test_malformed_bodies_hit_gets_only(api: httpx.Client, control: httpx.Client) -> None:
    job = create(api)
    _faults(control, malformedRate=1.0)
    response = api.get(f"/jobs/{job['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    patched = api.patch(f"/jobs/{job['id']}/jobname", json="ok")
    assert patched.json()["job"]["name"] == "ok"


def test_latency_and_jitter_delay_api_requests(api: httpx.Client, control: httpx.Client) -> None:
    _faults(control, latencyMs=150)
    started = time.perf_counter()
    api.get("/jobs")
    assert time.perf_counter() - started >= 0.15
    _faults(control, latencyMs=0, jitterMs=40, seed=5)
    control.post("/reset", json={"jobs": False, "log": True})
    for _ in range(10):
        api.get("/jobs")
    latencies = [entry["latencyMs"] for entry in control.get("/requests").json()["requests"]]
    assert len(latencies) == 10
    assert max(latencies) < 40 + 100  # generous bound for a loaded machine
    assert len(set(latencies)) > 1


def test_faults_never_touch_emulator_routes(control: httpx.Client) -> None:
    _faults(control, faultRate=1.0, dropRate=1.0, throttleRate=1.0, latencyMs=500)
    started = time.perf_counter()
    assert control.get("/counters").status_code == 200
    assert control.get("/requests").status_code == 200
    assert time.perf_counter() - started < 0.5


def test_faults_are_logged(api: httpx.Client, control: httpx.Client) -> None:
    job = create(api)
    control.post("/reset", json={"jobs": False})
    _faults(control, faultRate=1.0, seed=2)
    api.get(f"/jobs/{job['id']}")
    _faults(control, faultRate=0.0, dropRate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        api.get(f"/jobs/{job['id']}")
    _faults(control, dropRate=0.0, throttleRate=1.0)
    api.get(f"/jobs/{job['id']}")
    entries = control.get("/requests").json()["requests"]
    assert [e["fault"] for e in entries] in (["503", "drop", "429"], ["500", "drop", "429"])
    assert entries[1]["status"] is None
    assert entries[2]["status"] == 429
    assert control.get("/counters").json()["byStatus"]["dropped"] == 1


def test_reset_with_faults_restores_the_start_up_settings(emu: Any, control: httpx.Client) -> None:
    _faults(control, faultRate=1.0)
    control.post("/reset", json={"faults": True})
    assert control.get("/faults").json()["faultRate"] == 0.0
