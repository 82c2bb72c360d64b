"""Malformed requests: 400 with rpcStatus code 3, and nothing changed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .helpers import assert_rpc_error, create


@pytest.mark.parametrize("body", [{"name": "x"}, {"name": "x", "templateId": ""}, {"templateId": None}, [], "t"])
def test_create_needs_a_template_id_and_an_object(api: httpx.Client, body: Any) -> None:
    assert_rpc_error(api.post("/jobs", json=body), 400, 3)
    assert api.get("/jobs").json()["data"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"templateId": "t", "name": None},
        {"templateId": "t", "name": 5},
        {"templateId": "t", "dataSource": None},
        {"templateId": "t", "dataSource": {"dataSourceDescriptor": "aws", "params": None}},
        {"templateId": "t", "dataSource": {"dataSourceDescriptor": "aws", "params": []}},
        {"templateId": "t", "dataSource": {"dataSourceDescriptor": None}},
        {"templateId": "t", "params": None},
        {"templateId": "t", "params": {"app": None}},
        {"templateId": "t", "params": {"app": [1]}},
        {"templateId": "t", "config": None},
        {"templateId": "t", "config": {"taskTimeout": 1.5}},
        {"templateId": "t", "config": {"taskTimeout": "ten"}},
        {"templateId": "t", "config": {"taskTimeout": True}},
        {"templateId": "t", "config": {"taskTimeout": 2**63}},
        {"templateId": "t", "config": {"isTestJob": "true"}},
        {"templateId": "t", "jobId": 7},
    ],
)
def test_create_type_checks_every_section(api: httpx.Client, body: dict[str, Any]) -> None:
    assert_rpc_error(api.post("/jobs", json=body), 400, 3)


def test_jobname_body_must_be_a_json_string(api: httpx.Client) -> None:
    job = create(api, name="before")
    for body in [{"name": "x"}, None, 5, ["x"]]:
        assert_rpc_error(api.patch(f"/jobs/{job['id']}/jobname", json=body), 400, 3)
    assert_rpc_error(api.patch(f"/jobs/{job['id']}/jobname", content=b"plain text"), 400, 3)
    assert api.get(f"/jobs/{job['id']}").json()["job"]["name"] == "before"
    assert api.patch(f"/jobs/{job['id']}/jobname", json="after").json()["job"]["name"] == "after"


@pytest.mark.parametrize(
    ("section", "body"),
    [
        ("configs", {"jobTimeout": "1e3"}),
        ("configs", {"jobTimeout": None}),
        ("configs", {"isTestJob": 1}),
        ("configs", None),
        ("configs", "x"),
        ("params", {"partitioner": "x"}),
        ("params", {"preset": None}),
        ("params", None),
        ("datasource", {"dataSource": None}),
        ("datasource", {"dataDestination": {"params": "x"}}),
        ("datasource", {"dataSource": {"params": {"@type": 5}}}),
        ("datasource", []),
    ],
)
def test_patch_bodies_are_type_checked(api: httpx.Client, section: str, body: Any) -> None:
    job = create(api)
    assert_rpc_error(api.patch(f"/jobs/{job['id']}/{section}", json=body), 400, 3)
    assert api.get(f"/jobs/{job['id']}").json()["job"] == job


@pytest.mark.parametrize("content", [b"", b"   ", b"{", b"NaN", b'{"taskTimeout": Infinity}'])
def test_empty_or_invalid_json_is_400(api: httpx.Client, content: bytes) -> None:
    job = create(api)
    assert_rpc_error(api.patch(f"/jobs/{job['id']}/configs", content=content), 400, 3)


def test_run_needs_a_json_object_body(api: httpx.Client) -> None:
    job = create(api)
    assert_rpc_error(api.post(f"/jobs/{job['id']}/run"), 400, 3)
    assert_rpc_error(api.post(f"/jobs/{job['id']}/run", json=[]), 400, 3)
    assert_rpc_error(api.post(f"/jobs/{job['id']}/run", json={"config": {"taskTimeout": "x"}}), 400, 3)
    assert api.get(f"/jobs/{job['id']}").json()["job"]["state"] == "JOB_STATE_NEW"


def test_integer_strings_are_accepted_for_int64(api: httpx.Client) -> None:
    job = create(api)
    body = {"taskTimeout": "-5", "jobTimeout": 7.0, "isTestJob": False}
    config = api.patch(f"/jobs/{job['id']}/configs", json=body).json()["job"]["config"]
    assert config == {"taskTimeout": "-5", "jobTimeout": "7", "isTestJob": False}


@pytest.mark.parametrize(
    "query",
    ["pagination.limit=abc", "pagination.offset=1.5", "pagination.limit=", "pagination.offset=99999999999999999999"],
)
def test_non_integer_pagination_is_400(api: httpx.Client, query: str) -> None:
    assert_rpc_error(api.get(f"/jobs?{query}"), 400, 3)


def test_an_unserved_path_is_a_plain_404_and_a_wrong_method_an_rpc_status(api: httpx.Client) -> None:
    """A client tells a wrong address from a missing job by this: only the job routes say rpcStatus code 5."""
    unserved = api.get("/nothing-here")
    assert unserved.status_code == 404
    assert unserved.headers["content-type"].startswith("text/plain")
    assert unserved.text == "404 page not found\n"
    assert_rpc_error(api.get("/jobs/no-such-job"), 404, 5)
    response = api.put("/jobs")
    assert_rpc_error(response, 405, 12)
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


@pytest.mark.parametrize("job_id", ["a%2Fb", "line%0Abreak"])
def test_a_job_id_the_router_cannot_take_is_still_no_such_job(api: httpx.Client, job_id: str) -> None:
    """A documented operation answers as documented (rpcStatus) even for an id no route can match."""
    assert_rpc_error(api.get(f"/jobs/{job_id}/datasource"), 404, 5)
