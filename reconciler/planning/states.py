"""The one shape that desired and current state reach before they meet, and the normalisers that get them there.

A job is reduced to its *units*: the smallest pieces a manifest can manage (``name``, each ``config`` field,
``params.partitioner|assembler|app``, ``dataSource``, ``dataDestination``). Both sides are normalised by the
same functions, one per wire quirk of the API's protobuf-JSON gateway, so a value read back after a write
compares equal to the value that was written. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

# A unit's address is its path in the API's job object; it names the PATCH call that sets it.
SECTION_OF_UNIT: Final[Mapping[str, str]] = {
    "name": "jobname",
    "dataSource": "datasource",
    "dataDestination": "datasource",
    "params.partitioner": "params",
    "params.assembler": "params",
    "params.app": "params",
    "config.taskTimeout": "configs",
    "config.jobTimeout": "configs",
    "config.isTestJob": "configs",
}
UNITS: Final[tuple[str, ...]] = tuple(SECTION_OF_UNIT)
SECTIONS: Final[tuple[str, ...]] = ("jobname", "datasource", "params", "configs")
UNITS_OF_SECTION: Final[Mapping[str, tuple[str, ...]]] = {
    section: tuple(unit for unit in UNITS if SECTION_OF_UNIT[unit] == section) for section in SECTIONS
}

DRAFT: Final = "JOB_STATE_NEW"

S3_TYPE: Final = "type.googleapis.com/bytenite.data_source.S3DataSource"
TYPE_OF_DESCRIPTOR: Final[Mapping[str, str | None]] = {
    "aws": S3_TYPE,
    "gcp": S3_TYPE,
    "storj": S3_TYPE,
    "url": "type.googleapis.com/bytenite.data_source.HttpDataSource",
    "file": "type.googleapis.com/bytenite.data_source.LocalFileDataSource",
    "bucket": None,
    "bypass": None,
}
DESCRIPTOR_ALIASES: Final[Mapping[str, str]] = {"s3": "aws"}

# The data-source fields the API knows, by their proto (snake_case) name: only these are camelCased.
KNOWN_SOURCE_FIELDS: Final[Mapping[str, str]] = {
    "data_source_descriptor": "dataSourceDescriptor",
    "bucket_name": "bucketName",
    "cloud_region": "cloudRegion",
    "secret_id": "secretId",
    "access_key": "accessKey",
    "secret_key": "secretKey",
    "temp_url": "tempUrl",
    "api_key": "apiKey",
}
SERVER_ADDED_SOURCE_FIELDS: Final = frozenset({"tempUrl"})


UNIT_PATHS: Final[Mapping[str, tuple[str, ...]]] = {unit: tuple(unit.split(".")) for unit in UNITS}


def unit_path(unit: str) -> tuple[str, ...]:
    """A unit's address as a path in the job object: ``params.app`` is ``("params", "app")``."""
    return UNIT_PATHS.get(unit) or tuple(unit.split("."))


@dataclass(frozen=True, slots=True)
class Job:
    """A job as the reconciler compares it: identity, lifecycle and normalised units.

    On the current side every unit is present (``None`` when unset). On the desired side only the units a
    manifest declares are present: the others are unmanaged and never compared.
    """

    id: str
    units: Mapping[str, Any]
    template_id: str | None = None
    lifecycle: str = DRAFT
    description: str = ""

    @property
    def is_draft(self) -> bool:
        return self.lifecycle == DRAFT


def from_api(raw: Mapping[str, Any]) -> Job:
    """The current state of a job from the API's ``job`` object."""
    config = raw.get("config") or {}
    params = raw.get("params") or {}
    units = {
        "name": raw.get("name") or None,  # an unset string is emitted as ""
        "dataSource": normalise_source(raw.get("dataSource")),
        "dataDestination": normalise_source(raw.get("dataDestination")),
        "params.partitioner": normalise_struct(params.get("partitioner")),
        "params.assembler": normalise_struct(params.get("assembler")),
        "params.app": normalise_struct(params.get("app")),
        "config.taskTimeout": normalise_int64(config.get("taskTimeout")),
        "config.jobTimeout": normalise_int64(config.get("jobTimeout")),
        "config.isTestJob": bool(config.get("isTestJob") or False),
    }
    return Job(
        id=str(raw.get("id", "")),
        units=units,
        template_id=raw.get("templateId") or None,
        lifecycle=str(raw.get("state") or DRAFT),
        description=str(raw.get("description") or ""),
    )


def normalise_int64(value: Any) -> int | None:
    """int64 fields come back as JSON strings (``"3600"``); proto3 emits an unset one as ``0``."""
    if value is None or value == "":
        return None
    number = int(value)
    return number or None


def normalise_struct(value: Any) -> dict[str, Any] | None:
    """Free-form Structs: unset is emitted as ``{}`` or ``null``; every number inside comes back a double."""
    if not value:
        return None
    return integral_floats(value)  # type: ignore[no-any-return]


def integral_floats(value: Any) -> Any:
    """Struct numbers are doubles on the wire, so ``4`` returns as ``4.0``: read integral doubles as ints.

    Booleans are left alone (``True`` is an ``int`` in Python but a distinct kind in a Struct). Keys are never
    renamed: the API does not camelCase the keys of free-form Structs. Every value of every job passes here:
    a mapping or list with nothing to change is returned as it is, not copied (no caller changes a value in
    place), so a job's state shares the parsed answer's objects instead of doubling them.
    """
    pairs: Iterable[tuple[Any, Any]]
    copy: Callable[[Any], Any]
    if isinstance(value, dict):
        pairs, copy = value.items(), dict
    elif isinstance(value, list):
        pairs, copy = enumerate(value), list
    else:
        return int(value) if isinstance(value, float) and value.is_integer() else value  # not for inf and nan
    changed: Any = None
    for key, item in pairs:
        if item.__class__ in KEPT:
            continue
        new = integral_floats(item)
        if new is not item:
            if changed is None:
                changed = copy(value)
            changed[key] = new
    return value if changed is None else changed


KEPT: Final = frozenset({str, int, bool, type(None)})


def camel_source_keys(params: Mapping[str, Any]) -> dict[str, Any]:
    """Input accepts proto names (``secret_id``), output uses lowerCamelCase (``secretId``): read both as camel."""
    return {KNOWN_SOURCE_FIELDS.get(key, key): value for key, value in params.items()}


def drop_emitted_defaults(params: Mapping[str, Any]) -> dict[str, Any]:
    """Unset string fields of data-source params are emitted as ``""`` or ``null``: treat them as absent."""
    return {key: value for key, value in params.items() if value not in ("", None)}


def drop_server_added(params: Mapping[str, Any]) -> dict[str, Any]:
    """The server adds fields of its own (``tempUrl`` on ``file`` sources); no manifest manages them."""
    return {key: value for key, value in params.items() if key not in SERVER_ADDED_SOURCE_FIELDS}


def canonical_descriptor(descriptor: str) -> str:
    """``s3`` is the older name of ``aws``: one descriptor, shown as ``aws``."""
    return DESCRIPTOR_ALIASES.get(descriptor, descriptor)


def normalise_source(value: Any) -> dict[str, Any] | None:
    """A data source or destination in one canonical form, from the wire or from a manifest.

    The params' ``@type`` follows from the descriptor, so it is filled in when absent; descriptors without a
    type (``bucket``, ``bypass``) carry no params at all.
    """
    if not value:
        return None
    source = camel_source_keys(value)
    descriptor = canonical_descriptor(str(source.get("dataSourceDescriptor") or ""))
    if not descriptor:
        return None  # an unset message is emitted with its fields at their defaults
    params = drop_server_added(drop_emitted_defaults(camel_source_keys(source.get("params") or {})))
    type_url = TYPE_OF_DESCRIPTOR.get(descriptor)
    if type_url is None and set(params) <= {"@type"}:
        return {"dataSourceDescriptor": descriptor, "params": {}}
    params.setdefault("@type", type_url)
    return {"dataSourceDescriptor": descriptor, "params": integral_floats(params)}


def equal(left: Any, right: Any) -> bool:
    """Equality that keeps JSON's kinds apart: Python's ``True == 1`` and ``1 == 1.0`` must not hide a diff.

    Both sides are normalised first, so integral doubles are already ints; a ``bool`` never equals a number.
    Values of one plain kind (the common case, every key of every job compared) skip the kind checks.
    """
    kind = left.__class__
    if kind is right.__class__ and kind in PLAIN:
        if kind is dict:
            if left.keys() != right.keys():
                return False
            for key, item in left.items():  # a loop, not all(): no generator per level  # noqa: SIM110
                if not equal(item, right[key]):
                    return False
            return True
        if kind is list:
            if len(left) != len(right):
                return False
            for a, b in zip(left, right, strict=True):  # noqa: SIM110
                if not equal(a, b):
                    return False
            return True
        return bool(left == right)
    return _equal_kinds(left, right)


PLAIN: Final = frozenset({dict, list, str, int, float, bool, type(None)})


def _equal_kinds(left: Any, right: Any) -> bool:
    """:func:`equal` for values of different kinds (or kinds outside JSON's)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict):
        return (
            isinstance(right, dict)
            and left.keys() == right.keys()
            and all(equal(item, right[key]) for key, item in left.items())
        )
    if isinstance(left, list):
        return (
            isinstance(right, list)
            and len(left) == len(right)
            and all(equal(a, b) for a, b in zip(left, right, strict=True))
        )
    return bool(left == right) and not isinstance(right, (dict, list))
