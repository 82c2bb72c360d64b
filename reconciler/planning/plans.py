"""The plan: per job, what differs, what is blocked and which calls apply would make. Pure data.

A plan never holds a secret: changes and bodies are redacted when the plan is built, and apply rebuilds the
real bodies from desired and current state (:mod:`reconciler.planning.bodies`). What the plan keeps of the server is its
*basis*: the redacted current value of every unit the planned bodies depend on, so a stale plan can be refused
job by job.
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from reconciler.planning import bodies, diffs, markers, masking, redaction, states

# The version of the JSON plan (and plan file) this module's plans are written as and read back from.
FORMAT_VERSION: Final = 1


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    LAUNCH = "launch"
    REPLACE = "replace"
    PRUNE = "prune"
    UNCHANGED = "unchanged"
    ORPHAN = "orphan"
    BLOCKED = "blocked"
    ERROR = "error"


# Actions that send something; ORPHAN is information (a marked draft no manifest claims, without --prune).
WRITING = frozenset({Action.CREATE, Action.UPDATE, Action.LAUNCH, Action.REPLACE, Action.PRUNE})
FINISHED = frozenset({"JOB_STATE_COMPLETE", "JOB_STATE_FAILED"})  # every other started state is still running


@dataclass(frozen=True)
class Call:
    """One request apply would send; ``body`` is redacted, ``target`` the job it addresses."""

    method: str
    section: str
    path: str
    body: Any
    destructive: bool = False
    target: str = ""


@dataclass(frozen=True)
class Requests:
    """What a run cost the API: reported in every format, since rate limits are per account."""

    reads: int = 0
    writes: int = 0
    retries: int = 0

    def __add__(self, other: Requests) -> Requests:
        return Requests(self.reads + other.reads, self.writes + other.writes, self.retries + other.retries)


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
    # The redacted server values the calls depend on; ``STATE`` holds the lifecycle (``None``: no such job).
    basis: Mapping[str, Any] = field(default_factory=dict)
    # What a plan file needs to apply this job later without the manifests: the declared units with
    # references left unresolved (never a secret), and the paths those references make sensitive.
    declared: Mapping[str, Any] = field(default_factory=dict)
    sensitive: frozenset[redaction.Path] = frozenset()
    template_id: str | None = None
    # The manifest line that declares each changed field (by dotted path), for links in Markdown plans.
    lines: Mapping[str, int] = field(default_factory=dict)
    description: str = ""
    generation: int | None = None

    @property
    def sections(self) -> tuple[str, ...]:
        return tuple(call.section for call in self.calls)

    @property
    def destructive(self) -> bool:
        return any(call.destructive for call in self.calls) or self.action in (Action.REPLACE, Action.PRUNE)


STATE = "state"
DRAFT = states.DRAFT


@dataclass(frozen=True)
class Plan:
    jobs: tuple[JobPlan, ...]
    requests: Requests = field(default_factory=Requests)
    scope: markers.Scope = field(default_factory=markers.Scope)
    # (root, count): marked drafts created from a root that holds the run's roots, which this run cannot judge
    unjudged: tuple[tuple[str, int], ...] = ()

    @property
    def counts(self) -> Counter[Action]:
        return Counter(job.action for job in self.jobs)

    @property
    def calls(self) -> int:
        return sum(len(job.calls) for job in self.jobs)

    @property
    def launches(self) -> int:
        return sum(1 for job in self.jobs for call in job.calls if call.section == "run")

    @property
    def destructive(self) -> int:
        return sum(1 for job in self.jobs if job.destructive)

    @property
    def has_changes(self) -> bool:
        return any(job.action in WRITING for job in self.jobs)

    @property
    def has_blocked(self) -> bool:
        return any(job.action is Action.BLOCKED for job in self.jobs)

    @property
    def has_errors(self) -> bool:
        return any(job.action is Action.ERROR for job in self.jobs)


def drift(plan: Plan) -> Plan:
    """The plan as a drift report: what differs on the server, with no call in it, in any format.

    A launch is not drift (the fields match; only the manifest's ``run`` asks for something), so a job whose
    only call is its launch reads as unchanged; every other job keeps its differences and loses its calls and
    the declared values a plan file would need to write.
    """

    def reported(job: JobPlan) -> JobPlan:
        action = Action.UNCHANGED if job.action is Action.LAUNCH else job.action
        return replace(job, action=action, calls=(), declared={}, basis={})

    return replace(plan, jobs=tuple(map(reported, plan.jobs)))


@dataclass(frozen=True)
class Options:
    """The flags that allow more than updates: each destructive kind of item needs its own."""

    replace: bool = False
    abort_running: bool = False
    prune: bool = False


@dataclass(frozen=True)
class Inputs:
    """Everything a job's plan is made from; ``current`` is ``None`` when the job does not exist."""

    desired: states.Job
    current: states.Job | None
    source: str
    sensitive: frozenset[redaction.Path] = frozenset()
    error: str = ""
    declared: Mapping[str, Any] | None = None
    declared_template: str | None = None  # as the manifest wrote it: a reference stays a reference
    identity: markers.Identity | None = None
    generation: int = 0
    run: bool = False
    options: Options = Options()
    exposure: masking.Exposure | None = None  # the desired side's, if found already


def build(inputs: Sequence[Inputs], key: bytes, requests: Requests | None = None) -> Plan:
    return Plan(tuple(plan_job(item, key) for item in inputs), requests or Requests())


def plan_job(inputs: Inputs, key: bytes) -> JobPlan:
    mask = masking.Mask.of(inputs.desired, inputs.current, inputs.sensitive, key, inputs.exposure)
    planned = _plan_job(inputs, mask)
    if not planned.calls:
        return planned
    # Only a job with calls needs its declared values kept, for a plan file to apply it later.
    declared = inputs.declared if inputs.declared is not None else inputs.desired.units
    return replace(planned, declared=mask.declared(declared))


def _plan_job(inputs: Inputs, mask: masking.Mask) -> JobPlan:
    desired, current = inputs.desired, inputs.current
    base = JobPlan(
        desired.id if current is None else current.id,
        inputs.source,
        Action.ERROR,
        name=mask.name(desired),
        sensitive=inputs.sensitive,
        template_id=inputs.declared_template if inputs.declared_template is not None else desired.template_id,
        generation=inputs.generation,
        lifecycle=None if current is None or inputs.error else current.lifecycle,
    )
    if inputs.error:
        return replace(base, reason=inputs.error)
    if current is None:
        return _create(base, inputs, mask)
    changes = tuple(map(mask.change, diffs.diff(desired, current)))
    template_moved = bool(desired.template_id and current.template_id and desired.template_id != current.template_id)
    if template_moved and current.is_draft:
        theirs, ours = mask.template(current), mask.template(desired)
        reason = f"templateId is immutable: the job uses {theirs}, the manifest {ours}"
        return replace(base, action=Action.BLOCKED, changes=changes, reason=reason)
    if not current.is_draft:
        if not changes and not template_moved:
            return replace(base, action=Action.UNCHANGED)
        return _replace(replace(base, changes=changes), inputs, mask, template_moved=template_moved)
    if not changes:
        if inputs.run:
            launch = (_run_call(desired, current, current.id),)
            basis = _basis(current, (), mask)
            return replace(base, action=Action.LAUNCH, calls=launch, basis=basis)
        return replace(base, action=Action.UNCHANGED)
    sections = sections_to_write(changes)
    shown = {unit for section in (*sections, "configs") for unit in states.UNITS_OF_SECTION[section]}
    shown_desired, shown_current = mask.units(desired, shown), mask.units(current, shown)
    calls = [
        Call(
            "PATCH",
            section,
            bodies.path(current.id, section),
            bodies.build(section, shown_desired, shown_current),
            target=current.id,
        )
        for section in sections
    ]
    if inputs.run:
        calls.append(_run_call(shown_desired, shown_current, current.id))
    basis = _basis(current, sections, mask)
    return replace(base, action=Action.UPDATE, changes=changes, calls=tuple(calls), basis=basis)


def _create(base: JobPlan, inputs: Inputs, mask: masking.Mask) -> JobPlan:
    """A job that does not exist: created with every declared section, under its derived or given id."""
    desired = inputs.desired
    if not desired.template_id:
        return replace(base, reason=f"job {desired.id} does not exist; give spec.templateId to create it")
    identity = inputs.identity or markers.Identity(desired.id)
    description = markers.describe(desired.description, identity.marker(inputs.generation))
    shown = mask.units(desired)
    changes = tuple(
        mask.change(diffs.Change(states.unit_path(unit), diffs.ABSENT, value))
        for unit, value in desired.units.items()
        if value is not None
    )
    calls = [Call("POST", "create", "/jobs", bodies.create(shown, desired.id, description))]
    if inputs.run:
        calls.append(_run_call(shown, shown, desired.id))
    return replace(
        base,
        action=Action.CREATE,
        changes=changes,
        calls=_targeted(calls, desired.id),
        description=description,
        basis={STATE: None},
    )


def _replace(base: JobPlan, inputs: Inputs, mask: masking.Mask, *, template_moved: bool) -> JobPlan:
    """A started job whose manifest changed: blocked, unless --replace may give the key a new generation."""
    current, identity = inputs.current, inputs.identity
    assert current is not None
    what = "its templateId changed" if template_moved else "its manifest changed"
    if identity is None or identity.key is None:
        reason = (
            f"job is {current.lifecycle} (only a draft can be edited) and {what}; "
            "a job with a fixed metadata.id cannot be replaced: "
            "use metadata.key to let --replace create a new generation"
        )
        return replace(base, action=Action.BLOCKED, reason=reason)
    running = current.lifecycle not in FINISHED
    if not inputs.options.replace:
        reason = f"job is {current.lifecycle} and {what}: only a draft can be edited; "
        reason += f"--replace creates generation {inputs.generation + 1}"
        reason += " (with --abort-running, since it is still running)" if running else ""
        return replace(base, action=Action.BLOCKED, reason=reason)
    if running and not inputs.options.abort_running:
        reason = f"job is still running ({current.lifecycle}): --replace needs --abort-running to abort it first"
        return replace(base, action=Action.BLOCKED, reason=reason)
    generation = inputs.generation + 1
    new_id = identity.generation_id(generation)
    description = markers.describe(inputs.desired.description, identity.marker(generation))
    shown = mask.units(inputs.desired)
    calls = []
    if running:
        calls.append(Call("POST", "abort", f"/jobs/{current.id}/abort", {}, destructive=True, target=current.id))
    calls.append(Call("POST", "create", "/jobs", bodies.create(shown, new_id, description), target=new_id))
    if inputs.run:
        calls.append(replace(_run_call(shown, shown, new_id), target=new_id))
    return replace(
        base,
        action=Action.REPLACE,
        calls=tuple(calls),
        description=description,
        generation=generation,
        reason=f"generation {inputs.generation} ({current.id}) is {current.lifecycle}; creating generation "
        f"{generation} ({new_id})",
        basis={STATE: current.lifecycle},
    )


def orphan(current: states.Job, marker: markers.Marker, *, prune: bool) -> JobPlan:
    """A marked draft that no manifest claims: listed as information, deleted only with --prune."""
    source = f"(no manifest; marked {marker.kind}={marker.name}, {marker.origin})"
    base = JobPlan(current.id, source, Action.ORPHAN, lifecycle=current.lifecycle, name=current.units.get("name"))
    if not prune:
        return replace(base, reason="a draft this tool created that no manifest claims; --prune deletes it")
    delete = Call("DELETE", "delete", f"/jobs/{current.id}", None, destructive=True, target=current.id)
    return replace(base, action=Action.PRUNE, calls=(delete,), reason="no manifest claims it", basis={STATE: DRAFT})


def _run_call(desired: states.Job, current: states.Job, job_id: str) -> Call:
    return Call("POST", "run", f"/jobs/{job_id}/run", bodies.run(desired, current), target=job_id)


def _targeted(calls: Sequence[Call], job_id: str) -> tuple[Call, ...]:
    return tuple(call if call.target else replace(call, target=job_id) for call in calls)


def _basis(current: states.Job, sections: Sequence[str], mask: masking.Mask) -> dict[str, Any]:
    """The redacted server values the calls' bodies depend on, and the state: what staleness compares."""
    units = [unit for section in sections for unit in states.UNITS_OF_SECTION[section]]
    shown = mask.units(current, units)
    return {**{unit: shown.units.get(unit) for unit in units}, STATE: current.lifecycle}


def stale(job: JobPlan, current: states.Job | None, key: bytes, secrets: frozenset[str] = frozenset()) -> list[str]:
    """What moved on the server since ``job`` was planned: the job's existence and state, and every unit its
    calls depend on. Values are compared in their redacted form, so a secret is compared by its fingerprint;
    ``secrets`` are those of :func:`secret_values`, masked by value as the plan masked them.
    """
    expected = job.basis.get(STATE, DRAFT)
    now = current.lifecycle if current is not None else None
    if now != expected:
        return [_moved_state(expected, now)]
    if current is None:
        return []
    shown = masking.Mask(job.sensitive, key, secrets).units(current, job.basis.keys())
    moved = []
    for unit, before in job.basis.items():
        if unit == STATE:
            continue
        after = shown.units.get(unit)
        if not states.equal(redaction.as_json(before), redaction.as_json(after)):
            moved.append(f"{unit} changed from {_brief(before)} to {_brief(after)}")
    return moved


def _moved_state(expected: str | None, now: str | None) -> str:
    if expected is None:
        return f"the job was created (it is {now})"
    if now is None:
        return "the job no longer exists"
    return f"the job is now {now} (it was {expected})"


def _brief(value: Any) -> str:
    text = (
        str(value) if isinstance(value, redaction.Sensitive) else json.dumps(redaction.as_json(value), sort_keys=True)
    )
    return text if len(text) <= 80 else text[:79] + "…"


def sections_to_write(changes: Sequence[diffs.Change]) -> list[str]:
    """The sections holding a changed unit, in the API's order: one PATCH each, and no other."""
    changed = {states.SECTION_OF_UNIT[change.unit] for change in changes}
    return [section for section in states.SECTIONS if section in changed]
