"""Work run with bounded concurrency: the reads of :mod:`reconciler.api.fetching` and the writes of
:mod:`reconciler.applying.sending` share one pool shape, so neither edge imports the other for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence


async def bounded(work: Sequence[Callable[[], Awaitable[None]]], concurrency: int) -> None:
    """Run ``work`` with at most ``concurrency`` in flight; a fixed pool of workers, not a task per item.

    Workers pull from a shared iterator, so 10,000 items cost ``concurrency`` tasks, not 10,000.
    A failure that escapes an item (one that ends the run, such as a wrong address) stops the other workers
    before it propagates, so no request is left running behind the error the user sees.
    """
    items = iter(work)

    async def worker() -> None:
        for item in items:
            await item()

    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(work)) or 1)]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
