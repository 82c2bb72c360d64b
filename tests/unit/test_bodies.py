"""PATCH bodies replace a whole section: declared units from the manifest, the rest as the server has them."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.planning import bodies, states

from .helpers import FILE_TYPE, S3_TYPE, desired, s3_wire, wire_job

SERVER_SOURCE = s3_wire(name="in.csv", bucketName="theirs", cloudRegion="eu", secretId="reader")
SERVER_DESTINATION = s3_wire(name="out/", bucketName="results", cloudRegion="eu", secretId="writer")


def server(**fields: Any) -> states.Job:
    return states.from_api(wire_job(**fields))


def test_the_endpoint_of_each_section() -> None:
    assert [bodies.path("j-1", section) for section in states.SECTIONS] == [
        "/jobs/j-1/jobname",
        "/jobs/j-1/datasource",
        "/jobs/j-1/params",
        "/jobs/j-1/configs",
    ]


def test_the_jobname_body_is_a_bare_string() -> None:
    body = bodies.build("jobname", desired({"name": "Nightly renders"}), server(name="Old"))
    assert body == "Nightly renders"
    assert isinstance(body, str)


# --- params -----------------------------------------------------------------------------------------------


def test_undeclared_engines_are_taken_from_the_server() -> None:
    current = server(params={"partitioner": {"num_replicas": 4.0}, "assembler": {"format": "zip"}, "app": {"a": 1.0}})
    body = bodies.build("params", desired({"params": {"app": {"steps": 30}}}), current)
    assert body == {"partitioner": {"num_replicas": 4}, "assembler": {"format": "zip"}, "app": {"steps": 30}}


def test_unset_engines_are_left_out_never_null() -> None:
    current = server(params={"partitioner": {}, "assembler": None, "app": {"a": 1.0}})
    body = bodies.build("params", desired({"params": {"app": {"steps": 30}}}), current)
    assert body == {"app": {"steps": 30}}


def test_an_engine_declared_empty_is_left_out_which_clears_it() -> None:
    current = server(params={"partitioner": {"n": 1.0}, "assembler": {}, "app": {"a": 1.0}})
    body = bodies.build("params", desired({"params": {"app": {}}}), current)
    assert body == {"partitioner": {"n": 1}}


# --- configs ----------------------------------------------------------------------------------------------


def test_undeclared_config_fields_are_taken_from_the_server() -> None:
    current = server(config={"taskTimeout": "3600", "jobTimeout": "86400", "isTestJob": True})
    body = bodies.build("configs", desired({"config": {"taskTimeout": 600}}), current)
    assert body == {"taskTimeout": 600, "jobTimeout": 86400, "isTestJob": True}


def test_unset_config_fields_are_left_out() -> None:
    current = server(config={"taskTimeout": "0", "jobTimeout": "0", "isTestJob": False})
    body = bodies.build("configs", desired({"config": {"jobTimeout": 60}}), current)
    assert body == {"jobTimeout": 60, "isTestJob": False}
    assert None not in body.values()


# --- datasource -------------------------------------------------------------------------------------------


def test_the_undeclared_destination_is_taken_from_the_server() -> None:
    spec = {
        "dataSource": {
            "dataSourceDescriptor": "aws",
            "params": {"name": "new.csv", "bucketName": "mine", "cloudRegion": "eu", "secretId": "reader"},
        }
    }
    body = bodies.build(
        "datasource", desired(spec), server(dataSource=SERVER_SOURCE, dataDestination=SERVER_DESTINATION)
    )
    assert body == {
        "dataSource": {
            "dataSourceDescriptor": "aws",
            "params": {
                "@type": S3_TYPE,
                "name": "new.csv",
                "bucketName": "mine",
                "cloudRegion": "eu",
                "secretId": "reader",
            },
        },
        "dataDestination": {
            "dataSourceDescriptor": "aws",
            "params": {
                "@type": S3_TYPE,
                "name": "out/",
                "bucketName": "results",
                "cloudRegion": "eu",
                "secretId": "writer",
            },
        },
    }


def test_an_unset_destination_is_left_out() -> None:
    body = bodies.build("datasource", desired({"dataSource": {"dataSourceDescriptor": "bypass"}}), server())
    assert body == {"dataSource": {"dataSourceDescriptor": "bypass"}}


@pytest.mark.parametrize("descriptor", ["bucket", "bypass"])
def test_bucket_and_bypass_are_sent_without_params(descriptor: str) -> None:
    body = bodies.build(
        "datasource", desired({"dataDestination": {"dataSourceDescriptor": descriptor, "params": {}}}), server()
    )
    assert body == {"dataDestination": {"dataSourceDescriptor": descriptor}}


def test_a_server_bucket_re_sent_without_params() -> None:
    current = server(dataDestination={"dataSourceDescriptor": "bucket", "params": {}})
    body = bodies.build("datasource", desired({"dataSource": {"dataSourceDescriptor": "file"}}), current)
    assert body == {
        "dataSource": {"dataSourceDescriptor": "file", "params": {"@type": FILE_TYPE}},
        "dataDestination": {"dataSourceDescriptor": "bucket"},
    }


def test_a_file_source_never_sends_the_server_s_temp_url() -> None:
    current = server(
        dataSource={"dataSourceDescriptor": "file", "params": {"@type": FILE_TYPE, "tempUrl": "https://u"}}
    )
    body = bodies.build("datasource", desired({"dataDestination": {"dataSourceDescriptor": "bucket"}}), current)
    assert body["dataSource"] == {"dataSourceDescriptor": "file", "params": {"@type": FILE_TYPE}}


@pytest.mark.parametrize("section", states.SECTIONS[1:])
def test_no_object_body_holds_a_null(section: str) -> None:
    body = bodies.build(section, desired({"name": "x"}), server())
    assert None not in body.values()
