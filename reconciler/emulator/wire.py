"""Protobuf-JSON as ByteNite's gRPC gateway speaks it: request parsing and job rendering.

The emulator stores every job already in its wire shape (camelCase keys, int64 as strings, every field
present with its default), so a read costs no rendering at all. Parsing is therefore where each quirk is
reproduced, one small function per quirk, each commented where it happens.

Parsing is strict where the contract is (NOTES.md: a JSON ``null`` where the spec says object or string is
400 code 3) and lenient where the gateway is (snake_case aliases, unknown fields dropped).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_INTEGER_STRING = re.compile(r"-?[0-9]+")

STATES = (
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
    "JOB_STATE_FAILED",
)
PRIORITY_UNDEFINED = "EXECUTION_PRIORITY_UNDEFINED"

# Data-source descriptors and the message type the gateway resolves their params to (NOTES.md table).
_TYPE_PREFIX = "type.googleapis.com/bytenite.data_source."
S3_TYPE = _TYPE_PREFIX + "S3DataSource"
HTTP_TYPE = _TYPE_PREFIX + "HttpDataSource"
FILE_TYPE = _TYPE_PREFIX + "LocalFileDataSource"
DESCRIPTOR_TYPES = {
    "aws": S3_TYPE,
    "s3": S3_TYPE,
    "gcp": S3_TYPE,
    "storj": S3_TYPE,
    "url": HTTP_TYPE,
    "file": FILE_TYPE,
}

# Fields each known params message has, in their JSON (camelCase) spelling; anything else is dropped.
_TYPE_FIELDS = {
    S3_TYPE: frozenset({"name", "bucketName", "cloudRegion", "secretId", "accessKey", "secretKey"}),
    HTTP_TYPE: frozenset({"url", "username", "password", "secretId"}),
    FILE_TYPE: frozenset(),
}
# Proto field names the gateway also accepts on input, mapped to their JSON names.
_PARAMS_ALIASES = {
    "bucket_name": "bucketName",
    "cloud_region": "cloudRegion",
    "secret_id": "secretId",
    "access_key": "accessKey",
    "secret_key": "secretKey",
    "temp_url": "tempUrl",
}


class BadRequest(Exception):
    """A request the gateway would refuse with 400 code 3 (INVALID_ARGUMENT)."""


@dataclass(frozen=True)
class CreateRequest:
    """A parsed ``POST /jobs`` body: the identity fields and the sections present in the body."""

    template_id: str
    job_id: str
    sections: JsonObject = field(default_factory=dict)


# --- JSON and scalar types -------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    # Python's json module accepts NaN and Infinity; JSON (and the gateway) does not.
    raise BadRequest(f"invalid JSON: {name} is not a JSON value")


def parse_json(body: bytes) -> Any:
    """Decode a request body; an empty or invalid one is a 400, never a 500."""
    if not body.strip():
        raise BadRequest("a JSON request body is required")
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"invalid JSON body: {exc}") from None


def _pick(obj: Mapping[str, Any], name: str, alias: str | None = None) -> tuple[bool, Any]:
    # Input accepts both the JSON name and the proto field name (quirk 3); the JSON name wins.
    if name in obj:
        return True, obj[name]
    if alias is not None and alias in obj:
        return True, obj[alias]
    return False, None


def require_object(value: Any, where: str) -> JsonObject:
    """An object where the spec says object; ``null`` included is refused (strict, per NOTES.md)."""
    if not isinstance(value, dict):
        raise BadRequest(f"{where}: expected a JSON object, got {_kind(value)}")
    return value


def require_string(value: Any, where: str) -> str:
    """A string where the spec says string; ``null`` is refused."""
    if not isinstance(value, str):
        raise BadRequest(f"{where}: expected a string, got {_kind(value)}")
    return value


def _int64(value: Any, where: str) -> str:
    # int64 input may be a number or a decimal string; it is always written back as a string (quirk 1).
    if isinstance(value, bool):
        raise BadRequest(f"{where}: expected an integer, got a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _INTEGER_STRING.fullmatch(value):
        value = int(value)
    if not isinstance(value, int):
        raise BadRequest(f"{where}: expected an integer or an integer string, got {_kind(value)}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise BadRequest(f"{where}: {value} is out of the int64 range")
    return str(value)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{where}: expected a boolean, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")


# --- Structs -----------------------------------------------------------------------------------------------


def _struct_value(value: Any, where: str) -> Any:
    # A protobuf Struct holds every number as a double, so 4 is read back as 4.0 (quirk 5).
    # Keys are left exactly as sent: Structs are free-form, the gateway never camelCases them.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            raise BadRequest(f"{where}: {value} does not fit a double") from None
    if isinstance(value, float):
        return value
    if isinstance(value, list):
        return [_struct_value(item, where) for item in value]
    return {key: _struct_value(item, where) for key, item in value.items()}


def parse_struct(value: Any, where: str) -> JsonObject:
    """A free-form Struct (params.partitioner/assembler/app): an object, numbers as doubles."""
    return _struct_value(require_object(value, where), where)  # type: ignore[no-any-return]


# --- Sections ----------------------------------------------------------------------------------------------


def parse_name(value: Any) -> str:
    """``PATCH /jobname`` takes a bare JSON string, not an object."""
    return require_string(value, "body")


_CONFIG_FIELDS = (("taskTimeout", "task_timeout"), ("jobTimeout", "job_timeout"))


def parse_config(value: Any, where: str = "config") -> JsonObject:
    """A whole config section; a field the body lacks is reset to its default (replace semantics)."""
    obj = require_object(value, where)
    config: JsonObject = {}
    for name, alias in _CONFIG_FIELDS:
        present, raw = _pick(obj, name, alias)
        config[name] = _int64(raw, f"{where}.{name}") if present else "0"
    present, raw = _pick(obj, "isTestJob", "is_test_job")
    config["isTestJob"] = _bool(raw, f"{where}.isTestJob") if present else False
    return config


def parse_params(value: Any, where: str = "params") -> JsonObject:
    """A whole params section. An absent Struct is rendered ``{}``: the spec types it object, not null."""
    obj = require_object(value, where)
    present, preset = _pick(obj, "preset")
    params: JsonObject = {"preset": require_string(preset, f"{where}.preset") if present else ""}
    for name in ("partitioner", "assembler", "app"):
        present, raw = _pick(obj, name)
        params[name] = parse_struct(raw, f"{where}.{name}") if present else {}
    return params


def parse_data_source(value: Any, where: str) -> JsonObject:
    """One data source or destination: descriptor plus typed params."""
    obj = require_object(value, where)
    present, descriptor = _pick(obj, "dataSourceDescriptor", "data_source_descriptor")
    descriptor = require_string(descriptor, f"{where}.dataSourceDescriptor") if present else ""
    present, raw = _pick(obj, "params")
    params = require_object(raw, f"{where}.params") if present else {}
    return {"dataSourceDescriptor": descriptor, "params": _data_source_params(descriptor, params, where)}


def _data_source_params(descriptor: str, params: JsonObject, where: str) -> JsonObject:
    # The gateway resolves `@type` from the descriptor when the client leaves it out; bucket and bypass
    # have no params message, so their params stay an (empty) object.
    present, type_url = _pick(params, "@type")
    type_url = require_string(type_url, f"{where}.params.@type") if present else DESCRIPTOR_TYPES.get(descriptor)
    known = _TYPE_FIELDS.get(type_url) if type_url else None
    out: JsonObject = {"@type": type_url} if type_url else {}
    for key, item in params.items():
        name = _PARAMS_ALIASES.get(key, key)
        if name in ("@type", "tempUrl"):
            continue  # tempUrl is the server's own (quirk 6): whatever the client sends is replaced
        if known is None or name in known:
            out[name] = item
        # else: a field the params message does not have is silently dropped (quirk 4)
    return out


def with_temp_url(data_source: JsonObject | None, url: str) -> JsonObject | None:
    """The server adds ``tempUrl`` to ``file`` sources: where the client PUTs the file (quirk 6)."""
    if data_source is None or data_source["params"].get("@type") != FILE_TYPE:
        return data_source
    return {**data_source, "params": {**data_source["params"], "tempUrl": url}}


def parse_data_sources(value: Any) -> JsonObject:
    """``PATCH /datasource``: both sub-objects; one missing from the body becomes unset (null)."""
    obj = require_object(value, "body")
    out: JsonObject = {}
    for name, alias in (("dataSource", "data_source"), ("dataDestination", "data_destination")):
        present, raw = _pick(obj, name, alias)
        out[name] = parse_data_source(raw, name) if present else None
    return out


def parse_run(value: Any) -> JsonObject | None:
    """``POST /run`` needs a JSON object; its optional ``config`` replaces the job's config."""
    obj = require_object(value, "body")
    present, raw = _pick(obj, "config")
    return parse_config(raw) if present else None


_CREATE_SECTIONS = (
    ("name", None, lambda v: require_string(v, "name")),
    ("description", None, lambda v: require_string(v, "description")),
    ("dataSource", "data_source", lambda v: parse_data_source(v, "dataSource")),
    ("dataDestination", "data_destination", lambda v: parse_data_source(v, "dataDestination")),
    ("params", None, parse_params),
    ("config", None, parse_config),
)


def parse_sections(obj: JsonObject) -> JsonObject:
    """The editable sections present in a create (or seed) body, parsed; absent ones are not listed."""
    sections: JsonObject = {}
    for name, alias, parse in _CREATE_SECTIONS:
        present, raw = _pick(obj, name, alias)
        if present:
            sections[name] = parse(raw)
    return sections


def parse_create(value: Any) -> CreateRequest:
    """``POST /jobs``: ``templateId`` is required; unknown and read-only fields are dropped."""
    obj = require_object(value, "body")
    present, template_id = _pick(obj, "templateId", "template_id")
    if not present or not require_string(template_id, "templateId"):
        raise BadRequest("templateId is required")
    present, job_id = _pick(obj, "jobId", "job_id")
    job_id = require_string(job_id, "jobId") if present else ""
    return CreateRequest(template_id=template_id, job_id=job_id, sections=parse_sections(obj))


def parse_state(value: Any, where: str = "state") -> str:
    """A job state name, one of the spec's enum."""
    state = require_string(value, where)
    if state not in STATES:
        raise BadRequest(f"{where}: unknown job state {state!r}")
    return state


# --- Output ------------------------------------------------------------------------------------------------


def template_info(template_id: str) -> JsonObject:
    """The template a job runs: the emulator knows templates by id only, other fields are defaults."""
    return {"id": template_id, "owner": "", "description": "", "app": "", "partitioner": "", "assembler": ""}


def new_job(job_id: str, template_id: str, created_at: str) -> JsonObject:
    """A job with every jobJob property at its protobuf default (quirk 2: defaults are emitted, not omitted)."""
    return {
        "id": job_id,
        "templateId": template_id,
        "name": "",
        "config": None,
        "priority": PRIORITY_UNDEFINED,
        "startAt": None,
        "submittedAt": None,
        "startedAt": None,
        "endedAt": None,
        "regions": None,
        "state": "JOB_STATE_NEW",
        "dataSource": None,
        "params": None,
        "dataDestination": None,
        "duration": 0.0,
        "deletedAt": None,
        "createdAt": created_at,
        "paymentAmount": 0.0,
        "numUnitsEstimation": "0",
        "numChunks": 0,
        "errorMessage": "",
        "description": "",
        "stateTimestamps": {"JOB_STATE_NEW": created_at},
        "appId": "",
        "templateInfo": template_info(template_id),
    }


JOB_FIELDS = tuple(new_job("", "", ""))


def job_response(job: JsonObject) -> JsonObject:
    """``jobsJobResponse``: the job and its template."""
    return {"job": job, "templateInfo": job["templateInfo"]}


def rpc_status(code: int, message: str) -> JsonObject:
    """The gateway's error body."""
    return {"code": code, "message": message, "details": []}


def generic_response(request_id: str, message: str) -> JsonObject:
    """``commonGenericResponse``, what run, abort and delete answer."""
    return {"ok": True, "requestId": request_id, "message": message, "error": None}


# --- Seeding (the /_emulator/ side door and --seed-file) ----------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", name).lower()


# The read-only jobJob fields a seed may set, with their proto (snake_case) names, worked out once.
_SEED_READ_ONLY = tuple(
    (name, _snake(name))
    for name in JOB_FIELDS
    if name not in ("id", "templateId", *(section[0] for section in _CREATE_SECTIONS))
)


def parse_seed(value: Any, job_id: str, created_at: str) -> JsonObject:
    """A job in API shape, in any state, read-only fields included: seeded as given.

    Editable sections go through the same parsers as the API (so a seeded job looks like one made through
    it); read-only fields are copied, with ``state`` and the int64 fields checked.
    """
    obj = require_object(value, "job")
    present, template_id = _pick(obj, "templateId", "template_id")
    job = new_job(job_id, require_string(template_id, "templateId") if present else "", created_at)
    job.update(parse_sections(obj))
    for name, alias in _SEED_READ_ONLY:
        present, raw = _pick(obj, name, alias)
        if present:
            job[name] = raw
    job["state"] = parse_state(job["state"])
    job["numUnitsEstimation"] = _int64(job["numUnitsEstimation"], "numUnitsEstimation")
    if not _pick(obj, "stateTimestamps", "state_timestamps")[0]:
        job["stateTimestamps"] = {**job["stateTimestamps"], job["state"]: created_at}
    return job


def seed_id(value: Any) -> str:
    """The id a seeded job asks for (``id`` or ``jobId``), or ``""`` to have one generated."""
    obj = require_object(value, "job")
    present, job_id = _pick(obj, "id")
    if not present:
        present, job_id = _pick(obj, "jobId", "job_id")
    return require_string(job_id, "id") if present else ""
