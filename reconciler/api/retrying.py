"""Which failures are worth another try, and how long to wait before it.

The loop itself is stamina's (exponential backoff with jitter, bounded attempts and total time); this module
decides, per failure, whether to retry and whether the server named the wait (``Retry-After``), and runs one
request's attempts under the run's policy, which a stopping run cuts short (see :mod:`reconciler.api.pausing`).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import stamina

from reconciler import errors, settings
from reconciler.api import counters, pausing

log = logging.getLogger(__name__)
Result = TypeVar("Result")


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
    retries = pausing.Retries(Hook(policy), stopping)
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
        error.attempts = retries.hook.retries + 1
        raise
    finally:
        retries.pause.awake()
        counted.retries += retries.hook.retries
    raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover


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
        self.retries = 0
        self._not_json = 0

    def __call__(self, error: Exception) -> bool | float:
        if not isinstance(error, errors.TransientError):
            return False
        if isinstance(error, errors.NotJson):
            self._not_json += 1
            if self._not_json > 1:
                return False
            self.retries += 1  # one quick second look, not a wait worth a line: the failure names the URL
            return True
        if error.retry_after is not None:
            remaining = self.policy.budget - (self.clock() - self.started)
            if error.retry_after > remaining:
                return False
            self._retrying(error)
            return error.retry_after
        self._retrying(error)
        return True

    def _retrying(self, error: Exception) -> None:
        """Count a retry; the first of a call is said on stderr (a warning), so an unreachable API is not a
        silent wait of many seconds. Later ones are counted in the summary only: one line per call at most."""
        self.retries += 1
        if self.retries == 1:
            log.warning("%s; retrying (attempt 2 of %d)", error, self.policy.attempts)
