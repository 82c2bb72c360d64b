"""Running the pipeline's coroutines: within the run's time budget, and stopping writes on a signal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    import asyncio

    from reconciler import settings
    from reconciler.planning import reports

Result = TypeVar("Result")

# Set by the entry point (``commands.main``), which owns the process: only then may a run tune the collector
# for itself. A program that embeds the tool (it calls ``cli``) keeps its collector as it set it.
owns_process = False


def run_async(work: Coroutine[Any, Any, Result]) -> Result:
    """``asyncio.run``, handing the result back outside the task.

    On Python 3.11 ``asyncio.run`` builds the ``repr`` of its finished main task (result included) while
    restoring the SIGINT handler; a plan over thousands of jobs made that cost seconds and a hundred MB.
    """
    import asyncio

    box: list[Result] = []

    async def main() -> None:
        box.append(await work)

    asyncio.run(main())
    return box[0]


class _Signalled(Exception):
    """A signal ended a read-only phase: re-raised outside the loop as ``KeyboardInterrupt`` (exit 130)."""


def reading(work: Coroutine[Any, Any, Result], config: settings.Settings) -> Result:
    """Run a read-only phase within the run's time budget; SIGINT or SIGTERM ends it at once.

    Nothing is written while reading, so stopping is simply cancelling: the requests in flight are dropped
    and the run ends with one line (exit 130 for a signal, 1 for the time budget), never a traceback.
    """
    import asyncio
    import signal

    from reconciler import errors

    signalled: list[int] = []

    async def bounded() -> Result:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def cancel(signum: int) -> None:
            signalled.append(signum)
            task.cancel()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, cancel, signum)
        try:
            async with asyncio.timeout(config.run_timeout):
                return await work
        except TimeoutError:
            raise errors.ApiError(f"the run took longer than --run-timeout {config.run_timeout:g} s") from None
        except asyncio.CancelledError:
            if signalled:
                raise _Signalled from None
            raise
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    try:
        return run_async(bounded())
    except _Signalled:
        raise KeyboardInterrupt from None


async def interruptibly(
    work: Callable[[asyncio.Event], Awaitable[reports.Report]], config: settings.Settings
) -> reports.Report:
    """SIGINT, SIGTERM or the run's timeout stop new writes; calls in flight finish, and the report says so.

    A signal makes the report *interrupted* (exit 130, reserved for signals); the timeout makes it *timed out*,
    a partial apply (exit 4), with the calls it kept from starting said to be so.
    """
    import asyncio
    import signal
    from dataclasses import replace

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    why: list[str] = []

    def stop(reason: str = "Interrupted") -> None:
        if not stopping.is_set():
            why.append(reason)
            click.echo(f"{reason}: finishing the calls in flight, starting no new ones.", err=True)
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    if config.run_timeout:
        loop.call_later(config.run_timeout, stop, "Run timeout")
    try:
        report = await work(stopping)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    if why[:1] != ["Run timeout"]:
        return report
    assert config.run_timeout is not None
    detail = f"the run timed out (--run-timeout {config.run_timeout:g} s)"
    results = tuple(
        replace(result, detail=detail) if result.detail == "interrupted" else result for result in report.results
    )
    return replace(report, results=results, interrupted=False, timed_out=True)
