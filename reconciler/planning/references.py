"""``${env:NAME}`` references: found in desired state, resolved only where a real value is needed.

A reference stays a reference everywhere a value can be shown or stored (plans, plan files, logs); it is
resolved for comparison and for the bodies apply sends, and every path it resolved at is marked sensitive.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.planning import names, states

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Unresolved:
    """An environment variable a manifest needs that cannot be used: reported with the manifest's position."""

    path: Path
    variable: str
    reason: str = "is not set"


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
    for where, match in _matches(value, path):
        yield where, match.group(1)


def _matches(value: Any, path: Path) -> Iterator[tuple[Path, re.Match[str]]]:
    if isinstance(value, str):
        match = names.REFERENCE.match(value)
        if match:
            yield path, match
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _matches(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _matches(item, (*path, index))


def problem(match: re.Match[str], environ: Mapping[str, str]) -> str | None:
    """Why a reference cannot be resolved, if it cannot.

    The tool's own settings are refused (``${env:BYTENITE_API_KEY}`` would send the API key to a job field),
    and so is an empty value, unless the reference opts in with ``${env:NAME:-}``: CI systems set a missing
    secret to the empty string, and sending it would wipe the stored credential.
    """
    name, allow_empty = match.group(1), bool(match.group(2))
    if name.startswith(names.RESERVED_PREFIX):
        return f"is one of this tool's own settings ({names.RESERVED_PREFIX}*): a manifest may not reference it"
    if name not in environ:
        return "is not set"
    if environ[name] == "" and not allow_empty:
        return f"is empty; write ${{env:{name}:-}} if an empty value is meant"
    return None


def resolve(job: states.Job, environ: Mapping[str, str]) -> tuple[states.Job, list[Unresolved]]:
    """``job`` with every reference replaced by its variable's value, and the variables that cannot be used."""
    if not may_refer(job):
        return job, []
    found = [*_matches(job.template_id, TEMPLATE), *_matches_units(job.units)]
    missing = [
        Unresolved(path, match.group(1), reason)
        for path, match in found
        if (reason := problem(match, environ)) is not None
    ]
    if missing or not found:
        return job, missing
    units = {unit: _substitute(value, environ) for unit, value in job.units.items()}
    template = _substitute(job.template_id, environ) if job.template_id is not None else None
    return dataclasses.replace(job, units=units, template_id=template), []


def _substitute(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        match = names.REFERENCE.match(value)
        return environ[match.group(1)] if match else value
    if isinstance(value, dict):
        return {key: _substitute(item, environ) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, environ) for item in value]
    return value


def _matches_units(units: Mapping[str, Any]) -> Iterator[tuple[Path, re.Match[str]]]:
    for unit, value in units.items():
        yield from _matches(value, states.unit_path(unit))


def may_refer(job: states.Job) -> bool:
    """Whether ``job`` may hold a reference at all; false for most jobs, found without walking their values.

    A reference is a string holding ``${env:``, and ``repr`` (a walk in C) writes every string with those
    characters as they are, since none of them is ever escaped: where its text lacks them, no value holds one.
    """
    if not isinstance(job.units, dict):
        return True  # another mapping's repr may not show its values
    return MARK in repr(job.units) or (job.template_id is not None and MARK in job.template_id)


MARK = "${env:"


def sensitive_paths(job: states.Job) -> frozenset[Path]:
    """Paths whose values came from the environment: masked wherever they are shown."""
    if not may_refer(job):
        return frozenset()
    return frozenset(path for path, _ in find(job.units, job.template_id))
