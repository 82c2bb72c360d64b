"""A job read from the API, as the manifest that manages it: what ``reconciler import`` writes.

Only what a manifest manages is kept: server defaults, read-only fields and server-added fields are dropped,
and a data source's ``@type`` is left to be derived from its descriptor. An inline credential is never
written: it becomes a ``${env:NAME}`` reference, and the names are returned for the user to set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from reconciler.planning import markers, names, redaction, states


@dataclass(frozen=True)
class Imported:
    """A manifest document, and the environment variables its references need."""

    document: dict[str, Any]
    variables: tuple[str, ...]
    file_name: str


def manifest_of(raw: dict[str, Any], key_prefix: str = "") -> Imported:
    """The manifest that manages ``raw``. ``key_prefix`` is the environment's: the project puts it back before
    the key, so the manifest carries the key without it."""
    job = states.from_api(raw)
    marker = markers.read(job.description)
    key = marker.name.removeprefix(key_prefix) if marker and marker.kind == "key" else None
    metadata: dict[str, Any] = {"key": key} if key else {"id": job.id}
    spec: dict[str, Any] = {}
    if job.template_id:
        spec["templateId"] = job.template_id
    variables: list[str] = []
    if job.units.get("name"):
        spec["name"] = _references(job.units["name"], _prefix(job.id, "name"), variables)
    description = _own_description(job.description)
    if description:
        spec["description"] = description
    for unit in ("dataSource", "dataDestination"):
        source = job.units.get(unit)
        if source is not None:
            spec[unit] = _source(source, _prefix(job.id, unit), variables)
    params = {engine: job.units[f"params.{engine}"] for engine in ("partitioner", "assembler", "app")}
    if any(value is not None for value in params.values()):
        spec["params"] = {
            engine: _references(value, _prefix(job.id, engine), variables)
            for engine, value in params.items()
            if value is not None
        }
    config = {name: job.units[f"config.{name}"] for name in ("taskTimeout", "jobTimeout", "isTestJob")}
    config = {name: value for name, value in config.items() if value not in (None, False)}
    if config:
        spec["config"] = config
    document = {"apiVersion": names.API_VERSION, "kind": "Job", "metadata": metadata, "spec": spec}
    return Imported(document, tuple(variables), _file_name(job, marker))


def _source(source: dict[str, Any], prefix: str, variables: list[str]) -> dict[str, Any]:
    params = _references({key: value for key, value in source["params"].items() if key != "@type"}, prefix, variables)
    result: dict[str, Any] = {"dataSourceDescriptor": source["dataSourceDescriptor"]}
    if params:
        result["params"] = params
    return result


def _references(value: Any, prefix: str, variables: list[str]) -> Any:
    """Every credential, at any depth, replaced by references to variables named after its place: a value
    under a credential key (each of its strings, when it holds a list or a mapping) and a URL carrying
    ``user:password@``. What is left is what validation accepts, so the output is a valid manifest.
    """
    if isinstance(value, dict):
        return {
            key: (_credential if redaction.is_credential(key) else _references)(item, _name(prefix, key), variables)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_references(item, f"{prefix}_{index}", variables) for index, item in enumerate(value)]
    if isinstance(value, str) and names.has_userinfo(value):
        return _reference(value, prefix, variables)
    return value


def _credential(value: Any, name: str, variables: list[str]) -> Any:
    """A credential of any shape, each leaf its own reference, so the shape survives a round trip."""
    if isinstance(value, dict):
        return {key: _credential(item, _name(name, key), variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_credential(item, f"{name}_{index}", variables) for index, item in enumerate(value)]
    return _reference(value, name, variables)


def _reference(value: Any, name: str, variables: list[str]) -> str:
    """A reference to a new variable; an empty value needs the opt-in, or planning the output would refuse it."""
    unique, number = name, 1
    while unique in variables:
        number += 1
        unique = f"{name}_{number}"
    variables.append(unique)
    return f"${{env:{unique}:-}}" if value == "" else f"${{env:{unique}}}"


def _name(prefix: str, key: str | int) -> str:
    """A variable name from a key of any spelling: ``api-key`` and ``apiKey`` both give ``..._API_KEY``."""
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9]', '_', _snake(str(key))).upper()}"


def _own_description(description: str) -> str:
    """The description without the marker line this tool added at creation."""
    lines = [line for line in description.splitlines() if not line.startswith(markers.PREFIX)]
    return "\n".join(lines).strip()


def _prefix(job_id: str, unit: str) -> str:
    return f"JOB_{re.sub(r'[^A-Za-z0-9]', '', job_id)[:8].upper()}_{_snake(unit).upper()}"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _file_name(job: states.Job, marker: markers.Marker | None) -> str:
    name = str(job.units.get("name") or "")
    if marker and marker.kind == "key":  # noqa: SIM108  (two cases, one with its reason)
        base = marker.name
    else:
        # A name that is a URL with a password is referenced, not written: the file's name must not carry it either.
        base = job.id if not name or names.has_userinfo(name) else name
    slug = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:60] or "job"
    return f"{slug}-{job.id[:8]}.yaml"
