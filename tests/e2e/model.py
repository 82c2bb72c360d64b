"""An independent model of what the reconciler should do, for the model-based and race tests.

It knows the manifests a test wrote and judges the emulator's jobs and request log against them, without
importing the reconciler: a misreading of the API in the tool cannot hide on both sides at once. Its value
domains are small on purpose (integers, short strings, four data-source kinds), so its few normalisations
(int64 strings, Struct doubles, emitted defaults, ``@type``, ``tempUrl``, the ``s3`` alias) are enough to say
whether a job matches its manifest.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

KEY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://reconciler.bytenite.io/job-key")  # as the README says
FIXED_NAMESPACE = uuid.UUID("5b0e3c44-3f0c-4d8e-b8f0-0d7b9c1e2a61")
TEMPLATE = "model-template"
SECRET_ENV = "MODEL_PASSWORD"
SECRET_VALUE = "pw-Zq81-model-secret"
SERVER_SECRET = "AKIA-MODEL-SERVER-ONLY-7731"  # an inline key only the server holds (an unmanaged draft)

CONFIG_FIELDS = ("taskTimeout", "jobTimeout", "isTestJob")
PARAM_UNITS = ("partitioner", "assembler", "app")
SIDES = ("dataSource", "dataDestination")
SECTION_UNITS = {
    "configs": CONFIG_FIELDS,
    "params": PARAM_UNITS,
    "datasource": SIDES,
}
STARTED = "JOB_STATE_STARTED"
NEW = "JOB_STATE_NEW"


def job_id(slot: int, keyed: bool) -> str:
    """The id a slot's manifest names: derived from its key (generation 0), or fixed."""
    if keyed:
        return str(uuid.uuid5(KEY_NAMESPACE, key(slot)))
    return str(uuid.uuid5(FIXED_NAMESPACE, f"fixed-{slot}"))


def key(slot: int) -> str:
    return f"model/slot-{slot}"


def manifest_document(slot: int, keyed: bool, spec: Mapping[str, Any]) -> dict[str, Any]:
    metadata = {"key": key(slot)} if keyed else {"id": job_id(slot, keyed=False)}
    return {
        "apiVersion": "reconciler.bytenite.io/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {"templateId": TEMPLATE, **spec},
    }


def write_tree(folder: Path, manifests: Mapping[int, tuple[bool, Mapping[str, Any]]]) -> None:
    """One file per slot (JSON is YAML); files of slots that have no manifest are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yaml"):
        old.unlink()
    for slot, (keyed, spec) in manifests.items():
        (folder / f"slot-{slot}.yaml").write_text(json.dumps(manifest_document(slot, keyed, spec), indent=1))


# --- comparing a manifest with a job -------------------------------------------------------------------------


def _number(value: Any) -> Any:
    # Struct numbers come back as doubles (4 -> 4.0), and int64 config fields as strings.
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    return value


def plain(value: Any) -> Any:
    """A value with numbers as floats, for comparing JSON kinds the wire blurs."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return _number(value)


def resolve(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: resolve(v, env) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("${env:") and value.endswith("}"):
        return env[value[6:-1]]
    return value


def source(value: Any) -> Any:
    """A data source as the model compares it: the alias folded, ``@type`` and ``tempUrl`` left out."""
    if not value:
        return None
    descriptor = value.get("dataSourceDescriptor") or value.get("data_source_descriptor")
    params = {
        k: v for k, v in (value.get("params") or {}).items() if k not in ("@type", "tempUrl") and v not in ("", None)
    }
    return {"descriptor": "aws" if descriptor == "s3" else descriptor, "params": plain(params)}


def config_value(config: Any, field: str) -> Any:
    raw = (config or {}).get(field)
    if field == "isTestJob":
        return bool(raw)
    return int(raw or 0)


def unit(job: Mapping[str, Any], name: str) -> Any:
    """One unit of a job in API shape, in the model's terms."""
    if name == "name":
        return job.get("name") or ""
    if name in CONFIG_FIELDS:
        return config_value(job.get("config"), name)
    if name in PARAM_UNITS:
        return plain((job.get("params") or {}).get(name) or {})
    return source(job.get(name))


def declared(spec: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The units a manifest declares, in the model's terms."""
    units: dict[str, Any] = {}
    if "name" in spec:
        units["name"] = spec["name"]
    for field in CONFIG_FIELDS:
        if field in spec.get("config", {}):
            units[field] = config_value(spec["config"], field)
    for name in PARAM_UNITS:
        if name in spec.get("params", {}):
            units[name] = plain(spec["params"][name])
    for side in SIDES:
        if side in spec:
            units[side] = source(resolve(spec[side], env))
    return units


def differs(spec: Mapping[str, Any], job: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """The declared units whose job value is not the manifest's."""
    return [name for name, value in declared(spec, env).items() if unit(job, name) != value]


# --- judging the request log -----------------------------------------------------------------------------------


def section_of(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def body_units(section: str, body: Any) -> dict[str, Any]:
    """The units a whole-section write body sets (a missing unit is the unset default, as the server reads it)."""
    if section == "configs":
        return {field: config_value(body, field) for field in CONFIG_FIELDS}
    if section == "params":
        return {name: plain((body or {}).get(name) or {}) for name in PARAM_UNITS}
    return {side: source((body or {}).get(side)) for side in SIDES}


def witnessed(entries: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Write entries that reached a handler (their witness says what the write met)."""
    return [e for e in entries if e.get("witness")]


def writes_to_non_drafts(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    """Writes that met a job which was not a draft: the tool must never send one.

    One exception, the write's own effect: a launch whose answer was lost (applied, then the connection dropped)
    is retried, and the retry meets the job that launch started. The tool could not have known.
    """
    lost: set[tuple[str, str]] = set()
    problems = []
    for entry in entries:
        if entry["fault"] == "drop-after-write":
            lost.add((entry["method"], entry["path"]))
        before = (entry.get("witness") or {}).get("before")
        if before is not None and before["state"] != NEW and (entry["method"], entry["path"]) not in lost:
            problems.append(f"{entry['method']} {entry['path']} met {before['state']}")
    return problems


def incomplete_bodies(
    entries: Iterable[Mapping[str, Any]], declared_by_id: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """PATCH bodies that are not a whole section, or whose undeclared units are not the server's at that moment."""
    problems = []
    for entry in witnessed(entries):
        section = section_of(entry["path"])
        before = entry["witness"]["before"]
        if entry["method"] != "PATCH" or section not in SECTION_UNITS or before is None:
            continue
        ours = declared_by_id.get(entry["witness"]["jobId"], {})
        sent = body_units(section, entry["witness"]["body"])
        for name in SECTION_UNITS[section]:
            if name not in ours and sent[name] != unit(before, name):
                problems.append(
                    f"{entry['path']}: undeclared {name} sent as {sent[name]!r}, server had {unit(before, name)!r}"
                )
    return problems


def launches(entries: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Launches the server applied, by job id: a run that met a draft (answered, or answered and lost)."""
    counts: dict[str, int] = {}
    for entry in witnessed(entries):
        before = entry["witness"]["before"]
        if entry["path"].endswith("/run") and before is not None and before["state"] == NEW:
            counts[entry["witness"]["jobId"]] = counts.get(entry["witness"]["jobId"], 0) + 1
    return counts


def counted(entries: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Reads and writes as the tool counts them: GETs, and every other request except the token exchange."""
    entries = list(entries)
    reads = sum(1 for e in entries if e["method"] == "GET")
    writes = sum(1 for e in entries if e["method"] != "GET" and "access_token" not in e["path"])
    return {"reads": reads, "writes": writes}


def deep(value: Any) -> Any:
    return copy.deepcopy(value)
