"""Which failures are worth another try, and how long to wait before it.

The loop itself is stamina's (exponential backoff with jitter, bounded attempts and total time); this module
decides, per failure, whether to retry and whether the server named the wait (``Retry-After``), and runs one
request's attempts under the run's policy, which a stopping run cuts short (see :mod:`reconciler.api.pausing`).

Retries are counted by stamina's instrumentation, which calls its hooks when it has scheduled a retry: a retry
the policy would allow but the attempts or the budget do not is never counted, nor said.
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import stamina
import stamina.instrumentation

from reconciler import errors, settings
from reconciler.api import counters, pausing

log = logging.getLogger(__name__)
Result = TypeVar("Result")


@dataclass(frozen=True)
class _Request:
    counted: counters.Counters
    attempts: int


# stamina's hooks are global to the process; this says whose request a scheduled retry belongs to. A request
# runs its attempts in one task (a worker of :mod:`reconciler.workers`), and each task reads its own context,
# so concurrent requests of two clients each count into their own client's counters.
_REQUEST: contextvars.ContextVar[_Request | None] = contextvars.ContextVar("reconciler_api_request", default=None)


async def call(
    operation: Callable[[], Awaitable[Result]],
    *,
    policy: settings.Retry,
    counted: counters.Counters,
    stopping: asyncio.Event | None,
    method: str,
    path: str,
) -> Result:
    """``operation`` under the run's retry policy (stamina: backoff with jitter, attempts, a budget), which a
    stopping run cuts short; ``method`` and ``path`` name the request in the errors that say so."""
    _instrument()
    retries = pausing.Retries(Hook(policy), stopping)
    request = _REQUEST.set(_Request(counted, policy.attempts))
    sent = 0
    try:
        async for attempt in stamina.retry_context(
            on=retries,
            attempts=policy.attempts,
            timeout=policy.budget,
            wait_initial=policy.initial,
            wait_max=policy.cap,
            wait_jitter=policy.jitter,
        ):
            with attempt:
                sent = attempt.num
                retries.starting(method, path)
                return await operation()
    except asyncio.CancelledError:
        if retries.pause.cut_short():  # the run stopped during a backoff sleep
            raise retries.stopped(method, path) from None
        raise
    except errors.TransientError:
        if retries.refused:
            raise retries.stopped(method, path) from None
        raise
    except errors.ApiError as error:
        error.attempts = sent
        raise
    finally:
        retries.pause.awake()
        _REQUEST.reset(request)
    raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover


def _instrument() -> None:
    """:func:`_scheduled` among stamina's hooks, beside its own (its logging line, shown under ``--debug``);
    checked on every request, since anything in the process may set the hooks anew."""
    hooks = stamina.instrumentation.get_on_retry_hooks()
    if _scheduled not in hooks:
        stamina.instrumentation.set_on_retry_hooks((*hooks, _scheduled))


def _scheduled(details: stamina.instrumentation.RetryDetails) -> None:
    """A retry stamina scheduled, counted for the client whose request it is (none: another library's retry).

    The first of a request is said on stderr (a warning), so an unreachable API is not a silent wait of many
    seconds; later ones are counted in the summary only: one line per call at most. A second look at an answer
    that is not JSON is no wait worth a line: the failure names the URL.
    """
    request = _REQUEST.get()
    if request is None:
        return
    request.counted.retries += 1
    if details.retry_num == 1 and not isinstance(details.caused_by, errors.NotJson):
        log.warning("%s; retrying (attempt 2 of %d)", details.caused_by, request.attempts)


def retry_after(header: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` in seconds: either a number of seconds or an HTTP date."""
    if not header:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - datetime.fromtimestamp(now(), UTC).timestamp())


class Hook:
    """A stamina backoff hook: ``False`` means fail now, ``True`` the computed backoff, a float the server's.

    A ``Retry-After`` (on a 429 or a 503) is honoured as given, unless it would outlast the run's retry budget:
    then waiting is pointless and the call fails, reported with the server's reason. A 2xx that is not JSON is
    tried once more only: a proxy briefly in the way recovers, a login page in front of the API does not.
    """

    def __init__(self, policy: settings.Retry, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.clock = clock
        self.started = clock()
        self._not_json = 0

    def __call__(self, error: Exception) -> bool | float:
        if not isinstance(error, errors.TransientError):
            return False
        if isinstance(error, errors.NotJson):
            self._not_json += 1
            return self._not_json == 1
        if error.retry_after is not None:
            remaining = self.policy.budget - (self.clock() - self.started)
            return False if error.retry_after > remaining else error.retry_after
        return True
