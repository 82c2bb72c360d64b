"""Staleness: what moved on the server since a job was planned, compared in the plan's redacted form."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.planning import masking, plans, redaction, reports, states


def stale(
    job: plans.JobPlan, current: states.Job | None, key: bytes, secrets: frozenset[str] = frozenset()
) -> list[str]:
    """What moved on the server since ``job`` was planned: the job's existence and state, and every unit its
    calls depend on. Values are compared in their redacted form, so a secret is compared by its fingerprint;
    ``secrets`` are those of :func:`~reconciler.planning.masking.secret_values`, masked by value as the plan
    masked them.
    """
    expected = job.basis.get(plans.STATE, plans.DRAFT)
    now = current.lifecycle if current is not None else None
    if now != expected:
        return [_moved_state(expected, now)]
    if current is None:
        return []
    shown = masking.Mask(job.sensitive, key, secrets).units(current, job.basis.keys())
    moved = []
    for unit, before in job.basis.items():
        if unit == plans.STATE:
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


def refusal(
    job: plans.JobPlan,
    desired: states.Job | None,
    current: Mapping[str, states.Job],
    failures: Mapping[str, str],
    key: bytes,
) -> tuple[reports.Outcome, str] | None:
    """Why a planned job must not be written now because the server moved, if it must not."""
    failure = failures.get(job.job_id)
    if failure:
        return reports.Outcome.FAILED, f"could not re-read the job: {failure}"
    now = current.get(job.job_id)
    moved = stale(job, now, key, masking.secret_values(desired, now, job.sensitive))
    created = [call.target for call in job.calls if call.section == "create" and call.target != job.job_id]
    moved += [f"generation {job.generation} ({target}) was created" for target in created if target in current]
    return (reports.Outcome.STALE, "; ".join(moved) + " since the plan") if moved else None
