"""The plan: per job, what differs, what is blocked and which calls apply would make. Pure data.

A plan never holds a secret: changes and bodies are redacted when the plan is built, and apply rebuilds the
real bodies from desired and current state (:mod:`reconciler.bodies`). What the plan keeps of the server is its
*basis*: the redacted current value of every unit the planned bodies depend on, so a stale plan can be refused
job by job.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler import bodies, diffs, redaction, states


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


def build(inputs: Sequence[Inputs], key: bytes, requests: Requests | None = None) -> Plan:
    return Plan(tuple(plan_job(item, key) for item in inputs), requests or Requests())


def plan_job(inputs: Inputs, key: bytes) -> JobPlan:
    desired, current = inputs.desired, inputs.current
    base = JobPlan(desired.id, inputs.source, Action.ERROR, name=desired.units.get("name"))
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
