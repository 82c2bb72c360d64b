"""Both sides reach one shape: each wire quirk, one normaliser, and the invariant that nothing diffs forever.

The key property: for any desired job, what the server would send back after storing it, read through
``states.from_api``, has no diff against the desired state. The server is simulated by a small pure function
written here from NOTES.md (not from the package), so a misreading cannot hide on both sides.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler import errors
from reconciler.desired import validation
from reconciler.planning import diffs, references, states

from .helpers import FILE_TYPE, HTTP_TYPE, PROPERTY, QUICK_PROPERTY, S3_TYPE, desired, s3_wire, wire_job

MANIFEST_HEAD = "apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata:\n  id: job-1\nspec:\n"

# --- int64 fields come back as strings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "expected"),
    [("3600", 3600), (3600, 3600), ("86400", 86400), ("0", None), (0, None), ("", None), (None, None)],
)
def test_int64_strings_are_read_as_numbers_and_zero_as_unset(wire: Any, expected: int | None) -> None:
    assert states.normalise_int64(wire) == expected


def test_config_from_the_wire_reads_int64_strings_and_emitted_defaults() -> None:
    job = states.from_api(wire_job(config={"taskTimeout": "3600", "jobTimeout": "0", "isTestJob": None}))
    assert job.units["config.taskTimeout"] == 3600
    assert job.units["config.jobTimeout"] is None
    assert job.units["config.isTestJob"] is False


# --- unset fields are emitted with their defaults ----------------------------------------------------------


def test_every_unit_of_an_empty_job_reads_as_unset() -> None:
    job = states.from_api(wire_job())
    assert set(job.units) == set(states.UNITS)
    assert {unit: value for unit, value in job.units.items() if unit != "config.isTestJob"} == dict.fromkeys(
        set(states.UNITS) - {"config.isTestJob"}
    )
    assert job.units["config.isTestJob"] is False


@pytest.mark.parametrize("empty", [{}, None])
def test_an_empty_struct_is_unset(empty: Any) -> None:
    job = states.from_api(wire_job(params={"partitioner": empty, "assembler": empty, "app": empty}))
    assert job.units["params.app"] is None
    assert job.units["params.partitioner"] is None
    assert states.normalise_struct(empty) is None


@pytest.mark.parametrize(
    "unset",
    [None, {}, {"dataSourceDescriptor": "", "params": None}, {"dataSourceDescriptor": "", "params": {}}],
)
def test_an_unset_data_source_is_none(unset: Any) -> None:
    assert states.normalise_source(unset) is None


def test_empty_strings_and_nulls_in_source_params_are_dropped() -> None:
    source = states.normalise_source(s3_wire(name="in.csv", bucketName="b", cloudRegion="r", secretId="s", token=None))
    assert source == {
        "dataSourceDescriptor": "aws",
        "params": {"@type": S3_TYPE, "name": "in.csv", "bucketName": "b", "cloudRegion": "r", "secretId": "s"},
    }


def test_an_unset_name_is_none_and_a_job_keeps_its_identity() -> None:
    job = states.from_api(wire_job("abc", state="JOB_STATE_STARTED", templateId="tpl", description=None))
    assert job.units["name"] is None
    assert (job.id, job.template_id, job.lifecycle, job.is_draft) == ("abc", "tpl", "JOB_STATE_STARTED", False)
    assert job.description == ""


def test_an_empty_template_id_is_none() -> None:
    assert states.from_api(wire_job(templateId="")).template_id is None


# --- camelCase for the data-source fields the API knows, never for Struct keys -----------------------------


def test_proto_spellings_of_source_fields_read_as_camel_case() -> None:
    raw = {
        "data_source_descriptor": "gcp",
        "params": {"name": "in/", "bucket_name": "b", "cloud_region": "eu", "secret_id": "hmac"},
    }
    assert states.normalise_source(raw) == {
        "dataSourceDescriptor": "gcp",
        "params": {"@type": S3_TYPE, "name": "in/", "bucketName": "b", "cloudRegion": "eu", "secretId": "hmac"},
    }


def test_inline_key_spellings_read_as_camel_case() -> None:
    raw = {"dataSourceDescriptor": "aws", "params": {"access_key": "A", "secret_key": "S", "name": "n"}}
    params = states.normalise_source(raw)["params"]  # type: ignore[index]
    assert {"accessKey", "secretKey"} <= set(params)
    assert not {"access_key", "secret_key"} & set(params)


def test_struct_keys_are_never_renamed() -> None:
    wire = wire_job(
        params={
            "partitioner": {"num_replicas": 4.0},
            "assembler": {},
            "app": {"secret_id": "not-a-source", "bucket_name": "x", "nested": {"cloud_region": "eu"}},
        }
    )
    job = states.from_api(wire)
    assert job.units["params.partitioner"] == {"num_replicas": 4}
    assert job.units["params.app"] == {
        "secret_id": "not-a-source",
        "bucket_name": "x",
        "nested": {"cloud_region": "eu"},
    }


def test_manifest_struct_keys_are_never_renamed() -> None:
    job = desired({"params": {"partitioner": {"num_replicas": 4}, "app": {"secret_id": "x"}}})
    assert job.units["params.partitioner"] == {"num_replicas": 4}
    assert job.units["params.app"] == {"secret_id": "x"}


def test_server_added_fields_are_only_dropped_from_data_sources() -> None:
    job = states.from_api(wire_job(params={"app": {"tempUrl": "https://mine"}}))
    assert job.units["params.app"] == {"tempUrl": "https://mine"}


# --- Struct numbers are doubles ----------------------------------------------------------------------------


def test_integral_doubles_read_as_ints_at_any_depth() -> None:
    value = {"steps": 30.0, "guidance": 7.5, "sizes": [{"width": 1024.0}, 512.0], "neg": -2.0}
    result = states.integral_floats(value)
    assert result == {"steps": 30, "guidance": 7.5, "sizes": [{"width": 1024}, 512], "neg": -2}
    assert type(result["steps"]) is int
    assert type(result["sizes"][0]["width"]) is int
    assert type(result["guidance"]) is float


def test_booleans_in_structs_stay_booleans() -> None:
    result = states.normalise_struct({"flag": True, "off": False, "list": [True, 1.0]})
    assert result is not None
    assert result["flag"] is True
    assert result["off"] is False
    assert result["list"][0] is True
    assert type(result["list"][1]) is int


def test_non_finite_and_non_integral_doubles_are_left_alone() -> None:
    assert states.integral_floats(0.5) == 0.5
    assert states.integral_floats(float("inf")) == float("inf")
    assert states.integral_floats("4.0") == "4.0"


# --- file sources: the server adds tempUrl -----------------------------------------------------------------


def test_temp_url_is_dropped_from_file_sources() -> None:
    wire = {"dataSourceDescriptor": "file", "params": {"@type": FILE_TYPE, "tempUrl": "https://upload/put?sig=1"}}
    assert states.normalise_source(wire) == {"dataSourceDescriptor": "file", "params": {"@type": FILE_TYPE}}


def test_a_declared_file_source_equals_the_server_s_with_its_temp_url() -> None:
    job = desired({"dataSource": {"dataSourceDescriptor": "file"}})
    wire = {"dataSourceDescriptor": "file", "params": {"@type": FILE_TYPE, "tempUrl": "https://upload/put?sig=1"}}
    current = states.from_api(wire_job(dataSource=wire))
    assert diffs.diff(job, current) == ()


# --- descriptors: s3 is aws, @type follows the descriptor, bucket/bypass carry no params --------------------


def test_s3_is_read_as_aws() -> None:
    assert states.canonical_descriptor("s3") == "aws"
    source = states.normalise_source({"dataSourceDescriptor": "s3", "params": {"@type": S3_TYPE, "name": "n"}})
    assert source is not None
    assert source["dataSourceDescriptor"] == "aws"


@pytest.mark.parametrize(
    ("descriptor", "type_url"),
    [("aws", S3_TYPE), ("s3", S3_TYPE), ("gcp", S3_TYPE), ("storj", S3_TYPE), ("url", HTTP_TYPE), ("file", FILE_TYPE)],
)
def test_type_is_filled_in_from_the_descriptor(descriptor: str, type_url: str) -> None:
    source = states.normalise_source({"dataSourceDescriptor": descriptor, "params": {"name": "n"}})
    assert source is not None
    assert source["params"]["@type"] == type_url


def test_a_given_type_is_kept() -> None:
    source = states.normalise_source({"dataSourceDescriptor": "url", "params": {"@type": "custom", "url": "u"}})
    assert source == {"dataSourceDescriptor": "url", "params": {"@type": "custom", "url": "u"}}


@pytest.mark.parametrize("descriptor", ["bucket", "bypass"])
@pytest.mark.parametrize("params", [None, {}, {"@type": ""}, {"@type": None}])
def test_bucket_and_bypass_carry_empty_params(descriptor: str, params: Any) -> None:
    source = {"dataSourceDescriptor": descriptor, "params": params}
    assert states.normalise_source(source) == {"dataSourceDescriptor": descriptor, "params": {}}


def test_manifest_sources_reach_the_wire_s_form() -> None:
    job = desired(
        {
            "dataSource": {
                "dataSourceDescriptor": "s3",
                "params": {"name": "in.mp4", "bucket_name": "b", "cloud_region": "us-east-1", "secret_id": "r"},
            },
            "dataDestination": {"dataSourceDescriptor": "bucket"},
        }
    )
    assert job.units["dataSource"] == {
        "dataSourceDescriptor": "aws",
        "params": {"@type": S3_TYPE, "name": "in.mp4", "bucketName": "b", "cloudRegion": "us-east-1", "secretId": "r"},
    }
    assert job.units["dataDestination"] == {"dataSourceDescriptor": "bucket", "params": {}}


# --- desired state holds only what the manifest declares ---------------------------------------------------


def test_desired_state_holds_only_declared_units() -> None:
    job = desired({"templateId": "t", "params": {"app": {"a": 1}}, "config": {"taskTimeout": 60}})
    assert set(job.units) == {"params.app", "config.taskTimeout"}
    assert job.template_id == "t"


def test_a_struct_declared_empty_is_declared_unset() -> None:
    job = desired({"params": {"app": {}, "assembler": None}})
    assert job.units == {"params.app": None, "params.assembler": None}


# --- equality keeps JSON's kinds apart ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (True, 1),
        (1, True),
        (False, 0),
        (0, None),
        (1, "1"),
        ("1", 1),
        ({"a": True}, {"a": 1}),
        ([1, True], [1, 1]),
        ({"a": 1}, {"a": 1, "b": 2}),
        ([1], [1, 1]),
        ({"a": [1]}, [{"a": 1}]),
        ("", None),
    ],
)
def test_equal_tells_kinds_and_values_apart(left: Any, right: Any) -> None:
    assert not states.equal(left, right)
    assert not states.equal(right, left)


@pytest.mark.parametrize("value", [None, True, 0, 1, 7.5, "x", {"a": [1, {"b": False}]}, [], {}, [None, "1", 1, True]])
def test_equal_values_are_equal(value: Any) -> None:
    assert states.equal(value, json.loads(json.dumps(value)))


# --- properties ---------------------------------------------------------------------------------------------

# No "$": a random string must never look like a ${env:NAME} reference.
TEXT = st.text(alphabet=st.characters(blacklist_characters="$", blacklist_categories=["Cs"]), max_size=12)
KEYS = TEXT | st.sampled_from(["num_replicas", "secret_id", "bucket_name", "secretId", "tempUrl", "@type", ""])
# Doubles hold every integer up to 2**53 exactly; larger ones are a known bug (see test_big_ints_...).
INTS = st.integers(min_value=-(2**53), max_value=2**53)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
SCALARS = st.none() | st.booleans() | INTS | FLOATS | TEXT
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=10
)
STRUCTS = st.dictionaries(KEYS, VALUES, max_size=5)


def _canonical(value: Any) -> str:
    """A value's JSON text: tells ``30`` from ``30.0``, which ``==`` does not."""
    return json.dumps(value, sort_keys=True)


@QUICK_PROPERTY
@given(VALUES)
def test_integral_floats_is_idempotent(value: Any) -> None:
    once = states.integral_floats(value)
    assert _canonical(states.integral_floats(once)) == _canonical(once)


@QUICK_PROPERTY
@given(st.none() | STRUCTS)
def test_normalise_struct_is_idempotent(value: Any) -> None:
    once = states.normalise_struct(value)
    assert _canonical(states.normalise_struct(once)) == _canonical(once)


def _raw_sources() -> st.SearchStrategy[dict[str, Any]]:
    """Data sources as either side may spell them: any descriptor, either spelling, defaults, server fields."""
    field_names = st.sampled_from(
        [
            "name", "bucketName", "bucket_name", "cloudRegion", "cloud_region", "secretId", "secret_id",
            "accessKey", "access_key", "url", "tempUrl", "temp_url", "@type", "password",
        ]
    )  # fmt: skip
    values = st.none() | st.just("") | TEXT | INTS | FLOATS | st.booleans()
    params = st.none() | st.dictionaries(field_names, values, max_size=6)
    descriptors = st.sampled_from(["aws", "s3", "gcp", "storj", "url", "file", "bucket", "bypass", ""])
    descriptor_key = st.sampled_from(["dataSourceDescriptor", "data_source_descriptor"])
    return st.builds(
        lambda key, descriptor, body: {key: descriptor, "params": body}, descriptor_key, descriptors, params
    )


@QUICK_PROPERTY
@given(st.none() | _raw_sources())
def test_normalise_source_is_idempotent(value: Any) -> None:
    once = states.normalise_source(value)
    assert _canonical(states.normalise_source(once)) == _canonical(once)


def _jobs() -> st.SearchStrategy[states.Job]:
    """Normalised jobs with any subset of units declared."""
    unit_values = {
        "name": TEXT.filter(bool),
        "dataSource": _raw_sources().map(states.normalise_source),
        "dataDestination": _raw_sources().map(states.normalise_source),
        "params.partitioner": STRUCTS.map(states.normalise_struct),
        "params.assembler": STRUCTS.map(states.normalise_struct),
        "params.app": STRUCTS.map(states.normalise_struct),
        "config.taskTimeout": st.none() | st.integers(1, 2**63 - 1),
        "config.jobTimeout": st.none() | st.integers(1, 2**63 - 1),
        "config.isTestJob": st.booleans(),
    }
    return st.fixed_dictionaries({}, optional=unit_values).map(lambda units: states.Job("job-1", units))


@QUICK_PROPERTY
@given(_jobs())
def test_a_job_has_no_diff_against_itself(job: states.Job) -> None:
    assert diffs.diff(job, job) == ()
    assert diffs.changed_units(job, job) == []


# --- the server, simulated from NOTES.md --------------------------------------------------------------------

CAMEL = {
    "bucket_name": "bucketName",
    "cloud_region": "cloudRegion",
    "secret_id": "secretId",
    "access_key": "accessKey",
    "secret_key": "secretKey",
}
MESSAGE_TYPES = {"aws": S3_TYPE, "s3": S3_TYPE, "gcp": S3_TYPE, "storj": S3_TYPE, "url": HTTP_TYPE, "file": FILE_TYPE}
# The fields each params message has: proto3 emits every one, an unset string as "".
MESSAGE_FIELDS = {
    S3_TYPE: ("name", "bucketName", "cloudRegion", "secretId", "accessKey", "secretKey"),
    HTTP_TYPE: ("url", "password"),
    FILE_TYPE: ("tempUrl",),
}
REFERENCE = re.compile(r"\$\{env:(\w+)\}")
ENVIRON = {"SECRET_ID": "from-env-secret", "ACCESS": "AKIAFROMENV", "SECRET": "s3cr3t/from+env", "PASS": "hunter2"}


def _resolved(value: Any) -> Any:
    match = REFERENCE.fullmatch(value) if isinstance(value, str) else None
    return ENVIRON[match.group(1)] if match else value


def _wire_struct(value: Any) -> Any:
    """A protobuf Struct: every number is a double; bools stay bools; keys are never renamed."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [_wire_struct(item) for item in value]
    return {key: _wire_struct(item) for key, item in value.items()}


def _wire_source(source: dict[str, Any] | None, server: dict[str, Any]) -> Any:
    """What ``GET /jobs`` shows for a source the server stored from ``source``."""
    if source is None:
        return server["unset_source"]
    descriptor = source["dataSourceDescriptor"]
    shown = "aws" if descriptor == "s3" and not server["echo_alias"] else descriptor
    type_url = MESSAGE_TYPES.get(descriptor)
    if type_url is None:  # bucket, bypass: no params message at all
        return {"dataSourceDescriptor": shown, "params": server["empty_params"]}
    params: dict[str, Any] = {"@type": type_url, **dict.fromkeys(MESSAGE_FIELDS[type_url], "")}
    for key, value in (source.get("params") or {}).items():
        if key != "@type":
            params[CAMEL.get(key, key)] = _resolved(value)
    if descriptor == "file":
        params["tempUrl"] = "https://upload.bytenite.example/put/abc?signature=xyz"
    return {"dataSourceDescriptor": shown, "params": params}


def _wire_int64(value: int | None) -> str:
    return str(value or 0)


def server_sends_back(spec: dict[str, Any], server: dict[str, Any]) -> dict[str, Any]:
    """The job object the API returns after storing ``spec``; undeclared fields hold the server's own values."""
    junk = server["undeclared"]
    params = spec.get("params") or {}
    config = spec.get("config") or {}
    struct = {
        engine: _wire_struct(params[engine]) if engine in params else junk[engine]
        for engine in ("partitioner", "assembler", "app")
    }
    job = {
        "id": "job-1",
        "name": spec.get("name") or junk["name"],
        "templateId": spec.get("templateId") or "",
        "state": "JOB_STATE_NEW",
        "description": spec.get("description") or "",
        "dataSource": _wire_source(spec["dataSource"], server) if "dataSource" in spec else junk["source"],
        "dataDestination": _wire_source(spec["dataDestination"], server)
        if "dataDestination" in spec
        else junk["source"],
        "params": {
            engine: {} if value is None and server["empty_struct"] else value for engine, value in struct.items()
        },
        "config": {
            "taskTimeout": _wire_int64(config["taskTimeout"]) if "taskTimeout" in config else junk["timeout"],
            "jobTimeout": _wire_int64(config["jobTimeout"]) if "jobTimeout" in config else junk["timeout"],
            "isTestJob": config["isTestJob"] if "isTestJob" in config else junk["test"],
        },
        "executionPriority": "EXECUTION_PRIORITY_UNDEFINED",
        "createdAt": "2026-11-23T18:00:00Z",
    }
    carried: dict[str, Any] = json.loads(json.dumps(job))  # through real JSON, as the wire carries it
    return carried


# --- manifests, generated ------------------------------------------------------------------------------------

NON_EMPTY = TEXT.filter(bool)


def _spelling(camel: str, snake: str) -> st.SearchStrategy[str]:
    return st.sampled_from([camel, snake])


@st.composite
def _s3_sources(draw: st.DrawFn) -> dict[str, Any]:
    params: dict[str, Any] = {
        "name": draw(NON_EMPTY),
        draw(_spelling("bucketName", "bucket_name")): draw(NON_EMPTY),
        draw(_spelling("cloudRegion", "cloud_region")): draw(NON_EMPTY),
    }
    if draw(st.booleans()):
        params[draw(_spelling("secretId", "secret_id"))] = draw(NON_EMPTY | st.just("${env:SECRET_ID}"))
    if ("secretId" not in params and "secret_id" not in params) or draw(st.booleans()):
        params[draw(_spelling("accessKey", "access_key"))] = "${env:ACCESS}"
        params[draw(_spelling("secretKey", "secret_key"))] = "${env:SECRET}"
    if draw(st.booleans()):
        params["@type"] = S3_TYPE
    return {"dataSourceDescriptor": draw(st.sampled_from(["aws", "s3", "gcp", "storj"])), "params": params}


URLS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/._-", max_size=20).map(
    lambda path: f"https://example.com/{path}"
)
PASSWORDS: list[dict[str, str]] = [{}, {"password": "${env:PASS}"}]
URL_SOURCES = st.builds(
    lambda url, password: {"dataSourceDescriptor": "url", "params": {"url": url, **password}},
    URLS,
    st.sampled_from(PASSWORDS),
)
EMPTY_PARAMS: st.SearchStrategy[dict[str, Any]] = st.sampled_from([{}, {"params": None}, {"params": {}}])
FILE_SOURCES = EMPTY_PARAMS.map(lambda extra: {"dataSourceDescriptor": "file", **extra}) | st.just(
    {"dataSourceDescriptor": "file", "params": {"@type": FILE_TYPE}}
)


def _plain(descriptor: str) -> st.SearchStrategy[dict[str, Any]]:
    return EMPTY_PARAMS.map(lambda extra: {"dataSourceDescriptor": descriptor, **extra})


SOURCES = _s3_sources() | URL_SOURCES | FILE_SOURCES | _plain("bypass")
DESTINATIONS = _s3_sources() | _plain("bucket") | _plain("bypass")
ENGINES = st.fixed_dictionaries(
    {}, optional={engine: st.none() | STRUCTS for engine in ("partitioner", "assembler", "app")}
)
CONFIGS = st.fixed_dictionaries(
    {},
    optional={
        "taskTimeout": st.none() | st.integers(1, 2**63 - 1),
        "jobTimeout": st.none() | st.integers(1, 2**63 - 1),
        # isTestJob: null is a known bug (see test_is_test_job_declared_null_...).
        "isTestJob": st.booleans(),
    },
)
SPECS = st.fixed_dictionaries(
    {},
    optional={
        "name": NON_EMPTY,
        "templateId": NON_EMPTY,
        "description": TEXT,
        "dataSource": SOURCES,
        "dataDestination": DESTINATIONS,
        "params": ENGINES,
        "config": CONFIGS,
    },
)
SERVERS = st.fixed_dictionaries(
    {
        "echo_alias": st.booleans(),
        "unset_source": st.sampled_from([None, {}, {"dataSourceDescriptor": "", "params": None}]),
        "empty_params": st.sampled_from([None, {}]),
        "empty_struct": st.booleans(),
        "undeclared": st.fixed_dictionaries(
            {
                "name": TEXT,
                "partitioner": STRUCTS.map(_wire_struct),
                "assembler": STRUCTS.map(_wire_struct),
                "app": STRUCTS.map(_wire_struct),
                "source": st.just(s3_wire(name="theirs", bucketName="b", cloudRegion="r", secretId="s")) | st.none(),
                "timeout": st.integers(0, 10**6).map(str),
                "test": st.booleans(),
            }
        ),
    }
)


def _desired(spec: dict[str, Any]) -> states.Job:
    job, missing = references.resolve(desired(spec), ENVIRON)
    assert missing == []
    return job


@PROPERTY
@given(SPECS, SERVERS)
def test_what_the_server_sends_back_has_no_diff_against_the_manifest(
    spec: dict[str, Any], server: dict[str, Any]
) -> None:
    wanted = _desired(spec)
    current = states.from_api(server_sends_back(spec, server))
    assert diffs.diff(wanted, current) == ()
    assert diffs.changed_units(wanted, current) == []
    # Not only equal: the same JSON, so a plan shows 30 where the manifest says 30 (never 30.0).
    assert {unit: _canonical(value) for unit, value in wanted.units.items()} == {
        unit: _canonical(current.units[unit]) for unit in wanted.units
    }
    # Reading the wire is idempotent: normalising the current state again changes nothing.
    for unit in ("dataSource", "dataDestination"):
        assert states.normalise_source(current.units[unit]) == current.units[unit]
    for unit in ("params.partitioner", "params.assembler", "params.app"):
        assert _canonical(states.normalise_struct(current.units[unit])) == _canonical(current.units[unit])


def test_the_simulated_server_is_not_a_tautology() -> None:
    """The property above can fail: a real difference on a declared unit is seen through the simulation."""
    spec = {"name": "Mine", "params": {"app": {"steps": 30}}, "config": {"taskTimeout": 600}}
    undeclared: dict[str, Any] = {
        "name": "",
        "partitioner": {},
        "assembler": {},
        "app": {},
        "source": None,
        "timeout": "0",
        "test": False,
    }
    server = {"echo_alias": False, "unset_source": None, "empty_params": None, "empty_struct": True}
    sent_back = server_sends_back(spec, server | {"undeclared": undeclared})
    assert sent_back["params"]["app"] == {"steps": 30.0}
    assert sent_back["config"]["taskTimeout"] == "600"
    sent_back["params"]["app"]["steps"] = 31.0
    changes = diffs.diff(_desired(spec), states.from_api(sent_back))
    assert [(change.dotted, change.before, change.after) for change in changes] == [("params.app.steps", 31, 30)]


# --- values that could never converge are refused before they reach the desired state ---------------------


def test_big_ints_in_structs_are_refused_since_the_wire_rounds_them(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(MANIFEST_HEAD + f"  params:\n    app:\n      seed: {2**53 + 1}\n")
    with pytest.raises(errors.ManifestErrors) as raised:
        validation.load([str(path)])
    (problem,) = raised.value.problems
    assert str(problem.position) == f"{path}:8:7"
    assert "beyond 2^53" in problem.message


def test_a_declared_null_is_refused_rather_than_never_converging(tmp_path: Path) -> None:
    path = tmp_path / "null.yaml"
    path.write_text(MANIFEST_HEAD + "  config:\n    isTestJob: null\n")
    with pytest.raises(errors.ManifestErrors) as raised:
        validation.load([str(path)])
    (problem,) = raised.value.problems
    assert str(problem.position) == f"{path}:7:5"
    assert problem.message.startswith("null is not allowed here")
