"""The current state of many jobs, in the fewest requests: one GET per job, or the pages of ``GET /jobs``.

The list carries whole job objects, 100 a page. Reading N managed jobs costs N GETs or ⌈total/100⌉ pages,
whichever is fewer; ``total`` is only known after the first page, so the list is probed only when there are
enough managed jobs (``LIST_THRESHOLD``) for it to have a chance of winning. When it loses (a huge account,
few managed jobs) the probe cost one extra request; jobs it already returned are not read again.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from reconciler import client as api
from reconciler import errors

LIST_THRESHOLD: Final = api.PAGE_LIMIT
Progress = Callable[[int], None]


@dataclass
class Fetched:
    """Raw jobs by id; ids absent from both ``jobs`` and ``failures`` do not exist."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    listed: bool = False


async def fetch(
    client: api.Client, ids: Sequence[str], *, concurrency: int, progress: Progress | None = None
) -> Fetched:
    wanted = list(dict.fromkeys(ids))
    fetched = Fetched()
    if len(wanted) >= LIST_THRESHOLD:
        first, total = await client.list_jobs(limit=api.PAGE_LIMIT, offset=0)
        pages = math.ceil(total / api.PAGE_LIMIT)
        _keep(fetched, first, set(wanted))
        if pages <= len(wanted):
            fetched.listed = True
            await _read_pages(client, fetched, set(wanted), pages, concurrency=concurrency, progress=progress)
            return fetched
    remaining = [job_id for job_id in wanted if job_id not in fetched.jobs]
    await _read_each(client, fetched, remaining, concurrency, progress)
    return fetched


def _keep(fetched: Fetched, page: list[dict[str, Any]], wanted: set[str]) -> None:
    for job in page:
        if job.get("id") in wanted:
            fetched.jobs[str(job["id"])] = job


async def _read_pages(
    client: api.Client, fetched: Fetched, wanted: set[str], pages: int, *, concurrency: int, progress: Progress | None
) -> None:
    async def page(number: int) -> None:
        jobs, _ = await client.list_jobs(limit=api.PAGE_LIMIT, offset=number * api.PAGE_LIMIT)
        _keep(fetched, jobs, wanted)
        if progress:
            progress(len(jobs))

    await bounded([functools.partial(page, number) for number in range(1, pages)], concurrency)


async def _read_each(
    client: api.Client, fetched: Fetched, ids: list[str], concurrency: int, progress: Progress | None
) -> None:
    async def one(job_id: str) -> None:
        try:
            fetched.jobs[job_id] = await client.get_job(job_id)
        except errors.NotFound:
            pass
        except errors.ApiError as error:
            fetched.failures[job_id] = str(error)
        if progress:
            progress(1)

    await bounded([functools.partial(one, job_id) for job_id in ids], concurrency)


async def bounded(work: Sequence[Callable[[], Awaitable[None]]], concurrency: int) -> None:
    """Run ``work`` with at most ``concurrency`` in flight; a fixed pool of workers, not a task per item.

    Workers pull from a shared iterator, so 10,000 items cost ``concurrency`` tasks, not 10,000.
    """
    items = iter(work)

    async def worker() -> None:
        for item in items:
            await item()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(work)) or 1)))
