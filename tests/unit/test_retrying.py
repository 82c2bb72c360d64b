"""Which failures are retried and how long to wait: pure rules, with an injected clock (no sleeping)."""

from __future__ import annotations

import pytest

from reconciler import errors, settings
from reconciler.api import retrying


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _hook(budget: float = 60.0) -> tuple[retrying.Hook, Clock]:
    clock = Clock()
    return retrying.Hook(settings.Retry(budget=budget), clock=clock), clock


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
    assert hook.retries == 0


@pytest.mark.parametrize("status", [500, 502, 503, 504, None])
def test_transient_failures_use_the_computed_backoff(status: int | None) -> None:
    hook, _ = _hook()
    assert hook(errors.TransientError("busy", status=status)) is True
    assert hook.retries == 1


def test_a_retry_after_is_honoured_as_given() -> None:
    hook, _ = _hook()
    assert hook(errors.RateLimited("slow down", retry_after=7.0)) == 7.0
    assert hook(errors.RateLimited("slow down", retry_after=None)) is True
    assert hook.retries == 2


def test_a_retry_after_on_a_503_is_honoured_too() -> None:
    hook, _ = _hook()
    assert hook(errors.TransientError("unavailable", status=503, retry_after=4.0)) == 4.0
    assert hook.retries == 1


def test_a_success_that_is_not_json_is_tried_once_more_only() -> None:
    hook, _ = _hook()
    assert hook(errors.NotJson("a login page", status=200)) is True
    assert hook(errors.NotJson("a login page", status=200)) is False
    assert hook.retries == 1


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
