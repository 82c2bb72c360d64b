"""Planning one job: what differs between its desired and current state, and the calls that would make them meet.

Pure: the plan's data is :mod:`reconciler.planning.plans`; this module decides its contents, job by job, with
every value shown through the job's :class:`~reconciler.planning.masking.Mask`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from reconciler.planning import bodies, diffs, markers, masking, plans, states


def build(inputs: Sequence[plans.Inputs], key: bytes, requests: plans.Requests | None = None) -> plans.Plan:
    return plans.Plan(tuple(plan_job(item, key) for item in inputs), requests or plans.Requests())


def plan_job(inputs: plans.Inputs, key: bytes) -> plans.JobPlan:
    mask = masking.Mask.of(inputs.desired, inputs.current, inputs.sensitive, key, inputs.exposure)
    planned = _plan_job(inputs, mask)
    if not planned.calls:
        return planned
    # Only a job with calls needs its declared values kept, for a plan file to apply it later.
    declared = inputs.declared if inputs.declared is not None else inputs.desired.units
    return replace(planned, declared=mask.declared(declared))


def _plan_job(inputs: plans.Inputs, mask: masking.Mask) -> plans.JobPlan:
    desired, current = inputs.desired, inputs.current
    base = plans.JobPlan(
        desired.id if current is None else current.id,
        inputs.source,
        plans.Action.ERROR,
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
        return replace(base, action=plans.Action.BLOCKED, changes=changes, reason=reason)
    if not current.is_draft:
        if not changes and not template_moved:
            return replace(base, action=plans.Action.UNCHANGED)
        return _replace(replace(base, changes=changes), inputs, mask, template_moved=template_moved)
    if not changes:
        if inputs.run:
            launch = (_run_call(desired, current, current.id),)
            basis = _basis(current, (), mask)
            return replace(base, action=plans.Action.LAUNCH, calls=launch, basis=basis)
        return replace(base, action=plans.Action.UNCHANGED)
    sections = sections_to_write(changes)
    shown = {unit for section in (*sections, "configs") for unit in states.UNITS_OF_SECTION[section]}
    shown_desired, shown_current = mask.units(desired, shown), mask.units(current, shown)
    calls = [
        plans.Call(
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
    return replace(base, action=plans.Action.UPDATE, changes=changes, calls=tuple(calls), basis=basis)


def _create(base: plans.JobPlan, inputs: plans.Inputs, mask: masking.Mask) -> plans.JobPlan:
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
    calls = [plans.Call("POST", "create", "/jobs", bodies.create(shown, desired.id, description))]
    if inputs.run:
        calls.append(_run_call(shown, shown, desired.id))
    return replace(
        base,
        action=plans.Action.CREATE,
        changes=changes,
        calls=_targeted(calls, desired.id),
        description=description,
        basis={plans.STATE: None},
    )


def _replace(base: plans.JobPlan, inputs: plans.Inputs, mask: masking.Mask, *, template_moved: bool) -> plans.JobPlan:
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
        return replace(base, action=plans.Action.BLOCKED, reason=reason)
    running = current.lifecycle not in plans.FINISHED
    if not inputs.options.replace:
        reason = f"job is {current.lifecycle} and {what}: only a draft can be edited; "
        reason += f"--replace creates generation {inputs.generation + 1}"
        reason += " (with --abort-running, since it is still running)" if running else ""
        return replace(base, action=plans.Action.BLOCKED, reason=reason)
    if running and not inputs.options.abort_running:
        reason = f"job is still running ({current.lifecycle}): --replace needs --abort-running to abort it first"
        return replace(base, action=plans.Action.BLOCKED, reason=reason)
    generation = inputs.generation + 1
    new_id = identity.generation_id(generation)
    description = markers.describe(inputs.desired.description, identity.marker(generation))
    shown = mask.units(inputs.desired)
    calls = []
    if running:
        calls.append(plans.Call("POST", "abort", f"/jobs/{current.id}/abort", {}, destructive=True, target=current.id))
    calls.append(plans.Call("POST", "create", "/jobs", bodies.create(shown, new_id, description), target=new_id))
    if inputs.run:
        calls.append(replace(_run_call(shown, shown, new_id), target=new_id))
    return replace(
        base,
        action=plans.Action.REPLACE,
        calls=tuple(calls),
        description=description,
        generation=generation,
        reason=f"generation {inputs.generation} ({current.id}) is {current.lifecycle}; creating generation "
        f"{generation} ({new_id})",
        basis={plans.STATE: current.lifecycle},
    )


def orphan(current: states.Job, marker: markers.Marker, *, prune: bool) -> plans.JobPlan:
    """A marked draft that no manifest claims: listed as information, deleted only with --prune."""
    source = f"(no manifest; marked {marker.kind}={marker.name}, {marker.origin})"
    base = plans.JobPlan(
        current.id, source, plans.Action.ORPHAN, lifecycle=current.lifecycle, name=current.units.get("name")
    )
    if not prune:
        return replace(base, reason="a draft this tool created that no manifest claims; --prune deletes it")
    delete = plans.Call("DELETE", "delete", f"/jobs/{current.id}", None, destructive=True, target=current.id)
    return replace(
        base,
        action=plans.Action.PRUNE,
        calls=(delete,),
        reason="no manifest claims it",
        basis={plans.STATE: plans.DRAFT},
    )


def _run_call(desired: states.Job, current: states.Job, job_id: str) -> plans.Call:
    return plans.Call("POST", "run", f"/jobs/{job_id}/run", bodies.run(desired, current), target=job_id)


def _targeted(calls: Sequence[plans.Call], job_id: str) -> tuple[plans.Call, ...]:
    return tuple(call if call.target else replace(call, target=job_id) for call in calls)


def _basis(current: states.Job, sections: Sequence[str], mask: masking.Mask) -> dict[str, Any]:
    """The redacted server values the calls' bodies depend on, and the state: what staleness compares."""
    units = [unit for section in sections for unit in states.UNITS_OF_SECTION[section]]
    shown = mask.units(current, units)
    return {**{unit: shown.units.get(unit) for unit in units}, plans.STATE: current.lifecycle}


def sections_to_write(changes: Sequence[diffs.Change]) -> list[str]:
    """The sections holding a changed unit, in the API's order: one PATCH each, and no other."""
    changed = {states.SECTION_OF_UNIT[change.unit] for change in changes}
    return [section for section in states.SECTIONS if section in changed]
