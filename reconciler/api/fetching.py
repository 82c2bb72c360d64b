"""The current state of many jobs, in the fewest requests: one GET per job, or the pages of ``GET /jobs``.

The list carries whole job objects, 100 a page. Reading N managed jobs costs N GETs or ⌈total/100⌉ pages,
whichever is fewer; ``total`` is only known after the first page, so with two managed jobs or more the first
page is read as a probe. When the list loses (a large account, few managed jobs) the probe cost one extra
request, and the jobs it returned are not read again; a single job is always read with one GET.

A key's jobs form generations (a replacement gets the next one). The current generation is the highest that
exists; a new one is only ever created once the previous one has started, so a draft ends the chain and
only a started job costs a probe of the next id. When the list was read, the chain is followed in it for free.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from reconciler import errors, workers
from reconciler.api import endpoints
from reconciler.planning import markers, states

LIST_THRESHOLD: Final = 2
# The most pages of GET /jobs one run reads (a million jobs). ``total`` is the server's word: the page count is
# checked against this before anything is planned from it, so a forged total costs an error, not the memory
# and the requests of billions of pages. Reading jobs one GET each needs no such limit.
MAX_PAGES: Final = 10_000
Progress = Callable[[int], None]
Raw = dict[str, Any]


def expected_requests(count: int, *, list_all: bool = False) -> int:
    """What reading ``count`` managed jobs costs in an account that holds about those jobs: the pages of the
    list (one GET for a single job). A client's HTTP engine is chosen from this before its first request.

    ``total`` is unknown until the first page is read, so an account far larger than the managed set, where
    the jobs are read one GET each, costs more than this says; its reads then go through the engine chosen for
    the pages (httpx's own, up to 6,300 managed jobs), a known price of choosing once.
    """
    if list_all or count >= LIST_THRESHOLD:
        return max(1, -(-count // endpoints.PAGE_LIMIT))
    return count


@dataclass
class Fetched:
    """Raw jobs by the manifest's base id; base ids in neither ``jobs`` nor ``failures`` do not exist."""

    jobs: dict[str, Raw] = field(default_factory=dict)
    generations: dict[str, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    listing: list[Raw] | None = None


async def fetch(
    client: endpoints.Client,
    identities: Sequence[markers.Identity],
    *,
    concurrency: int,
    list_all: bool = False,
    progress: Progress | None = None,
) -> Fetched:
    """The current generation of each identity's job; ``list_all`` reads every job (to find orphans)."""
    wanted = list({identity.base_id: identity for identity in identities}.values())
    fetched = Fetched()
    known: dict[str, Raw] = {}
    if list_all or len(wanted) >= LIST_THRESHOLD:
        first, total = await client.list_jobs(limit=endpoints.PAGE_LIMIT, offset=0)
        pages = max(0, -(-total // endpoints.PAGE_LIMIT))  # in integers: a total past 1e308 is no float
        if list_all and pages > MAX_PAGES:
            raise errors.ApiError(
                f"GET /jobs reports pagination.total {total}, {pages} pages: more than the {MAX_PAGES} "
                "this tool reads (a limit against a server that misreports it); refused before any write"
            )
        known = {str(job.get("id")): job for job in first}
        if list_all or pages <= min(len(wanted), MAX_PAGES):
            listing = [*first, *await _read_pages(client, pages, concurrency=concurrency, progress=progress)]
            fetched.listing = listing
            everything = {str(job.get("id")): job for job in listing}
            for identity in wanted:
                _follow_listed(fetched, identity, everything)
            return fetched
    await workers.bounded(
        [functools.partial(_follow, client, fetched, identity, known, progress) for identity in wanted], concurrency
    )
    return fetched


async def _read_pages(
    client: endpoints.Client, pages: int, *, concurrency: int, progress: Progress | None
) -> list[Raw]:
    results: dict[int, list[Raw]] = {}

    async def page(number: int) -> None:
        jobs, _ = await client.list_jobs(limit=endpoints.PAGE_LIMIT, offset=number * endpoints.PAGE_LIMIT)
        results[number] = jobs
        if progress:
            progress(len(jobs))

    await workers.bounded([functools.partial(page, number) for number in range(1, pages)], concurrency)
    return [job for number in sorted(results) for job in results[number]]


def _follow_listed(fetched: Fetched, identity: markers.Identity, everything: dict[str, Raw]) -> None:
    job = everything.get(identity.base_id)
    if job is None:
        return
    generation = 0
    while identity.key is not None and identity.generation_id(generation + 1) in everything:
        generation += 1
        job = everything[identity.generation_id(generation)]
    fetched.jobs[identity.base_id] = job
    fetched.generations[identity.base_id] = generation


async def _follow(
    client: endpoints.Client,
    fetched: Fetched,
    identity: markers.Identity,
    known: dict[str, Raw],
    progress: Progress | None,
) -> None:
    """GET the job, then its later generations while the one found has started."""
    try:
        job = await _get(client, identity.base_id, known)
        generation = 0
        while job is not None and identity.key is not None and job.get("state", states.DRAFT) != states.DRAFT:
            later = await _get(client, identity.generation_id(generation + 1), known)
            if later is None:
                break
            generation, job = generation + 1, later
    except errors.ApiError as error:
        fetched.failures[identity.base_id] = str(error)
        return
    finally:
        if progress:
            progress(1)
    if job is not None:
        fetched.jobs[identity.base_id] = job
        fetched.generations[identity.base_id] = generation


async def _get(client: endpoints.Client, job_id: str, known: dict[str, Raw]) -> Raw | None:
    if job_id in known:
        return known[job_id]
    try:
        return await client.get_job(job_id)
    except errors.NotFound:
        return None
