"""State rules: only a draft is written; run, the road to COMPLETE, abort, delete, upsert."""

from __future__ import annotations

import time

import httpx
import pytest

from reconciler.emulator.server import EmulatorConfig, EmulatorServer

from .helpers import assert_rpc_error, create

ROAD = [
    "JOB_STATE_NEW",
    "JOB_STATE_STARTED",
    "JOB_STATE_UPLOADING",
    "JOB_STATE_PARTITIONING",
    "JOB_STATE_PARTITIONED",
    "JOB_STATE_TASKS_COMPLETED",
    "JOB_STATE_MERGING",
    "JOB_STATE_MERGED",
    "JOB_STATE_DOWNLOADING",
    "JOB_STATE_COMPLETE",
]
WRITES = [
    ("PATCH", "jobname", "n"),
    ("PATCH", "configs", {"taskTimeout": 1}),
    ("PATCH", "params", {"app": {}}),
    ("PATCH", "datasource", {"dataSource": {"dataSourceDescriptor": "bypass"}}),
    ("POST", "run", {}),
]


def _generic_ok(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"ok", "requestId", "message", "error"}
    assert body["ok"] is True
    assert body["error"] is None
    assert body["requestId"]


def test_run_then_advance_through_every_state(api: httpx.Client, control: httpx.Client) -> None:
    job = create(api)
    _generic_ok(api.post(f"/jobs/{job['id']}/run", json={}))
    seen = [api.get(f"/jobs/{job['id']}").json()["job"]]
    for _ in ROAD[2:]:
        response = control.post(f"/jobs/{job['id']}/advance")
        assert response.status_code == 200
        seen.append(response.json()["job"])
    assert [j["state"] for j in seen] == ROAD[1:]
    final = seen[-1]
    assert list(final["stateTimestamps"]) == ROAD
    assert final["submittedAt"] is not None
    assert final["startedAt"] is not None
    assert final["endedAt"] is not None
    assert final["duration"] >= 0
    assert control.post(f"/jobs/{job['id']}/advance").status_code == 409  # nothing after COMPLETE


def test_advance_to_a_given_state(api: httpx.Client, control: httpx.Client) -> None:
    job = create(api)
    response = control.post(f"/jobs/{job['id']}/advance", json={"state": "JOB_STATE_MERGING"})
    assert response.json()["job"]["state"] == "JOB_STATE_MERGING"
    assert control.post(f"/jobs/{job['id']}/advance", json={"state": "NOPE"}).status_code == 400
    assert control.post("/jobs/missing/advance").status_code == 404


def test_run_applies_the_config_it_carries(api: httpx.Client) -> None:
    job = create(api)
    _generic_ok(api.post(f"/jobs/{job['id']}/run", json={"config": {"jobTimeout": 9}}))
    got = api.get(f"/jobs/{job['id']}").json()["job"]
    assert got["state"] == "JOB_STATE_STARTED"
    assert got["config"] == {"taskTimeout": "0", "jobTimeout": "9", "isTestJob": False}


@pytest.mark.parametrize("state", [*ROAD[1:], "JOB_STATE_FAILED"])
@pytest.mark.parametrize("write", WRITES, ids=[w[1] for w in WRITES])
def test_writes_to_a_job_that_is_not_new_are_failed_precondition(
    api: httpx.Client, control: httpx.Client, state: str, write: tuple[str, str, object]
) -> None:
    method, section, body = write
    job = create(api)
    control.post(f"/jobs/{job['id']}/advance", json={"state": state})
    before = api.get(f"/jobs/{job['id']}").json()["job"]
    assert_rpc_error(api.request(method, f"/jobs/{job['id']}/{section}", json=body), 400, 9)
    assert api.get(f"/jobs/{job['id']}").json()["job"] == before


@pytest.mark.parametrize("state", ["JOB_STATE_STARTED", "JOB_STATE_COMPLETE"])
def test_delete_and_upsert_of_a_job_that_is_not_new_are_failed_precondition(
    api: httpx.Client, control: httpx.Client, state: str
) -> None:
    job = create(api, jobId="fixed")
    control.post("/jobs/fixed/advance", json={"state": state})
    assert_rpc_error(api.delete("/jobs/fixed"), 400, 9)
    assert_rpc_error(api.post("/jobs", json={"templateId": "tpl", "jobId": "fixed", "name": "x"}), 400, 9)
    assert api.get("/jobs/fixed").json()["job"]["name"] == job["name"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ""), ("DELETE", ""), ("PATCH", "/jobname"), ("POST", "/run"), ("POST", "/abort")],
)
def test_an_unknown_job_is_not_found(api: httpx.Client, method: str, path: str) -> None:
    body = "x" if path == "/jobname" else {}
    assert_rpc_error(api.request(method, f"/jobs/no-such-job{path}", json=body), 404, 5)


def test_abort_deletes_a_draft(api: httpx.Client) -> None:
    job = create(api)
    _generic_ok(api.post(f"/jobs/{job['id']}/abort"))
    assert_rpc_error(api.get(f"/jobs/{job['id']}"), 404, 5)


def test_abort_fails_a_running_job(api: httpx.Client, control: httpx.Client) -> None:
    job = create(api)
    api.post(f"/jobs/{job['id']}/run", json={})
    control.post(f"/jobs/{job['id']}/advance")
    _generic_ok(api.post(f"/jobs/{job['id']}/abort"))
    got = api.get(f"/jobs/{job['id']}").json()["job"]
    assert got["state"] == "JOB_STATE_FAILED"
    assert got["errorMessage"] == "aborted"
    assert "JOB_STATE_FAILED" in got["stateTimestamps"]
    assert got["endedAt"] is not None


@pytest.mark.parametrize("state", ["JOB_STATE_COMPLETE", "JOB_STATE_FAILED"])
def test_abort_refuses_a_finished_job(api: httpx.Client, control: httpx.Client, state: str) -> None:
    job = create(api)
    control.post(f"/jobs/{job['id']}/advance", json={"state": state})
    assert_rpc_error(api.post(f"/jobs/{job['id']}/abort"), 400, 9)


def test_delete_removes_a_draft(api: httpx.Client) -> None:
    job = create(api)
    _generic_ok(api.delete(f"/jobs/{job['id']}"))
    assert_rpc_error(api.get(f"/jobs/{job['id']}"), 404, 5)
    assert_rpc_error(api.delete(f"/jobs/{job['id']}"), 404, 5)


def test_create_with_an_existing_draft_id_is_an_upsert(api: httpx.Client) -> None:
    first = create(api, jobId="stable", name="one", description="kept", config={"taskTimeout": 1})
    second = create(api, jobId="stable", name="two", templateId="tpl2")
    assert second["id"] == "stable"
    assert second["name"] == "two"
    assert second["templateId"] == "tpl2"
    assert second["description"] == "kept"  # sections absent from the body are left alone
    assert second["config"] == first["config"]
    assert second["createdAt"] == first["createdAt"]
    assert api.get("/jobs").json()["pagination"]["total"] == "1"


def test_create_without_an_id_generates_one(api: httpx.Client) -> None:
    assert create(api)["id"] != create(api, jobId="")["id"]


def test_patch_replaces_the_whole_section(api: httpx.Client) -> None:
    source = {"dataSourceDescriptor": "url", "params": {"url": "https://a"}}
    job = create(
        api,
        params={"partitioner": {"p": 1}, "assembler": {"a": 1}, "app": {"x": 1, "y": 2}},
        dataSource=source,
        dataDestination={"dataSourceDescriptor": "bucket"},
        config={"taskTimeout": 5, "jobTimeout": 6, "isTestJob": True},
    )
    path = f"/jobs/{job['id']}"
    params = api.patch(f"{path}/params", json={"app": {"x": 3}}).json()["job"]["params"]
    assert params == {"preset": "", "partitioner": {}, "assembler": {}, "app": {"x": 3.0}}
    got = api.patch(f"{path}/datasource", json={"dataSource": source}).json()["job"]
    assert got["dataSource"]["params"]["url"] == "https://a"
    assert got["dataDestination"] is None
    config = api.patch(f"{path}/configs", json={"jobTimeout": 7}).json()["job"]["config"]
    assert config == {"taskTimeout": "0", "jobTimeout": "7", "isTestJob": False}


def test_a_repeated_patch_is_harmless(api: httpx.Client) -> None:
    job = create(api)
    first = api.patch(f"/jobs/{job['id']}/params", json={"app": {"a": 1}}).json()["job"]
    second = api.patch(f"/jobs/{job['id']}/params", json={"app": {"a": 1}}).json()["job"]
    assert first == second


def test_running_jobs_advance_on_their_own_with_step_seconds() -> None:
    with (
        EmulatorServer(EmulatorConfig(step_seconds=0.02)) as emu,
        httpx.Client(base_url=f"{emu.url}/customer", headers={"Authorization": emu.issue_token()}) as api,
    ):
        job = create(api)
        api.post(f"/jobs/{job['id']}/run", json={})
        deadline = time.monotonic() + 10
        while api.get(f"/jobs/{job['id']}").json()["job"]["state"] != "JOB_STATE_COMPLETE":
            assert time.monotonic() < deadline, "the job never completed"
            time.sleep(0.02)
        assert list(api.get(f"/jobs/{job['id']}").json()["job"]["stateTimestamps"]) == ROAD
        draft = create(api)
        time.sleep(0.1)
        assert api.get(f"/jobs/{draft['id']}").json()["job"]["state"] == "JOB_STATE_NEW"


def test_seeded_jobs_keep_their_id_and_state(api: httpx.Client, control: httpx.Client) -> None:
    seeded = {
        "id": "seeded",
        "template_id": "tpl",
        "state": "JOB_STATE_MERGING",
        "name": "s",
        "error_message": "none",
        "params": {"app": {"n": 1}},
    }
    job = control.post("/jobs", json=seeded).json()
    assert job["id"] == "seeded"
    assert job["state"] == "JOB_STATE_MERGING"
    assert job["errorMessage"] == "none"
    assert job["params"]["app"] == {"n": 1.0}
    assert api.get("/jobs/seeded").json()["job"] == job
    assert control.post("/jobs", json={"state": "JOB_STATE_BOGUS"}).status_code == 400


def test_bulk_seeding_is_fast(api: httpx.Client, control: httpx.Client) -> None:
    jobs = [{"id": f"job-{i:05}", "templateId": "tpl", "name": f"n{i}"} for i in range(10_000)]
    started = time.monotonic()
    response = control.post("/jobs", json={"jobs": jobs}, timeout=60)
    assert response.status_code == 200
    assert len(response.json()["jobs"]) == 10_000
    assert time.monotonic() - started < 10  # a generous bound, not a benchmark
    assert api.get("/jobs").json()["pagination"]["total"] == "10000"
