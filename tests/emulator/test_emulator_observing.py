"""/_emulator/requests and /_emulator/counters: API routes only, in arrival order."""

from __future__ import annotations

import httpx

from reconciler.emulator.server import EmulatorServer
from tests.support import API_KEY

from .helpers import create


def test_request_log_lists_api_requests_in_order(emu: EmulatorServer, api: httpx.Client, control: httpx.Client) -> None:
    job = create(api)
    api.patch(f"/jobs/{job['id']}/params", json={"app": {}})
    api.get("/jobs", params={"pagination.limit": 5})
    api.get("/jobs/missing")
    control.get("/counters")  # not logged
    entries = control.get("/requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", "/v1/customer/jobs", 200),
        ("PATCH", f"/v1/customer/jobs/{job['id']}/params", 200),
        ("GET", "/v1/customer/jobs", 200),
        ("GET", "/v1/customer/jobs/missing", 404),
    ]
    assert entries[2]["query"] == "pagination.limit=5"
    assert all(e["fault"] is None for e in entries)
    assert all(e["latencyMs"] >= 0 for e in entries)


def test_counters_count_reads_writes_routes_and_statuses(
    emu: EmulatorServer, api: httpx.Client, control: httpx.Client
) -> None:
    httpx.post(f"{emu.url}/auth/access_token", json={"apiKey": API_KEY})
    job = create(api)
    for _ in range(3):
        api.patch(f"/jobs/{job['id']}/params", json={"app": {}})
    api.get(f"/jobs/{job['id']}")
    api.get("/jobs")
    api.delete("/jobs/missing")
    counters = control.get("/counters").json()
    assert counters == {
        "total": 8,
        "reads": 2,
        "writes": 5,
        "byRoute": {
            "POST /auth/access_token": 1,
            "POST /jobs": 1,
            "PATCH /jobs/{jobId}/params": 3,
            "GET /jobs/{jobId}": 1,
            "GET /jobs": 1,
            "DELETE /jobs/{jobId}": 1,
        },
        "byStatus": {"200": 7, "404": 1},
    }


def test_reset_clears_what_it_is_asked_to(api: httpx.Client, control: httpx.Client) -> None:
    create(api)
    assert control.post("/reset", json={"jobs": False}).json() == {"ok": True}
    assert control.get("/counters").json()["total"] == 0
    assert api.get("/jobs").json()["pagination"]["total"] == "1"
    control.post("/reset", json={"log": False})
    assert control.get("/counters").json()["total"] == 1
    assert api.get("/jobs").json()["pagination"]["total"] == "0"
    assert api.get("/jobs").status_code == 200  # tokens survive a reset
    assert control.post("/reset", json={"jobs": "yes"}).status_code == 400


def test_the_computing_root_serves_the_same_jobs(emu: EmulatorServer, api: httpx.Client, token: str) -> None:
    job = create(api)
    other = httpx.get(f"{emu.url}/computing/jobs/{job['id']}", headers={"Authorization": token})
    assert other.json()["job"] == job


def test_witnesses_record_the_job_each_write_met_and_its_body_only_when_asked(
    emu: EmulatorServer, api: httpx.Client, control: httpx.Client
) -> None:
    job = create(api)
    assert "witness" not in control.get("/requests").json()["requests"][0]
    assert control.put("/log", json={"witness": True}).json() == {"witness": True}
    try:
        api.patch(f"/jobs/{job['id']}/params", json={"app": {"a": 1}})
        control.post(f"/jobs/{job['id']}/advance")
        api.patch(f"/jobs/{job['id']}/jobname", json="late")
        control.put("/faults", json={"faultRate": 1.0})
        api.post(f"/jobs/{job['id']}/run", json={})
        control.put("/faults", json={"faultRate": 0.0})
        api.get(f"/jobs/{job['id']}")
        entries = control.get("/requests").json()["requests"][1:]
    finally:
        control.put("/log", json={"witness": False})
    patched, refused, faulted, read = entries
    assert patched["witness"]["before"]["state"] == "JOB_STATE_NEW"
    assert patched["witness"]["before"]["params"] is None  # as it stood, not as it became
    assert patched["witness"]["body"] == {"app": {"a": 1}}
    assert (refused["status"], refused["witness"]["before"]["state"]) == (400, "JOB_STATE_STARTED")
    assert refused["witness"]["body"] == "late"
    assert faulted["witness"] is None  # a 503 drawn before the handler: nothing was applied
    assert "witness" not in read
