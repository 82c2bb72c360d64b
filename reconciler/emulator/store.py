"""The emulator's jobs and the state rules that guard them; no HTTP here.

Jobs are kept in their wire shape (see ``wire``) and are never mutated once stored: every write builds a
new dict and swaps it in (copy on write). A reader can therefore serialise a job it got from the store
without holding the lock and without a deep copy, which keeps a 10,000-job listing cheap.

State rules (NOTES.md and decisions.md, "Emulator"):
- a job is created in ``JOB_STATE_NEW``, the only state in which it can be edited, run or deleted;
  anything else gets FAILED_PRECONDITION (400 code 9 on the wire);
- ``run`` moves a draft to ``STARTED``, then it advances one state per step up to ``COMPLETE``;
- ``abort`` deletes a draft, fails a running job with errorMessage "aborted", refuses a finished one.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.emulator import wire

JsonObject = dict[str, Any]

NEW = "JOB_STATE_NEW"
COMPLETE = "JOB_STATE_COMPLETE"
FAILED = "JOB_STATE_FAILED"
FINISHED = frozenset({COMPLETE, FAILED})
# The road a run takes, one state per step (FAILED is reached by abort or by test control only).
_NEXT = dict(itertools.pairwise(wire.STATES[:-1]))

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class StoreError(Exception):
    """A request the state rules refuse."""


class NotFound(StoreError):
    """No job has this id (404, gRPC code 5)."""


class FailedPrecondition(StoreError):
    """The job is not in a state that allows this (400, gRPC code 9)."""


@dataclass(frozen=True)
class Page:
    """One page of ``GET /jobs``: ``offset`` counts jobs, as ``pagination.offset`` does."""

    total: int
    offset: int
    jobs: list[JsonObject]

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.jobs) < self.total


def timestamp(seconds: float) -> str:
    """RFC 3339 in UTC with milliseconds, as the gateway writes Timestamps."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds_since(stamp: str, now: float) -> float:
    try:
        return round(max(now - datetime.fromisoformat(stamp).timestamp(), 0.0), 3)
    except (TypeError, ValueError):  # a seeded job may carry any timestamp text
        return 0.0


class Store:
    """Jobs by id in creation order, behind one lock (the stepper and tests touch it from other threads)."""

    def __init__(
        self,
        *,
        upload_url: Callable[[str], str],
        on_change: Callable[[list[JsonObject]], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._jobs: dict[str, JsonObject] = {}
        self._last_step: dict[str, float] = {}  # running job id -> monotonic time of its last transition
        self._lock = threading.RLock()
        self._upload_url = upload_url
        self._on_change = on_change
        self._clock = clock

    # --- reads ---

    def get(self, job_id: str) -> JsonObject:
        """The job (a shared, read-only dict)."""
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id!r} not found")
        return job

    def find(self, job_id: str) -> JsonObject | None:
        """The job, or ``None`` when there is no such job."""
        return self._jobs.get(job_id)

    def page(self, limit: int, offset: int) -> Page:
        """Jobs in creation order. A limit of 0 or less means the default; larger than 100 is clamped."""
        limit = DEFAULT_LIMIT if limit <= 0 else min(limit, MAX_LIMIT)
        offset = max(offset, 0)
        with self._lock:
            total = len(self._jobs)
            start = min(offset, total)  # an int64 offset may be past sys.maxsize, which islice refuses
            jobs = list(itertools.islice(self._jobs.values(), start, start + limit))
        return Page(total=total, offset=offset, jobs=jobs)

    def all(self) -> list[JsonObject]:
        """Every job, in creation order."""
        with self._lock:
            return list(self._jobs.values())

    def __len__(self) -> int:
        return len(self._jobs)

    # --- writes through the API ---

    def create(self, request: wire.CreateRequest) -> JsonObject:
        """Create a draft, or update one: a ``jobId`` that exists and has not started is an upsert."""
        with self._lock:
            existing = self._jobs.get(request.job_id) if request.job_id else None
            if existing is not None:
                self._require_new(existing, "update")
                job = {**existing, **request.sections, "templateId": request.template_id}
                job["templateInfo"] = wire.template_info(request.template_id)
            else:
                job_id = request.job_id or str(uuid.uuid4())
                job = wire.new_job(job_id, request.template_id, timestamp(self._clock()))
                job.update(request.sections)
            return self._put(job)

    def set_name(self, job_id: str, name: str) -> JsonObject:
        """``PATCH /jobname``."""
        return self._edit(job_id, {"name": name})

    def set_data_sources(self, job_id: str, sections: JsonObject) -> JsonObject:
        """``PATCH /datasource``: both ``dataSource`` and ``dataDestination`` are replaced."""
        return self._edit(job_id, sections)

    def set_params(self, job_id: str, params: JsonObject) -> JsonObject:
        """``PATCH /params``: the whole section is replaced."""
        return self._edit(job_id, {"params": params})

    def set_config(self, job_id: str, config: JsonObject) -> JsonObject:
        """``PATCH /configs``: all three fields are replaced."""
        return self._edit(job_id, {"config": config})

    def run(self, job_id: str, config: JsonObject | None = None) -> JsonObject:
        """Launch a draft: it moves to ``STARTED``; the run request's config, when given, replaces the job's."""
        with self._lock:
            job = self._require_new(self.get(job_id), "run")
            changes: JsonObject = {"submittedAt": timestamp(self._clock())}
            if config is not None:
                changes["config"] = config
            return self._transition({**job, **changes}, wire.STATES[1])

    def abort(self, job_id: str) -> str:
        """Abort: a draft is deleted, a running job fails, a finished one is refused. Returns what happened."""
        with self._lock:
            job = self.get(job_id)
            if job["state"] == NEW:
                self._remove(job_id)
                return "deleted"
            if job["state"] in FINISHED:
                raise FailedPrecondition(f"job {job_id!r} has already finished ({job['state']})")
            self._transition({**job, "errorMessage": "aborted"}, FAILED)
            return "aborted"

    def delete(self, job_id: str) -> None:
        """Delete a draft; any other state is refused (decisions.md)."""
        with self._lock:
            self._require_new(self.get(job_id), "delete")
            self._remove(job_id)

    # --- writes from test control ---

    def advance(self, job_id: str, state: str | None = None) -> JsonObject:
        """Move a job one state on its road, or straight to ``state``."""
        with self._lock:
            job = self.get(job_id)
            if state is None:
                state = _NEXT.get(job["state"])
                if state is None:
                    raise FailedPrecondition(f"job {job_id!r} has finished ({job['state']})")
            if job["state"] == NEW and job["submittedAt"] is None:
                job = {**job, "submittedAt": timestamp(self._clock())}
            return self._transition(job, state)

    def tick(self, step_seconds: float) -> int:
        """Advance every running job whose last step is ``step_seconds`` old; returns how many moved."""
        now = time.monotonic()
        with self._lock:
            due = [job_id for job_id, last in self._last_step.items() if now - last >= step_seconds]
            for job_id in due:
                self._transition(self._jobs[job_id], _NEXT[self._jobs[job_id]["state"]], persist=False)
            if due:
                self._changed()
        return len(due)

    def seed(self, raw_jobs: Iterable[Any]) -> list[JsonObject]:
        """Store jobs given in API shape, in any state, exactly (ids kept, replacing same-id jobs)."""
        with self._lock:
            now = timestamp(self._clock())
            jobs = [wire.parse_seed(raw, wire.seed_id(raw) or str(uuid.uuid4()), now) for raw in raw_jobs]
            stored = [self._put(job, persist=False) for job in jobs]
            self._changed()
            return stored

    def load(self, jobs: Iterable[JsonObject]) -> None:
        """Restore jobs as the state file kept them (already in wire shape)."""
        with self._lock:
            for job in jobs:
                self._put(job, persist=False)

    def reset(self) -> None:
        """Forget every job."""
        with self._lock:
            self._jobs.clear()
            self._last_step.clear()
            self._changed()

    # --- internals ---

    def _edit(self, job_id: str, changes: JsonObject) -> JsonObject:
        with self._lock:
            job = self._require_new(self.get(job_id), "edit")
            return self._put({**job, **changes})

    @staticmethod
    def _require_new(job: JsonObject, verb: str) -> JsonObject:
        # Only a draft can be changed: ByteNite documents NEW as the state where the user may still edit.
        if job["state"] != NEW:
            raise FailedPrecondition(f"cannot {verb} job {job['id']!r}: it is {job['state']}, not JOB_STATE_NEW")
        return job

    def _transition(self, job: JsonObject, state: str, *, persist: bool = True) -> JsonObject:
        # stateTimestamps records each state reached; startedAt, endedAt and duration follow the states.
        now = self._clock()
        stamp = timestamp(now)
        job = {**job, "state": state, "stateTimestamps": {**job["stateTimestamps"], state: stamp}}
        if state == "JOB_STATE_UPLOADING" or (state in FINISHED and job["startedAt"] is None):
            job["startedAt"] = stamp
        if state in FINISHED:
            job["endedAt"] = stamp
            job["duration"] = _seconds_since(job["submittedAt"] or job["createdAt"], now)
        return self._put(job, persist=persist)

    def _put(self, job: JsonObject, *, persist: bool = True) -> JsonObject:
        url = self._upload_url(job["id"])
        job["dataSource"] = wire.with_temp_url(job["dataSource"], url)
        job["dataDestination"] = wire.with_temp_url(job["dataDestination"], url)
        self._jobs[job["id"]] = job
        if job["state"] == NEW or job["state"] in FINISHED:
            self._last_step.pop(job["id"], None)
        else:
            self._last_step[job["id"]] = time.monotonic()
        if persist:
            self._changed()
        return job

    def _remove(self, job_id: str) -> None:
        del self._jobs[job_id]
        self._last_step.pop(job_id, None)
        self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(list(self._jobs.values()))
