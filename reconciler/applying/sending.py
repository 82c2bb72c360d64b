"""Apply: the calls of a plan, job by job with bounded concurrency, each checked against what the server returns.

Bodies are built here from desired and current state, never taken from the plan (which holds only redacted
values). Every PATCH and create answers with the job as the server now has it; its declared units are
normalised and compared with the manifest, so a write the API silently dropped (an unknown field) or a missing
normalisation rule is reported as *unconverged* at no extra request.

A job's calls run in order: its sections are independent, so a failed PATCH does not stop the others, but a
launch follows only when every call before it succeeded, and nothing follows a failed create or abort.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from reconciler import errors, workers
from reconciler.planning import bodies, diffs, plans, reports, states

Progress = Callable[[int], None]


class Counted(Protocol):
    reads: int
    writes: int
    retries: int


class Sender(Protocol):
    """What applying needs of an API client (:class:`reconciler.api.endpoints.Client` is one): the calls a plan
    makes, and the read that tells a launch refused from a launch already done. Applying names no client of
    its own, so it can be driven by any, and the HTTP edge and the writing edge do not depend on each other."""

    async def patch(self, job_id: str, section: str, body: Any) -> dict[str, Any]: ...
    async def create_job(self, body: Mapping[str, Any]) -> dict[str, Any]: ...
    async def run_job(self, job_id: str, config: Mapping[str, Any] | None = None) -> dict[str, Any]: ...
    async def abort_job(self, job_id: str) -> dict[str, Any]: ...
    async def delete_job(self, job_id: str) -> dict[str, Any]: ...
    async def get_job(self, job_id: str) -> dict[str, Any]: ...
    @property
    def counters(self) -> Counted: ...


GATES = frozenset({"create", "abort"})  # what the rest of a job's calls depend on


async def apply(
    api: Sender,
    plan: plans.Plan,
    desired: Mapping[str, states.Job],
    current: Mapping[str, states.Job],
    *,
    concurrency: int,
    stopping: asyncio.Event | None = None,
    progress: Progress | None = None,
) -> reports.Report:
    """Every call of ``plan``; ``desired`` and ``current`` are keyed by the plan's job ids."""
    stopping = stopping or asyncio.Event()
    outcomes: dict[str, list[reports.Result]] = {}
    for job in plan.jobs:
        if job.action is plans.Action.BLOCKED:
            outcomes[job.job_id] = [reports.Result(job.job_id, "*", reports.Outcome.BLOCKED, job.reason)]
    writing = [job for job in plan.jobs if job.calls]

    async def one(job: plans.JobPlan) -> None:
        outcomes[job.job_id] = await _job(api, job, desired.get(job.job_id), current.get(job.job_id), stopping)
        if progress:
            progress(len(job.calls))

    await workers.bounded([functools.partial(one, job) for job in writing], concurrency)
    results = tuple(result for job in plan.jobs for result in outcomes.get(job.job_id, ()))
    counters = api.counters
    requests = plans.Requests(counters.reads, counters.writes, counters.retries)
    return reports.Report(results, requests, interrupted=stopping.is_set())


async def _job(
    api: Sender,
    job: plans.JobPlan,
    desired: states.Job | None,
    current: states.Job | None,
    stopping: asyncio.Event,
) -> list[reports.Result]:
    results: list[reports.Result] = []
    latest = current
    for call in job.calls:
        if stopping.is_set():
            results.append(_result(call, reports.Outcome.NOT_ATTEMPTED, "interrupted"))
            continue
        failed = [result for result in results if result.outcome is not reports.Outcome.DONE]
        if failed and (call.section == "run" or any(result.section in GATES for result in failed)):
            results.append(
                _result(call, reports.Outcome.NOT_ATTEMPTED, f"skipped: {failed[0].section} did not succeed")
            )
            continue
        result, answer = await _call(api, job, call, desired, latest)
        if answer is not None:
            latest = states.from_api(answer)
        results.append(result)
    return results


async def _call(
    api: Sender, job: plans.JobPlan, call: plans.Call, desired: states.Job | None, current: states.Job | None
) -> tuple[reports.Result, dict[str, Any] | None]:
    try:
        if call.section == "delete":
            await api.delete_job(call.target)
        elif call.section == "abort":
            await api.abort_job(call.target)
        elif desired is None:
            raise errors.ReconcilerError(f"the plan holds no desired state for job {job.job_id}")
        elif call.section == "create":
            answer = await api.create_job(bodies.create(desired, call.target, job.description))
            return _converged(call, desired, answer, tuple(desired.units)), answer
        elif call.section == "run":
            await api.run_job(call.target, bodies.run(desired, current or desired).get("config"))
        else:
            body = bodies.build(call.section, desired, current or states.Job(call.target, {}))
            answer = await api.patch(call.target, call.section, body)
            return _converged(call, desired, answer, states.UNITS_OF_SECTION[call.section]), answer
    except errors.NotFound as error:
        if call.section == "delete":
            # A retried DELETE whose first answer was lost meets 404: the job is gone, as asked.
            return _result(call, reports.Outcome.DONE, "read back: the job no longer exists"), None
        return _result(call, reports.Outcome.FAILED, str(error)), None
    except errors.FailedPrecondition as error:
        if call.section == "run":
            return await _launched(api, call, error), None
        return _result(call, reports.Outcome.FAILED, str(error)), None
    except (errors.ApiError, errors.EndpointError) as error:
        # First contact proved the address; a page or a stray 404 now is this call's failure, not the run's.
        return _failed(call, error), None
    return _result(call, reports.Outcome.DONE), None


def _failed(call: plans.Call, error: errors.ApiError | errors.EndpointError) -> reports.Result:
    if isinstance(error, errors.Stopped) and not error.sent:
        # The run began stopping between the check in _job and the request: the call never left.
        return _result(call, reports.Outcome.NOT_ATTEMPTED, "interrupted")
    return _result(call, reports.Outcome.FAILED, str(error))


async def _launched(api: Sender, call: plans.Call, refused: errors.ApiError) -> reports.Result:
    """A launch refused because the job "is started": a retry whose first answer was lost meets exactly that.
    What happened is read back rather than guessed: a job that is no longer a draft was launched, by this run
    when an earlier attempt may have been applied. A launch refused at its first attempt was someone else's (a
    concurrent apply, the console): the job is launched, but the report must not claim it, so it is stale."""
    try:
        state = str((await api.get_job(call.target)).get("state") or states.DRAFT)
    except (errors.ApiError, errors.EndpointError) as error:
        return _result(call, reports.Outcome.FAILED, f"{refused}; reading the job back failed too: {error}")
    if state == states.DRAFT:
        return _result(call, reports.Outcome.FAILED, str(refused))
    if refused.attempts == 1:
        return _result(call, reports.Outcome.STALE, f"not launched by this apply: the job was already {state}")
    return _result(call, reports.Outcome.DONE, f"read back: the job is {state}")


def _converged(call: plans.Call, desired: states.Job, answer: dict[str, Any], units: tuple[str, ...]) -> reports.Result:
    left = unconverged(units, desired, states.from_api(answer))
    if left:
        return _result(call, reports.Outcome.UNCONVERGED, "still differs after the write: " + ", ".join(left))
    return _result(call, reports.Outcome.DONE)


def unconverged(units: tuple[str, ...], desired: states.Job, after: states.Job) -> list[str]:
    """The declared fields among ``units`` that the server still has otherwise."""
    declared = {unit: value for unit, value in desired.units.items() if unit in units}
    return [change.dotted for change in diffs.diff(states.Job(desired.id, declared), after)]


def _result(call: plans.Call, outcome: reports.Outcome, detail: str = "") -> reports.Result:
    return reports.Result(call.target, call.section, outcome, detail)
