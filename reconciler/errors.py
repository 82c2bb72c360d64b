"""The one error tree of the reconciler.

Every failure the tool reports is one of these, so the CLI can map it to a single line and an exit code
without a traceback (unless ``--debug``)::

    ReconcilerError
    ├── ManifestErrors          every problem found in the manifests, each with file:line:column
    ├── ConfigError             settings the run cannot start with (no API key, a bad URL, an unset variable)
    ├── PlanFileError           a plan file that cannot be read or was written by another format version
    └── ApiError                the API answered with an error, or could not be reached
        ├── AuthError           401/403: the key was refused
        ├── NotFound            404 (gRPC code 5)
        ├── FailedPrecondition  400 with gRPC code 9: the job is not a draft any more
        ├── BadRequest          any other 4xx: the request itself is wrong, never retried
        ├── ReadOnlyViolation   a write attempted through a read-only client (a bug, never the user's fault)
        ├── Stopped             the run is stopping (a signal, --run-timeout): a request not sent, or not sent again
        └── TransientError      worth retrying: 429, 5xx, connection and read failures, malformed bodies
            └── RateLimited     429, with the server's Retry-After when it sent one

Messages never carry a secret: API messages are scrubbed and truncated before they reach an error.
"""

from __future__ import annotations

from dataclasses import dataclass


class ReconcilerError(Exception):
    """Base of every error the tool reports to its user."""


@dataclass(frozen=True)
class Position:
    """Where a manifest value sits: shown as ``file:line:column`` (1-based, as editors count)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class ManifestProblem:
    """One problem in one manifest; many of them make a :class:`ManifestErrors`."""

    position: Position
    message: str

    def __str__(self) -> str:
        return f"{self.position}: {self.message}"


class ManifestErrors(ReconcilerError):
    """All the problems found in one run, so the user fixes them in one go rather than one per run."""

    def __init__(self, problems: list[ManifestProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.position.file, p.position.line, p.position.column))
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the manifests")


class ConfigError(ReconcilerError):
    """The run cannot start: a missing key, a refused URL, an unset environment variable."""


class PlanFileError(ReconcilerError):
    """A plan file that is unreadable, of another format version, or not a plan at all."""


class ApiError(ReconcilerError):
    """The API refused a request or could not be reached; ``message`` is already scrubbed."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        prefix = f"HTTP {status}" if status is not None else "request failed"
        super().__init__(f"{prefix}: {message}" if message else prefix)


class AuthError(ApiError):
    """The API key or token was refused."""


class NotFound(ApiError):
    """The job does not exist."""


class FailedPrecondition(ApiError):
    """The job is not in a state that allows the call (only drafts can be edited)."""


class BadRequest(ApiError):
    """A request the API rejected as malformed; retrying cannot help."""


class ReadOnlyViolation(ApiError):
    """A write attempted through a client built for planning; planning must never write."""


class Stopped(ApiError):
    """The run is stopping: a request was not sent (``sent`` is false), or its failed attempt not retried."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class TransientError(ApiError):
    """A failure worth retrying: the request may not have reached the server, or the server was busy."""


class RateLimited(TransientError):
    """429: the server asked us to slow down, maybe with a ``Retry-After``."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = 429) -> None:
        super().__init__(message, status=status, code=8)
        self.retry_after = retry_after
