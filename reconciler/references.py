"""``${env:NAME}`` references: found in desired state, resolved only where a real value is needed.

A reference stays a reference everywhere a value can be shown or stored (plans, plan files, logs); it is
resolved for comparison and for the bodies apply sends, and every path it resolved at is marked sensitive.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler import manifests, states

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Unresolved:
    """An environment variable a manifest needs that is not set: reported with the manifest's position."""

    path: Path
    variable: str


TEMPLATE: Path = ("templateId",)


def find(units: Mapping[str, Any], template_id: str | None = None) -> Iterator[tuple[Path, str]]:
    """Every reference in ``units`` (and ``templateId``), as (path in the job object, variable name).

    A template may come from the environment (one template per stage); the description may not, since it is
    written once at creation, marker included, and no later call could correct it.
    """
    if template_id is not None:
        yield from _walk(template_id, TEMPLATE)
    for unit, value in units.items():
        yield from _walk(value, states.unit_path(unit))


def _walk(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        match = manifests.REFERENCE.match(value)
        if match:
            yield path, match.group(1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def resolve(job: states.Job, environ: Mapping[str, str]) -> tuple[states.Job, list[Unresolved]]:
    """``job`` with every reference replaced by its variable's value, and the variables that were not set."""
    found = list(find(job.units, job.template_id))
    missing = [Unresolved(path, name) for path, name in found if name not in environ]
    if missing or not found:
        return job, missing
    units = {unit: _substitute(value, environ) for unit, value in job.units.items()}
    template = _substitute(job.template_id, environ) if job.template_id is not None else None
    return dataclasses.replace(job, units=units, template_id=template), []


def _substitute(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        match = manifests.REFERENCE.match(value)
        return environ[match.group(1)] if match else value
    if isinstance(value, dict):
        return {key: _substitute(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, environ) for item in value]
    return value


def sensitive_paths(job: states.Job) -> frozenset[Path]:
    """Paths whose values came from the environment: masked wherever they are shown."""
    return frozenset(path for path, _ in find(job.units, job.template_id))
