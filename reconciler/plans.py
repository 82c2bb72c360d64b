"""The plan: per job, what differs, what is blocked and which calls apply would make. Pure data.

A plan never holds a secret: changes and bodies are redacted when the plan is built, and apply rebuilds the
real bodies from desired and current state (:mod:`reconciler.bodies`). What the plan keeps of the server is its
*basis*: the redacted current value of every unit the planned bodies depend on, so a stale plan can be refused
job by job.
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler import bodies, diffs, manifests, redaction, states


class Action(enum.StrEnum):
    UPDATE = "update"
    UNCHANGED = "unchanged"
    BLOCKED = "blocked"
    ERROR = "error"


@dataclass(frozen=True)
class Call:
    """One request apply would send; ``body`` is redacted."""

    method: str
    section: str
    path: str
    body: Any


@dataclass(frozen=True)
class Requests:
    """What a run cost the API: reported in every format, since rate limits are per account."""

    reads: int = 0
    writes: int = 0
    retries: int = 0


@dataclass(frozen=True)
class JobPlan:
    job_id: str
    source: str
    action: Action
    lifecycle: str | None = None
    name: str | None = None
    changes: tuple[diffs.Change, ...] = ()
    calls: tuple[Call, ...] = ()
    reason: str = ""
    basis: Mapping[str, Any] = field(default_factory=dict)
    # What a plan file needs to apply this job later without the manifests: the declared units with
    # references left unresolved (never a secret), and the paths those references make sensitive.
    declared: Mapping[str, Any] = field(default_factory=dict)
    sensitive: frozenset[redaction.Path] = frozenset()
    template_id: str | None = None
    # The manifest line that declares each changed field (by dotted path), for links in Markdown plans.
    lines: Mapping[str, int] = field(default_factory=dict)

    @property
    def sections(self) -> tuple[str, ...]:
        return tuple(call.section for call in self.calls)


@dataclass(frozen=True)
class Plan:
    jobs: tuple[JobPlan, ...]
    requests: Requests = field(default_factory=Requests)

    @property
    def counts(self) -> Counter[Action]:
        return Counter(job.action for job in self.jobs)

    @property
    def calls(self) -> int:
        return sum(len(job.calls) for job in self.jobs)

    @property
    def has_changes(self) -> bool:
        return any(job.action is Action.UPDATE for job in self.jobs)

    @property
    def has_blocked(self) -> bool:
        return any(job.action is Action.BLOCKED for job in self.jobs)

    @property
    def has_errors(self) -> bool:
        return any(job.action is Action.ERROR for job in self.jobs)


@dataclass(frozen=True)
class Inputs:
    """Everything a job's plan is made from; ``current`` is ``None`` when the job does not exist."""

    desired: states.Job
    current: states.Job | None
    source: str
    sensitive: frozenset[redaction.Path] = frozenset()
    error: str = ""
    declared: Mapping[str, Any] | None = None


def build(inputs: Sequence[Inputs], key: bytes, requests: Requests | None = None) -> Plan:
    return Plan(tuple(plan_job(item, key) for item in inputs), requests or Requests())


def plan_job(inputs: Inputs, key: bytes) -> JobPlan:
    desired, current = inputs.desired, inputs.current
    declared = inputs.declared if inputs.declared is not None else desired.units
    base = JobPlan(
        desired.id,
        inputs.source,
        Action.ERROR,
        name=_shown_name(desired, inputs.sensitive, key),
        declared=_mask_credentials(declared, key),
        sensitive=inputs.sensitive,
        template_id=desired.template_id,
    )
    if inputs.error:
        return replace(base, reason=inputs.error)
    if current is None:
        return replace(base, reason=f"job {desired.id} does not exist")
    base = replace(base, lifecycle=current.lifecycle)
    changes = tuple(_redacted(change, inputs.sensitive, key) for change in diffs.diff(desired, current))
    if desired.template_id and current.template_id and desired.template_id != current.template_id:
        reason = f"templateId is immutable: the job uses {current.template_id!r}, the manifest {desired.template_id!r}"
        return replace(base, action=Action.BLOCKED, changes=changes, reason=reason)
    if not changes:
        return replace(base, action=Action.UNCHANGED)
    if not current.is_draft:
        reason = f"job is {current.lifecycle}: only a draft (JOB_STATE_NEW) can be edited"
        return replace(base, action=Action.BLOCKED, changes=changes, reason=reason)
    sections = sections_to_write(desired, current)
    shown_desired = _mask_units(desired, inputs.sensitive, key)
    shown_current = _mask_units(current, inputs.sensitive, key)
    calls = tuple(
        Call(
            "PATCH",
            section,
            bodies.path(desired.id, section),
            bodies.build(section, shown_desired, shown_current),
        )
        for section in sections
    )
    basis = {unit: shown_current.units.get(unit) for section in sections for unit in states.UNITS_OF_SECTION[section]}
    return replace(base, action=Action.UPDATE, changes=changes, calls=calls, basis=basis)


def stale(job: JobPlan, current: states.Job, key: bytes) -> list[str]:
    """What moved on the server since ``job`` was planned: the units its bodies depend on, and the state.

    Values are compared in their redacted form, so a secret is compared by its keyed fingerprint.
    """
    if not current.is_draft:
        return [f"the job is now {current.lifecycle}"]
    shown = _mask_units(current, job.sensitive, key)
    moved = []
    for unit, before in job.basis.items():
        now = shown.units.get(unit)
        if not states.equal(_plain(before), _plain(now)):
            moved.append(f"{unit} changed from {_brief(before)} to {_brief(now)}")
    return moved


def _plain(value: Any) -> Any:
    """Sensitive values compare by fingerprint; everything else as itself."""
    if isinstance(value, redaction.Sensitive):
        return {"sensitive": value.fingerprint}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _brief(value: Any) -> str:
    text = str(value) if isinstance(value, redaction.Sensitive) else json.dumps(_plain(value), sort_keys=True)
    return text if len(text) <= 80 else text[:79] + "…"


def _shown_name(job: states.Job, sensitive: frozenset[redaction.Path], key: bytes) -> str | None:
    name = redaction.mask(job.units.get("name"), ("name",), sensitive, key)
    return str(name) if name is not None else None


def _mask_credentials(units: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """Declared values keep their references; a credential that is not a reference is masked all the same."""
    return {unit: _credentials(value, states.unit_path(unit), key) for unit, value in units.items()}


def _credentials(value: Any, path: redaction.Path, key: bytes) -> Any:
    if isinstance(value, str) and manifests.REFERENCE.match(value):
        return value
    if path and redaction.is_credential(path[-1]):
        return redaction.Sensitive(redaction.fingerprint(value, key))
    if isinstance(value, dict):
        return {name: _credentials(item, (*path, name), key) for name, item in value.items()}
    if isinstance(value, list):
        return [_credentials(item, (*path, index), key) for index, item in enumerate(value)]
    return value


def sections_to_write(desired: states.Job, current: states.Job) -> list[str]:
    """The sections holding a changed unit, in the API's order: one PATCH each, and no other."""
    changed = {states.SECTION_OF_UNIT[unit] for unit in diffs.changed_units(desired, current)}
    return [section for section in states.SECTIONS if section in changed]


def _mask_units(job: states.Job, sensitive: frozenset[redaction.Path], key: bytes) -> states.Job:
    units = {unit: redaction.mask(value, states.unit_path(unit), sensitive, key) for unit, value in job.units.items()}
    return states.Job(job.id, units, job.template_id, job.lifecycle, job.description, job.extra)


def _redacted(change: diffs.Change, sensitive: frozenset[redaction.Path], key: bytes) -> diffs.Change:
    def shown(value: Any) -> Any:
        return value if value is diffs.ABSENT else redaction.mask(value, change.path, sensitive, key)

    return diffs.Change(change.path, shown(change.before), shown(change.after))
