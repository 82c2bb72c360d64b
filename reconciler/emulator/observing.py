"""What the emulator saw: the request log and counters behind ``/_emulator/requests`` and ``/counters``.

Only API routes are recorded, never ``/_emulator/`` ones, so a test's own probing does not count. The log
keeps the latest 200,000 requests (the counters are exact regardless), which bounds memory in a soak.

Witnesses (off by default, ``PUT /_emulator/log {"witness": true}``): each write the API handled also records
the job as it stood the moment the write was applied (or refused) and the body as sent. A model-based test
judges the client from these, not from the client's own report: was the job a draft when written, was the body
a whole section. Bodies can hold credentials, which is why the log keeps them only when asked.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, deque
from collections.abc import MutableMapping
from typing import Any

LOG_LIMIT = 200_000

_ROUTES = (
    (re.compile(r"/v1/auth/access_token"), "/auth/access_token"),
    (re.compile(r"/v1/(?:customer|computing)/jobs"), "/jobs"),
    (re.compile(r"/v1/(?:customer|computing)/jobs/[^/]+"), "/jobs/{jobId}"),
    (
        re.compile(r"/v1/(?:customer|computing)/jobs/[^/]+/(jobname|datasource|params|configs|run|abort)"),
        "/jobs/{jobId}/",
    ),
)


def route_of(path: str) -> str:
    """The route template a path belongs to, relative to the API root it is under."""
    for pattern, template in _ROUTES:
        match = pattern.fullmatch(path)
        if match:
            return template + (match.group(1) if match.groups() else "")
    return "(unmatched)"


WITNESS_KEY = "emulator.witness"  # where a handler leaves its witness in the ASGI scope for the gateway


def witness(scope: MutableMapping[str, Any], job_id: str | None, before: dict[str, Any] | None, body: Any) -> None:
    """Note, for the log, the job a write found (``None``: no such job) and the body it brought."""
    note = scope.get(WITNESS_KEY)
    if note is not None:
        note.update({"jobId": job_id, "before": before, "body": body})


def is_write(method: str, route: str) -> bool:
    """Writes are POST, PATCH and DELETE on customer routes; the token exchange is not one."""
    return method in ("POST", "PATCH", "DELETE") and route.startswith("/jobs")


class RequestLog:
    """Requests in arrival order, and counters by kind, route and status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self._by_route: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()
        self._reads = 0
        self._writes = 0
        self.witness = False

    def record(self, entry: dict[str, Any], *, route: str) -> None:
        """Add one finished (or dropped) request. ``entry`` is the shape ``/_emulator/requests`` lists."""
        with self._lock:
            self._entries.append(entry)
            self._by_route[f"{entry['method']} {route}"] += 1
            self._by_status["dropped" if entry["status"] is None else str(entry["status"])] += 1
            if entry["method"] == "GET":
                self._reads += 1
            elif is_write(entry["method"], route):
                self._writes += 1

    def requests(self) -> list[dict[str, Any]]:
        """The log, oldest first."""
        with self._lock:
            return list(self._entries)

    def counters(self) -> dict[str, Any]:
        """Totals as ``/_emulator/counters`` answers them."""
        with self._lock:
            return {
                "total": sum(self._by_route.values()),
                "reads": self._reads,
                "writes": self._writes,
                "byRoute": dict(self._by_route),
                "byStatus": dict(self._by_status),
            }

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._by_route.clear()
            self._by_status.clear()
            self._reads = self._writes = 0
