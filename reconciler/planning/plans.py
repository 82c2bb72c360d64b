"""The plan: per job, what differs, what is blocked and which calls apply would make. Pure data.

A plan never holds a secret: changes and bodies are redacted when the plan is built, and apply rebuilds the
real bodies from desired and current state (:mod:`reconciler.planning.bodies`). What the plan keeps of the server is its
*basis*: the redacted current value of every unit the planned bodies depend on, so a stale plan can be refused
job by job.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from reconciler.planning import diffs, markers, masking, redaction, states

# The version of the JSON plan (and plan file) this module's plans are written as and read back from.
FORMAT_VERSION: Final = 1


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    LAUNCH = "launch"
    REPLACE = "replace"
    PRUNE = "prune"
    UNCHANGED = "unchanged"
    ORPHAN = "orphan"
    BLOCKED = "blocked"
    ERROR = "error"


# Actions that send something; ORPHAN is information (a marked draft no manifest claims, without --prune).
WRITING = frozenset({Action.CREATE, Action.UPDATE, Action.LAUNCH, Action.REPLACE, Action.PRUNE})
FINISHED = frozenset({"JOB_STATE_COMPLETE", "JOB_STATE_FAILED"})  # every other started state is still running


@dataclass(frozen=True, slots=True)
class Call:
    """One request apply would send; ``body`` is redacted, ``target`` the job it addresses."""

    method: str
    section: str
    path: str
    body: Any
    destructive: bool = False
    target: str = ""


@dataclass(frozen=True)
class Requests:
    """What a run cost the API: reported in every format, since rate limits are per account."""

    reads: int = 0
    writes: int = 0
    retries: int = 0

    def __add__(self, other: Requests) -> Requests:
        return Requests(self.reads + other.reads, self.writes + other.writes, self.retries + other.retries)


@dataclass(frozen=True, slots=True)
class JobPlan:
    job_id: str
    source: str
    action: Action
    lifecycle: str | None = None
    name: str | None = None
    changes: tuple[diffs.Change, ...] = ()
    calls: tuple[Call, ...] = ()
    reason: str = ""
    # The redacted server values the calls depend on; ``STATE`` holds the lifecycle (``None``: no such job).
    basis: Mapping[str, Any] = field(default_factory=dict)
    # What a plan file needs to apply this job later without the manifests: the declared units with
    # references left unresolved (never a secret), and the paths those references make sensitive.
    declared: Mapping[str, Any] = field(default_factory=dict)
    sensitive: frozenset[redaction.Path] = frozenset()
    template_id: str | None = None
    # The manifest line that declares each changed field (by dotted path), for links in Markdown plans.
    lines: Mapping[str, int] = field(default_factory=dict)
    description: str = ""
    generation: int | None = None

    @property
    def sections(self) -> tuple[str, ...]:
        return tuple(call.section for call in self.calls)

    @property
    def destructive(self) -> bool:
        return any(call.destructive for call in self.calls) or self.action in (Action.REPLACE, Action.PRUNE)


STATE = "state"
DRAFT = states.DRAFT


@dataclass(frozen=True)
class Plan:
    jobs: tuple[JobPlan, ...]
    requests: Requests = field(default_factory=Requests)
    scope: markers.Scope = field(default_factory=markers.Scope)
    # (root, count): marked drafts created from a root that holds the run's roots, which this run cannot judge
    unjudged: tuple[tuple[str, int], ...] = ()

    @property
    def counts(self) -> Counter[Action]:
        return Counter(job.action for job in self.jobs)

    @property
    def calls(self) -> int:
        return sum(len(job.calls) for job in self.jobs)

    @property
    def launches(self) -> int:
        return sum(1 for job in self.jobs for call in job.calls if call.section == "run")

    @property
    def destructive(self) -> int:
        return sum(1 for job in self.jobs if job.destructive)

    @property
    def has_changes(self) -> bool:
        return any(job.action in WRITING for job in self.jobs)

    @property
    def has_blocked(self) -> bool:
        return any(job.action is Action.BLOCKED for job in self.jobs)

    @property
    def has_errors(self) -> bool:
        return any(job.action is Action.ERROR for job in self.jobs)


def drift(plan: Plan) -> Plan:
    """The plan as a drift report: what differs on the server, with no call in it, in any format.

    A launch is not drift (the fields match; only the manifest's ``run`` asks for something), so a job whose
    only call is its launch reads as unchanged; every other job keeps its differences and loses its calls and
    the declared values a plan file would need to write.
    """

    def reported(job: JobPlan) -> JobPlan:
        action = Action.UNCHANGED if job.action is Action.LAUNCH else job.action
        return replace(job, action=action, calls=(), declared={}, basis={})

    return replace(plan, jobs=tuple(map(reported, plan.jobs)))


@dataclass(frozen=True)
class Options:
    """The flags that allow more than updates: each destructive kind of item needs its own."""

    replace: bool = False
    abort_running: bool = False
    prune: bool = False


@dataclass(frozen=True, slots=True)
class Inputs:
    """Everything a job's plan is made from; ``current`` is ``None`` when the job does not exist."""

    desired: states.Job
    current: states.Job | None
    source: str
    sensitive: frozenset[redaction.Path] = frozenset()
    error: str = ""
    declared: Mapping[str, Any] | None = None
    declared_template: str | None = None  # as the manifest wrote it: a reference stays a reference
    identity: markers.Identity | None = None
    generation: int = 0
    run: bool = False
    options: Options = Options()
    exposure: masking.Exposure | None = None  # the desired side's, if found already
