"""The one error tree of the reconciler.

Every failure the tool reports is one of these, so the CLI can map it to a single line and an exit code
without a traceback (unless ``--debug``)::

    ReconcilerError
    ├── ManifestErrors          every problem found in the manifests, each with file:line:column
    ├── ConfigError             settings the run cannot start with (no API key, a bad URL, an unset variable)
    │   └── EndpointError       the address does not answer as the API does: it ends the run, judges no job
    ├── PlanFileError           a plan file that cannot be read or was written by another format version
    └── ApiError                the API answered with an error, or could not be reached
        ├── AuthError           401/403: the key was refused
        ├── NotFound            404 with an rpcStatus of gRPC code 5, on a job's path: the job does not exist
        ├── BadAnswer           a 2xx whose body breaks the contract (another job, a number as text): not retried
        ├── FailedPrecondition  400 with gRPC code 9: the job is not a draft any more
        ├── BadRequest          any other 4xx: the request itself is wrong, never retried
        ├── ReadOnlyViolation   a write attempted through a read-only client (a bug, never the user's fault)
        ├── Stopped             the run is stopping (a signal, --run-timeout): a request not sent, or not sent again
        └── TransientError      worth retrying: 429, 5xx, connection and read failures, malformed JSON
            ├── RateLimited     429, with the server's Retry-After when it sent one
            └── NotJson         a 2xx that is not JSON at all (a login page): retried once, then an EndpointError

Messages never carry a secret: API messages are scrubbed and truncated before they reach an error.
"""

from __future__ import annotations

from dataclasses import dataclass


class ReconcilerError(Exception):
    """Base of every error the tool reports to its user."""


@dataclass(frozen=True)
class Position:
    """Where a manifest value sits: shown as ``file:line:column`` (1-based, as editors count).

    Line 0 is no position at all (a path that does not exist has no line 1): shown as the path alone, since a
    made-up ``:1:1`` sends editors and readers looking inside a file that is not there.
    """

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


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


class EndpointError(ConfigError):
    """The address answers, but not as the ByteNite API does: a 404 that is not the API's own, an HTML page, a
    token exchange without a token, a certificate that does not verify.

    It is not an :class:`ApiError` on purpose: the per-job handlers catch those, and a job judged by such an
    answer would look missing, so a plan would propose creating every job. It ends the run instead, with the
    URL that was called and what to check.
    """


class PlanFileError(ReconcilerError):
    """A plan file that is unreadable, of another format version, or not a plan at all."""


class ApiError(ReconcilerError):
    """The API refused a request or could not be reached; ``message`` is already scrubbed.

    ``attempts`` is how many times the request was sent before this answer. One means the refusal answers this
    request alone; more means an earlier attempt, whose answer was lost, may have been applied and be what the
    server now refuses (a launch that meets "is started").
    """

    attempts: int = 1

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        prefix = f"HTTP {status}" if status is not None else "request failed"
        super().__init__(f"{prefix}: {message}" if message else prefix)


class AuthError(ApiError):
    """The API key or token was refused."""


class NotFound(ApiError):
    """The job does not exist: the API said so, with its own rpcStatus (gRPC code 5) on the job's path."""


class BadAnswer(ApiError):
    """A success whose body breaks the contract: another job than the one asked for, no job, a number as text.

    Retrying cannot help (the server meant it), and trusting it could write to the wrong job, so the call fails
    and the report says why.
    """


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
    """A failure worth retrying: the request may not have reached the server, or the server was busy.

    ``retry_after`` is the wait the server named (``Retry-After`` on a 429 or a 503), if it named one.
    """

    def __init__(
        self, message: str, *, status: int | None = None, code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """429: the server asked us to slow down, maybe with a ``Retry-After``."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = 429) -> None:
        super().__init__(message, status=status, code=8, retry_after=retry_after)


class NotJson(TransientError):
    """A 2xx whose content type is not JSON: a proxy's login page, a web server where the API should be.

    One retry covers a proxy that was briefly in the way; a second such answer becomes an
    :class:`EndpointError` carrying ``detail`` (what came back, scrubbed).
    """

    def __init__(self, message: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(message, status=status)
        self.detail = detail
