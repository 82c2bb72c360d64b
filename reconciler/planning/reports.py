"""What apply did, per job and per call: the outcome users and pipelines act on."""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

from reconciler.planning import plans


class Outcome(enum.StrEnum):
    DONE = "done"
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"
    BLOCKED = "blocked"
    STALE = "stale"
    UNCONVERGED = "unconverged"
    REFUSED = "refused"  # a plan file asked for a call its own desired state and a fresh read do not explain


# Outcomes that make an apply partial: something the plan asked for did not happen as planned.
INCOMPLETE = frozenset({Outcome.FAILED, Outcome.NOT_ATTEMPTED, Outcome.STALE, Outcome.UNCONVERGED, Outcome.REFUSED})


@dataclass(frozen=True)
class Result:
    job_id: str
    section: str
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class Report:
    results: tuple[Result, ...]
    requests: plans.Requests = field(default_factory=plans.Requests)
    interrupted: bool = False  # by a signal (exit 130)
    timed_out: bool = False  # by --run-timeout: partial (exit 4), not an interruption

    @property
    def counts(self) -> Counter[Outcome]:
        return Counter(result.outcome for result in self.results)

    @property
    def partial(self) -> bool:
        return self.interrupted or self.timed_out or any(result.outcome in INCOMPLETE for result in self.results)
