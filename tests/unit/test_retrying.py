"""Which failures are retried and how long to wait: pure rules, with an injected clock (no sleeping); and what a
request's retries count, through stamina's loop in its testing mode (no sockets, no backoff)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import pytest
import stamina

from reconciler import errors, settings
from reconciler.api import counters, retrying


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _hook(budget: float = 60.0) -> tuple[retrying.Hook, Clock]:
    clock = Clock()
    return retrying.Hook(settings.Retry(budget=budget), clock=clock), clock


async def _request(failures: Sequence[Exception], counted: counters.Counters, attempts: int) -> None:
    """One request whose attempts meet ``failures`` in turn, then succeed; a failure that ends it is raised."""
    script = iter(failures)

    async def attempt() -> None:
        await asyncio.sleep(0)  # a request on the wire: concurrent requests interleave here
        failure = next(script, None)
        if failure is not None:
            raise failure

    policy = settings.Retry(attempts=attempts)
    await retrying.call(attempt, policy=policy, counted=counted, stopping=None, method="GET", path="/jobs")


def _counted(failures: Sequence[Exception], *, attempts: int = 8) -> int:
    """The retries a request meeting ``failures`` counts, whether it then succeeds or fails."""
    counted = counters.Counters()

    async def scenario() -> None:
        # The request may fail in the end (a client error, attempts run out): what it counted is the question.
        with stamina.set_testing(True, attempts=attempts, cap=True), contextlib.suppress(Exception):
            await _request(failures, counted, attempts)

    asyncio.run(scenario())
    return counted.retries


@pytest.mark.parametrize(
    "error",
    [
        errors.AuthError("no", status=401),
        errors.NotFound("no", status=404),
        errors.FailedPrecondition("no", status=400, code=9),
        errors.BadRequest("no", status=400, code=3),
        errors.ApiError("odd", status=501),
        ValueError("not ours"),
    ],
)
def test_client_errors_and_foreign_errors_are_never_retried(error: Exception) -> None:
    hook, _ = _hook()
    assert hook(error) is False
    assert _counted([error]) == 0


@pytest.mark.parametrize("status", [500, 502, 503, 504, None])
def test_transient_failures_use_the_computed_backoff(status: int | None) -> None:
    hook, _ = _hook()
    assert hook(errors.TransientError("busy", status=status)) is True
    assert _counted([errors.TransientError("busy", status=status)]) == 1


def test_a_retry_after_is_honoured_as_given() -> None:
    hook, _ = _hook()
    assert hook(errors.RateLimited("slow down", retry_after=7.0)) == 7.0
    assert hook(errors.RateLimited("slow down", retry_after=None)) is True
    assert _counted([errors.RateLimited("slow down", retry_after=7.0), errors.RateLimited("slow down")]) == 2


def test_a_retry_after_on_a_503_is_honoured_too() -> None:
    hook, _ = _hook()
    assert hook(errors.TransientError("unavailable", status=503, retry_after=4.0)) == 4.0
    assert _counted([errors.TransientError("unavailable", status=503, retry_after=4.0)]) == 1


def test_a_success_that_is_not_json_is_tried_once_more_only() -> None:
    hook, _ = _hook()
    assert hook(errors.NotJson("a login page", status=200)) is True
    assert hook(errors.NotJson("a login page", status=200)) is False
    assert _counted([errors.NotJson("a login page", status=200), errors.NotJson("a login page", status=200)]) == 1


def test_a_retry_after_past_the_budget_fails_the_call_now() -> None:
    hook, clock = _hook(budget=10.0)
    assert hook(errors.RateLimited("slow down", retry_after=9.0)) == 9.0
    clock.now += 5.0
    assert hook(errors.RateLimited("slow down", retry_after=9.0)) is False


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("12", 12.0), ("0", 0.0), (None, None), ("", None), ("soon", None), ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0)],
)
def test_retry_after_reads_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert retrying.retry_after(header, now=lambda: now) == seconds


def test_retries_are_counted_as_sent_so_attempts_that_run_out_count_one_fewer(caplog: pytest.LogCaptureFixture) -> None:
    busy = [errors.TransientError("busy", status=503)] * 3
    with caplog.at_level(logging.WARNING, logger="reconciler.api.retrying"):
        assert _counted(busy, attempts=3) == 2  # three attempts: the first and two retries
        assert _counted(busy[:1], attempts=1) == 0  # one attempt: no retry, and none announced
    said = [record.getMessage() for record in caplog.records if record.name == "reconciler.api.retrying"]
    assert said == ["HTTP 503: busy; retrying (attempt 2 of 3)"]


def test_a_refusal_says_which_attempt_met_it() -> None:
    failures = [errors.TransientError("busy", status=503), errors.FailedPrecondition("started", status=400)]

    async def scenario() -> errors.ApiError:
        with stamina.set_testing(True, attempts=8, cap=True), pytest.raises(errors.FailedPrecondition) as refused:
            await _request(failures, counters.Counters(), 8)
        return refused.value

    assert asyncio.run(scenario()).attempts == 2  # an earlier attempt, its answer lost, may have been applied


def test_concurrent_requests_of_two_clients_each_count_their_own_retries() -> None:
    """stamina's hooks are global to the process: each retry must still reach the client whose request it is."""
    one, other = counters.Counters(), counters.Counters()
    busy = errors.TransientError("busy", status=503)

    async def scenario() -> None:
        with stamina.set_testing(True, attempts=8, cap=True):
            await asyncio.gather(
                *(_request([busy] * 3, one, 8) for _ in range(5)), *(_request([busy], other, 8) for _ in range(7))
            )

    asyncio.run(scenario())
    assert (one.retries, other.retries) == (15, 7)
