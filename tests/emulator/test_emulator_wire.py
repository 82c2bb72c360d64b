"""Protobuf-JSON quirks: int64 strings, emitted defaults, camelCase out / snake in, Struct doubles, @type, tempUrl."""

from __future__ import annotations

import json

import httpx

from reconciler.emulator import wire

from .helpers import create

JOB_FIELDS = {
    "id", "templateId", "name", "config", "priority", "startAt", "submittedAt", "startedAt", "endedAt",
    "regions", "state", "dataSource", "params", "dataDestination", "duration", "deletedAt", "createdAt",
    "paymentAmount", "numUnitsEstimation", "numChunks", "errorMessage", "description", "stateTimestamps",
    "appId", "templateInfo",
}  # fmt: skip
S3 = "type.googleapis.com/bytenite.data_source.S3DataSource"


def test_every_job_property_is_emitted_with_its_default(api: httpx.Client) -> None:
    job = create(api)
    assert set(job) == JOB_FIELDS
    assert job["name"] == ""
    assert job["description"] == ""
    assert job["config"] is None
    assert job["params"] is None
    assert job["dataSource"] is None
    assert job["dataDestination"] is None
    assert job["priority"] == "EXECUTION_PRIORITY_UNDEFINED"
    assert job["numChunks"] == 0
    assert job["errorMessage"] == ""
    assert job["state"] == "JOB_STATE_NEW"
    assert job["templateInfo"]["id"] == "tpl"
    listed = api.get("/jobs").json()["data"][0]
    assert set(listed) == JOB_FIELDS


def test_int64_fields_are_strings(api: httpx.Client) -> None:
    job = create(api, config={"taskTimeout": 60, "jobTimeout": "3600", "isTestJob": True})
    assert job["config"] == {"taskTimeout": "60", "jobTimeout": "3600", "isTestJob": True}
    assert job["numUnitsEstimation"] == "0"
    pagination = api.get("/jobs").json()["pagination"]
    assert pagination["total"] == "1"
    assert pagination["offset"] == "0"


def test_snake_case_input_comes_back_camel_case(api: httpx.Client) -> None:
    body = {
        "template_id": "tpl",
        "job_id": "snake-job",
        "data_source": {
            "data_source_descriptor": "aws",
            "params": {"name": "in.mp4", "bucket_name": "b", "cloud_region": "eu", "secret_id": "s"},
        },
        "data_destination": {"data_source_descriptor": "bucket"},
        "config": {"task_timeout": 5, "job_timeout": 6, "is_test_job": True},
    }
    job = api.post("/jobs", json=body).json()["job"]
    assert job["id"] == "snake-job"
    assert job["templateId"] == "tpl"
    assert job["dataSource"] == {
        "dataSourceDescriptor": "aws",
        "params": {"@type": S3, "name": "in.mp4", "bucketName": "b", "cloudRegion": "eu", "secretId": "s"},
    }
    assert job["dataDestination"] == {"dataSourceDescriptor": "bucket", "params": {}}
    assert job["config"] == {"taskTimeout": "5", "jobTimeout": "6", "isTestJob": True}


def test_struct_keys_are_never_camel_cased_and_numbers_become_doubles(api: httpx.Client) -> None:
    job = create(api)
    params = {"partitioner": {"num_replicas": 4}, "assembler": {"out_dir": "x"}, "app": {"a_b": [1, {"c_d": 2}]}}
    response = api.patch(f"/jobs/{job['id']}/params", json=params)
    assert response.status_code == 200
    # 4 comes back as the JSON text 4.0: a Struct number is a double
    assert '"num_replicas":4.0' in response.text.replace(" ", "")
    got = response.json()["job"]["params"]
    assert got == {
        "preset": "",
        "partitioner": {"num_replicas": 4.0},
        "assembler": {"out_dir": "x"},
        "app": {"a_b": [1.0, {"c_d": 2.0}]},
    }
    assert isinstance(got["partitioner"]["num_replicas"], float)


def test_booleans_and_strings_in_structs_are_kept(api: httpx.Client) -> None:
    job = create(api, params={"app": {"flag": True, "text": "4", "none": None}})
    assert job["params"]["app"] == {"flag": True, "text": "4", "none": None}


def test_unknown_request_fields_are_silently_dropped(api: httpx.Client) -> None:
    job = create(api, nmae="typo", state="JOB_STATE_COMPLETE", id="mine", createdAt="2000-01-01T00:00:00Z")
    assert job["name"] == ""
    assert job["state"] == "JOB_STATE_NEW"  # read-only fields are the server's
    assert job["id"] != "mine"
    assert job["createdAt"] != "2000-01-01T00:00:00Z"
    patched = api.patch(f"/jobs/{job['id']}/configs", json={"taskTimeout": 1, "bogus": 2}).json()["job"]
    assert patched["config"] == {"taskTimeout": "1", "jobTimeout": "0", "isTestJob": False}
    source = {"dataSourceDescriptor": "url", "params": {"url": "https://x/y", "colour": "red"}, "extra": 1}
    patched = api.patch(f"/jobs/{job['id']}/datasource", json={"dataSource": source}).json()["job"]
    assert patched["dataSource"] == {
        "dataSourceDescriptor": "url",
        "params": {"@type": "type.googleapis.com/bytenite.data_source.HttpDataSource", "url": "https://x/y"},
    }


def test_type_is_filled_in_from_the_descriptor(api: httpx.Client) -> None:
    expected = {
        "aws": S3,
        "s3": S3,
        "gcp": S3,
        "storj": S3,
        "url": "type.googleapis.com/bytenite.data_source.HttpDataSource",
        "file": "type.googleapis.com/bytenite.data_source.LocalFileDataSource",
    }
    for descriptor, type_url in expected.items():
        job = create(api, dataSource={"dataSourceDescriptor": descriptor, "params": {}})
        assert job["dataSource"]["params"]["@type"] == type_url, descriptor
    for descriptor in ("bucket", "bypass"):
        job = create(api, dataDestination={"dataSourceDescriptor": descriptor})
        assert job["dataDestination"]["params"] == {}, descriptor


def test_a_given_type_is_kept(api: httpx.Client) -> None:
    params = {"@type": S3, "name": "n", "bucketName": "b"}
    job = create(api, dataSource={"dataSourceDescriptor": "aws", "params": params})
    assert job["dataSource"]["params"] == params


def test_file_sources_get_a_server_made_temp_url(api: httpx.Client) -> None:
    job = create(api, dataSource={"dataSourceDescriptor": "file", "params": {"tempUrl": "client-value"}})
    temp_url = job["dataSource"]["params"]["tempUrl"]
    assert temp_url.startswith("http://127.0.0.1:")
    assert temp_url.endswith(f"/_emulator/uploads/{job['id']}")
    assert httpx.put(temp_url, content=b"data").status_code == 200


def test_output_is_camel_case_everywhere(api: httpx.Client) -> None:
    job = create(api, data_source={"data_source_descriptor": "gcp", "params": {"secret_id": "s"}})
    job.pop("stateTimestamps")  # a map keyed by state names, not fields

    def keys(value: object) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        return set()

    assert not {key for key in keys(job) if "_" in key}


def test_timestamps_are_rfc3339(api: httpx.Client) -> None:
    job = create(api)
    assert job["createdAt"].endswith("Z")
    assert "T" in job["createdAt"]


def test_bodies_are_plain_json(api: httpx.Client) -> None:
    response = api.get("/jobs")
    assert response.headers["content-type"].startswith("application/json")
    json.loads(response.content)


def test_job_field_list_matches_the_wire_module() -> None:
    assert set(wire.JOB_FIELDS) == JOB_FIELDS
