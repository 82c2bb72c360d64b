"""The pause between a request's attempts, which a stopping run cuts short.

stamina sleeps between attempts inside its own iterator, where no event can reach. So a request that is about
to sleep arms a watcher on the run's stop event; if the event is set during the sleep, the watcher cancels the
sleeping task, and :meth:`Pause.cut_short` tells the caller that this cancellation was the pause's own (to be
reported, not propagated). Only a task known to be asleep is cancelled: between the retry decision and the
next attempt the sleep is the task's only suspension point, so the cancellation always lands there. A request
on the wire is never cancelled from here; its own deadline bounds it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from reconciler import errors

if TYPE_CHECKING:
    from reconciler.api import retrying


class Pause:
    """One request's view of the run's stop event (``None``: a run that is never stopped this way)."""

    def __init__(self, stopping: asyncio.Event | None) -> None:
        self.stopping = stopping
        self._watcher: asyncio.Task[bool] | None = None
        self._cut = False

    @property
    def stopped(self) -> bool:
        return self.stopping is not None and self.stopping.is_set()

    def sleeping(self) -> None:
        """The request failed and sleeps before its next attempt: a stop from now on ends the sleep."""
        task = asyncio.current_task()
        if self.stopping is None or task is None:
            return
        watcher = asyncio.ensure_future(self.stopping.wait())
        self._watcher = watcher

        def cut(_: object) -> None:
            # Still armed (the next attempt disarms first): the task is in its sleep, or about to be thrown
            # into it, so the cancellation cannot hit a request on the wire.
            if self._watcher is watcher and not watcher.cancelled():
                self._cut = True
                task.cancel()

        watcher.add_done_callback(cut)

    def awake(self) -> None:
        """The sleep is over (or never began): nothing left to cut."""
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None

    def cut_short(self) -> bool:
        """Whether the ``CancelledError`` being handled is this pause's own; if so it is absorbed (uncancelled).

        A cancellation that also came from elsewhere (a timeout, the run ending) still propagates.
        """
        task = asyncio.current_task()
        if not self._cut or task is None:
            return False
        self._cut = False
        return task.uncancel() == 0


class Retries:
    """One request's stamina hook: :class:`retrying.Hook`'s decisions, except that a stopping run retries nothing.

    Use it as ``on=`` and call :meth:`starting` first thing in every attempt; once the run stops, the failure
    that ends the request is :meth:`stopped`, which says whether anything was sent and what its last attempt met.
    """

    def __init__(self, hook: retrying.Hook, stopping: asyncio.Event | None) -> None:
        self.hook = hook
        self.pause = Pause(stopping)
        self.last: Exception | None = None
        self.refused = False  # a retry the hook would have made was refused because the run is stopping

    def __call__(self, error: Exception) -> bool | float:
        self.last = error
        if self.pause.stopped:
            self.refused = isinstance(error, errors.TransientError)
            return False
        decision = self.hook(error)
        if decision is not False:
            self.pause.sleeping()
        return decision

    def starting(self, method: str, path: str) -> None:
        """An attempt begins: its sleep is over; a stopping run sends nothing, not even a first attempt."""
        self.pause.awake()
        if self.pause.stopped:
            raise self.stopped(method, path)

    def stopped(self, method: str, path: str) -> errors.Stopped:
        if self.last is None:
            return errors.Stopped(f"{method} {path} not sent: the run is stopping", sent=False)
        return errors.Stopped(
            f"{method} {path} not retried, the run is stopping; its last attempt: {self.last}", sent=True
        )
