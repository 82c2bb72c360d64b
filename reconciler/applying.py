"""Apply: the PATCH calls of a plan, with bounded concurrency, each checked against what the server returns.

Bodies are built here from desired and current state, never taken from the plan (which holds only redacted
values). Every PATCH answers with the job as the server now has it; its section is normalised and compared
with the manifest, so a write the API silently dropped (an unknown field) or a missing normalisation rule is
reported as *unconverged* at no extra request.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping

from reconciler import bodies, client, diffs, errors, fetching, plans, reports, states

Progress = Callable[[int], None]


async def apply(
    api: client.Client,
    plan: plans.Plan,
    desired: Mapping[str, states.Job],
    current: Mapping[str, states.Job],
    *,
    concurrency: int,
    stopping: asyncio.Event | None = None,
    progress: Progress | None = None,
) -> reports.Report:
    stopping = stopping or asyncio.Event()
    results: list[reports.Result] = []
    work = []
    for job in plan.jobs:
        if job.action is plans.Action.BLOCKED:
            results.append(reports.Result(job.job_id, "*", reports.Outcome.BLOCKED, job.reason))
        for call in job.calls:
            work.append((job, call))

    async def one(job: plans.JobPlan, call: plans.Call) -> None:
        if stopping.is_set():
            results.append(reports.Result(job.job_id, call.section, reports.Outcome.NOT_ATTEMPTED, "interrupted"))
            return
        results.append(await write(api, call.section, desired[job.job_id], current[job.job_id]))
        if progress:
            progress(1)

    await fetching.bounded([functools.partial(one, job, call) for job, call in work], concurrency)
    order = {(job.job_id, call.section): index for index, (job, call) in enumerate(work)}
    results.sort(key=lambda result: order.get((result.job_id, result.section), -1))
    counters = api.counters
    requests = plans.Requests(counters.reads, counters.writes, counters.retries)
    return reports.Report(tuple(results), requests, interrupted=stopping.is_set())


async def write(api: client.Client, section: str, desired: states.Job, current: states.Job) -> reports.Result:
    """One PATCH, and the convergence check of its section against the job it returns."""
    body = bodies.build(section, desired, current)
    try:
        answer = await api.patch(desired.id, section, body)
    except errors.ApiError as error:
        return reports.Result(desired.id, section, reports.Outcome.FAILED, str(error))
    left = unconverged(section, desired, states.from_api(answer))
    if left:
        detail = "still differs after the write: " + ", ".join(left)
        return reports.Result(desired.id, section, reports.Outcome.UNCONVERGED, detail)
    return reports.Result(desired.id, section, reports.Outcome.DONE)


def unconverged(section: str, desired: states.Job, after: states.Job) -> list[str]:
    """The fields of ``section`` the manifest declares that the server still has otherwise."""
    declared = {unit: value for unit, value in desired.units.items() if states.SECTION_OF_UNIT[unit] == section}
    part = states.Job(desired.id, declared)
    return [change.dotted for change in diffs.diff(part, after)]
