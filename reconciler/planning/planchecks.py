"""What a plan file may ask for. Pure: no sockets, no files.

A plan file is untrusted: anyone who can edit it could turn an update into a DELETE of any job, or add an
abort. Checking its basis is not enough, since the basis only says the server did not move. So every call the
file lists is explained twice before it is sent:

- :func:`problems`: the file must be consistent with itself (methods, paths, targets, destructive flags,
  which sections each action may hold, the summary's counts). A file that is not is refused whole.
- :func:`rederive`: each job's calls are planned again, by the same planner (:func:`planner.plan_job`), from
  the file's recorded desired state and a fresh read; ids are derived again from the recorded key and
  generation. A call the fresh plan does not make is refused; a fresh plan that needs more than the file
  says means the job moved (stale).
- :func:`prune_refusal`: a DELETE only of a marked draft, whose marker matches its id, that no job in the
  file claims: what the planner calls an orphan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from reconciler.planning import bodies, markers, planner, plans, reports, states

if TYPE_CHECKING:
    from reconciler.planning.planfiles import CallDoc, JobDoc, PlanDoc

# The calls each action's jobs may hold; anything else is no plan this tool wrote.
ALLOWED: Final = {
    "create": frozenset({"create", "run"}),
    "update": frozenset({*states.SECTIONS, "run"}),
    "launch": frozenset({"run"}),
    "replace": frozenset({"abort", "create", "run"}),
    "prune": frozenset({"delete"}),
}
DESTRUCTIVE_SECTIONS: Final = frozenset({"abort", "delete"})


def problems(document: PlanDoc) -> list[str]:
    """Why ``document`` is inconsistent with itself: empty when it is not."""
    found: list[str] = []
    ids = Counter(job.id for job in document.jobs)
    found += [f"job {job_id} is listed {count} times" for job_id, count in ids.items() if count > 1]
    for job in document.jobs:
        found += [f"job {job.id}: {problem}" for problem in _job_problems(job)]
        if job.action == "prune" and document.partial:
            found.append(f"job {job.id}: a partial plan cannot prune (it does not see every manifest)")
        found += [f"job {job.id}: {problem}" for problem in _origin_problems(job, document)]
    found += _summary_problems(document)
    return found


def _origin_problems(job: JobDoc, document: PlanDoc) -> list[str]:
    """A job the plan creates records one of the plan's own roots and its environment: a marker naming another
    root would hand the job to that root's prune."""
    marker = markers.read(job.description) if job.action in ("create", "replace") else None
    if marker is None:
        return []  # no marker at all is refused by the re-derivation, with its reason
    scope = document.scope
    if marker.env != scope.env or (marker.root or markers.ANCHOR) not in scope.roots:
        return [f"its marker says it is {marker.origin}, not from the plan's roots ({', '.join(scope.roots)})"]
    return []


def _job_problems(job: JobDoc) -> list[str]:
    allowed = ALLOWED.get(job.action, frozenset())
    if not allowed:
        return [f"a job to {job.action} makes no call, yet {len(job.calls)} are listed"] if job.calls else []
    if not job.calls:
        return [f"a job to {job.action} lists no call"]
    found = [f"{job.action} cannot hold a {call.section} call" for call in job.calls if call.section not in allowed]
    found += [problem for call in job.calls for problem in _call_problems(job, call)]
    sections = [call.section for call in job.calls]
    found += [f"the {section} call is listed twice" for section, n in Counter(sections).items() if n > 1]
    destructive = any(call.destructive for call in job.calls) or job.action in ("replace", "prune")
    if job.destructive != destructive:
        found.append(f"destructive is {job.destructive}, its calls say {destructive}")
    return found


def _call_problems(job: JobDoc, call: CallDoc) -> list[str]:
    method, path = _expected(call.section, call.target)
    found = []
    if call.method != method or call.path != path:
        found.append(f"the {call.section} call is {call.method} {call.path}, not {method} {path}")
    if call.destructive != (call.section in DESTRUCTIVE_SECTIONS):
        found.append(f"the {call.section} call's destructive flag is {call.destructive}")
    new_generation = job.action == "replace" and call.section in ("create", "run")
    if call.section != "create" and not new_generation and call.target != job.id:
        found.append(f"the {call.section} call addresses job {call.target}, not the job itself")
    return found


def _expected(section: str, target: str) -> tuple[str, str]:
    if section == "create":
        return "POST", "/jobs"
    if section in ("run", "abort"):
        return "POST", f"/jobs/{target}/{section}"
    if section == "delete":
        return "DELETE", f"/jobs/{target}"
    return "PATCH", bodies.path(target, section)


def _summary_problems(document: PlanDoc) -> list[str]:
    actions = Counter(job.action for job in document.jobs)
    counted = {action: actions[action] for action in ("create", "update", "replace", "prune", "blocked", "error")}
    counted |= {"unchanged": actions["unchanged"], "orphan": actions["orphan"]}
    counted["calls"] = sum(len(job.calls) for job in document.jobs)
    counted["launch"] = sum(1 for job in document.jobs for call in job.calls if call.section == "run")
    counted["destructive"] = sum(1 for job in document.jobs if job.destructive)
    summary = document.summary.model_dump()
    wrong = {name: n for name, n in counted.items() if summary[name] != n}
    return [f"the summary says {summary[name]} {name}, the jobs {n}" for name, n in wrong.items()]


@dataclass(frozen=True)
class Verdict:
    """A job re-derived: the fresh plan to apply, or why none of its calls may be sent."""

    job: plans.JobPlan | None
    outcome: reports.Outcome = reports.Outcome.DONE
    reason: str = ""


def _call_key(call: plans.Call) -> tuple[str, str, str, str, bool]:
    return (call.method, call.section, call.path, call.target, call.destructive)


def rederive(job: plans.JobPlan, desired: states.Job, current: states.Job | None, key: bytes) -> Verdict:
    """``job``'s calls planned again from its recorded desired state and ``current`` (a fresh read)."""
    identity, generation, own = job_identity(job)
    if isinstance(identity, str):
        return _refused(identity)
    inputs = plans.Inputs(
        desired=replace(desired, description=own),
        current=current,
        source=job.source,
        sensitive=job.sensitive,
        identity=identity,
        generation=generation,
        run=any(call.section == "run" for call in job.calls),
        options=plans.Options(
            replace=job.action is plans.Action.REPLACE,
            abort_running=any(call.section == "abort" for call in job.calls),
        ),
    )
    fresh = planner.plan_job(inputs, key)
    asked = [_call_key(call) for call in job.calls]
    planned = [_call_key(call) for call in fresh.calls]
    unexplained = [call for call in asked if call not in planned]
    if unexplained or fresh.action is not job.action:
        what = ", ".join(f"{method} {path}" for method, _, path, _, _ in unexplained) or f"to {job.action} it"
        return _refused(f"the plan file asks for {what}, which its desired state and the job now do not call for")
    if fresh.description != job.description:
        return _refused("the description (with its ownership marker) is not the one its key and generation give")
    if asked != planned:
        needed = [call for call in planned if call not in asked]
        more = ", ".join(f"{method} {path}" for method, _, path, _, _ in needed)
        reason = f"the job now needs other calls than the plan's ({more or 'in another order'}) since the plan"
        return Verdict(None, reports.Outcome.STALE, reason)
    return Verdict(fresh)


def job_identity(job: plans.JobPlan) -> tuple[markers.Identity | str | None, int, str]:
    """The identity a created job's marker names, the generation its plan is made at, and the description
    without the marker: or, in place of the identity, why the recorded ids do not follow from them."""
    if job.action not in (plans.Action.CREATE, plans.Action.REPLACE):
        return None, job.generation or 0, job.description
    marker = markers.read(job.description)
    if marker is None or not (job.description == marker.line() or job.description.endswith("\n" + marker.line())):
        return "a job to create carries no ownership marker at the end of its description", 0, ""
    own = job.description[: -len(marker.line())].removesuffix("\n")
    identity = (
        markers.Identity(markers.generation_id(marker.name, 0), marker.name, marker.root, marker.env)
        if marker.kind == "key"
        else markers.Identity(marker.name, None, marker.root, marker.env)
    )
    generation = job.generation or 0
    if job.action is plans.Action.REPLACE:
        generation -= 1
        if identity.key is None or generation < 0:
            return "only a job with a key and a generation can be replaced", 0, ""
    if identity.generation_id(generation) != job.job_id:
        return f"job id {job.job_id} is not the one its marker's {marker.kind} and generation give", 0, ""
    return identity, generation, own


def prune_refusal(
    job: plans.JobPlan, raw: Mapping[str, Any] | None, others: Sequence[plans.JobPlan], scope: markers.Scope
) -> str:
    """Why ``job`` (a prune) must not delete its target now; empty when it is an orphan the planner would prune
    (within the plan's roots and environment)."""
    if raw is None:
        return ""  # the staleness check reports that the job no longer exists
    found = markers.read(str(raw.get("description") or ""))
    if found is None:
        return "the job carries no marker of this tool: it is not an orphan"
    marker: markers.Marker = found
    if scope.standing(marker) is not markers.Standing.OWN:
        roots = ", ".join(scope.roots)
        return f"the job was {marker.origin}, outside what the plan was made for ({roots}): not the plan's to prune"
    matching = marker.name if marker.kind == "id" else markers.generation_id(marker.name, marker.generation)
    if matching != job.job_id:
        return f"the job's marker ({marker.kind}={marker.name}) does not match its id"
    ids = {other.job_id for other in others}
    generations = {markers.generation_id(marker.name, n) for n in range(marker.generation + 2)}
    if marker.claim in _claims(others) or job.job_id in ids or (marker.kind == "key" and generations & ids):
        return "a manifest in the plan claims this job: it is not an orphan"
    fresh = planner.orphan(states.from_api(raw), marker, prune=True)
    if [_call_key(call) for call in fresh.calls] != [_call_key(call) for call in job.calls]:
        return "the plan file's delete is not the one the planner would make"
    return ""


def _claims(jobs: Collection[plans.JobPlan]) -> set[tuple[str, str]]:
    """What the plan's managed jobs claim: their own ids, and the marker of each job the plan creates."""
    claims = {("id", job.job_id) for job in jobs}
    for job in jobs:
        marker = markers.read(job.description)
        if marker is not None:
            claims.add(marker.claim)
    return claims


def _refused(reason: str) -> Verdict:
    return Verdict(None, reports.Outcome.REFUSED, reason)
