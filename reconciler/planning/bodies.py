"""The body of each PATCH call, built from desired and current state.

The API replaces a whole section on every PATCH (``/params`` without ``assembler`` clears it), so a body
carries every unit of its section: the declared ones from the manifest, the others exactly as the server has
them. An unset unit is left out rather than sent as ``null``, which the API refuses.
"""

from __future__ import annotations

from typing import Any

from reconciler.planning import states


def path(job_id: str, section: str) -> str:
    """The endpoint of a section's call, relative to the jobs prefix."""
    return f"/jobs/{job_id}/{section}"


def build(section: str, desired: states.Job, current: states.Job) -> Any:
    """The JSON body of ``PATCH /jobs/{id}/{section}``."""
    values = {
        unit: desired.units[unit] if unit in desired.units else current.units.get(unit)
        for unit in states.UNITS_OF_SECTION[section]
    }
    if section == "jobname":
        return values["name"]  # a bare JSON string, not an object
    if section == "datasource":
        return {unit: _source(value) for unit, value in values.items() if value is not None}
    return {unit.split(".", 1)[1]: value for unit, value in values.items() if value is not None}


def _source(source: dict[str, Any]) -> dict[str, Any]:
    """Descriptors without a type (``bucket``, ``bypass``) are sent without params."""
    params = source.get("params") or {}
    if not params or (set(params) == {"@type"} and params["@type"] is None):
        return {"dataSourceDescriptor": source["dataSourceDescriptor"]}
    return {"dataSourceDescriptor": source["dataSourceDescriptor"], "params": params}


def create(desired: states.Job, job_id: str, description: str) -> dict[str, Any]:
    """``POST /jobs``: the template, the chosen id, the marked description and every declared section.

    ByteNite updates a draft that already has this id, so a create that is retried or run twice is harmless.
    """
    body: dict[str, Any] = {"templateId": desired.template_id, "jobId": job_id, "description": description}
    for section in states.SECTIONS:
        if any(unit in desired.units for unit in states.UNITS_OF_SECTION[section]):
            built = build(section, desired, states.Job(job_id, {}))
            if section == "jobname":
                body["name"] = built
            elif section == "datasource":
                body.update(built)
            elif built:
                body["config" if section == "configs" else "params"] = built
    return body


def run(desired: states.Job, current: states.Job) -> dict[str, Any]:
    """``POST /jobs/{id}/run`` carries the job's config; an empty object when it has none."""
    config = build("configs", desired, current)
    return {"config": config} if config else {}
