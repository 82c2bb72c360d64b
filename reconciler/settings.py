"""Runtime settings: where the API is, how to authenticate, and how hard to push it.

Each setting a flag or a ``BYTENITE_*`` variable can give is declared here once (:data:`NUMBERS`,
:data:`API_URL`, :data:`JOBS_PREFIX`): its flag, its variable, its default, its check and its help. The CLI
builds its options from these declarations and :func:`from_environment` resolves them from the same ones, so
``--help``, the README's table and the values a run uses cannot disagree.

The API key is held as a :class:`reconciler.keys.Secret` so that no ``repr``, log line or traceback can show it.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Generic, NamedTuple, TypeVar
from urllib.parse import urlsplit

from reconciler import errors, keys

AUTH_PREFIX: Final = "/auth"
API_KEY_VARIABLE: Final = keys.API_KEY_VARIABLE
MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024  # decoded; a page of 100 jobs is well under 1 MiB
MAX_FILE_BYTES: Final = 1024 * 1024  # a manifest file larger than this is refused (--max-file-bytes)


class Text(NamedTuple):
    """A text setting that a project environment can also give (``placed``, its key in ``reconciler.yaml``):
    the flag comes first, then the environment's value, then the variable, so the variable is read here and
    not by click."""

    flag: str
    variable: str
    placed: str
    default: str
    help: str

    def resolve(self, given: str | None, placed: str | None, environ: Mapping[str, str]) -> str:
        return given or placed or environ.get(self.variable) or self.default


API_URL: Final = Text("--api-url", "BYTENITE_API_URL", "apiUrl", "https://api.bytenite.com/v1", "API root.")
JOBS_PREFIX: Final = Text(
    "--jobs-prefix", "BYTENITE_JOBS_PREFIX", "jobsPrefix", "/customer", "Jobs routes under the root."
)

Value = TypeVar("Value", bound=float)
Default = TypeVar("Default", bound=float | None)


class Number(NamedTuple, Generic[Value, Default]):
    """A numeric setting, from its flag, else its variable, else its default.

    Every number is checked where it enters, and an error names the flag or variable it came from: a NaN, an
    infinity, zero or a negative would otherwise reach the rate limiter or ``asyncio.wait_for`` and crash or
    silently mean something else. A blank variable is unset, as click and the shell treat it; any other text
    is checked, never replaced by the default.
    """

    flag: str
    variable: str
    default: Default
    help: str

    def check(self, value: float, named: str) -> Value:
        raise NotImplementedError  # each kind of number (Count, Positive) says what it accepts

    def parse(self, text: str, named: str) -> Value | None:
        """The value a variable (``named``) holds, checked; ``None`` when it is blank."""
        text = text.strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            raise errors.ConfigError(f"{named}={text[:40]!r} is not a number") from None
        return self.check(value, named)

    def resolve(self, given: float | None, environ: Mapping[str, str]) -> Value | Default:
        if given is not None:
            return self.check(float(given), self.flag)
        found = self.parse(environ.get(self.variable, ""), self.variable)
        return self.default if found is None else found


class Count(Number[int, int]):
    """A count of at least 1. ``BYTENITE_RETRY_ATTEMPTS`` counts attempts, so 1 means "no retries" and 0 is
    refused, as ``--retry-attempts 0`` is."""

    __slots__ = ()

    def check(self, value: float, named: str) -> int:
        if not math.isfinite(value) or not value.is_integer() or value < 1:
            hint = " (1 means no retries)" if "retry" in named.lower() else ""
            raise errors.ConfigError(f"{named} must be a whole number of at least 1{hint}, got {value:g}")
        return int(value)


class Positive(Number[float, Default]):
    """A positive, finite number (seconds, requests per second)."""

    __slots__ = ()

    def check(self, value: float, named: str) -> float:
        if not math.isfinite(value) or value <= 0:
            raise errors.ConfigError(f"{named} must be a positive, finite number, got {value:g}")
        return float(value)


CONCURRENCY: Final = Count("--concurrency", "BYTENITE_CONCURRENCY", 16, "Requests in flight.")
RETRY_ATTEMPTS: Final = Count(
    "--retry-attempts", "BYTENITE_RETRY_ATTEMPTS", 8, "Attempts per request, 1 for no retries."
)
RETRY_BUDGET: Final = Positive(
    "--retry-budget", "BYTENITE_RETRY_BUDGET", 120.0, "Seconds one request may spend retrying."
)
RUN_TIMEOUT: Final = Positive(
    "--run-timeout",
    "BYTENITE_RUN_TIMEOUT",
    None,
    "Seconds reading, then writing, may take; past it no new write starts.",
)
# One whole exchange: sending, and reading every byte back (a trickled answer fails then, and is retried).
REQUEST_TIMEOUT: Final = Positive(
    "--request-timeout",
    "BYTENITE_REQUEST_TIMEOUT",
    60.0,
    "Seconds one request may take, answer included, before it counts as failed and is retried.",
)
RATE_LIMIT: Final = Positive("--rate-limit", "BYTENITE_RATE_LIMIT", None, "Requests per second at most.")
NUMBERS: Final[tuple[Number[Any, Any], ...]] = (
    CONCURRENCY,
    RETRY_ATTEMPTS,
    RETRY_BUDGET,
    RUN_TIMEOUT,
    REQUEST_TIMEOUT,
    RATE_LIMIT,
)
DEFAULT_CONCURRENCY: Final = CONCURRENCY.default
DEFAULT_REQUEST_TIMEOUT: Final = REQUEST_TIMEOUT.default


@dataclass(frozen=True)
class Retry:
    """Retry policy for transient failures (429, 5xx, connection errors)."""

    attempts: int = RETRY_ATTEMPTS.default
    initial: float = 0.2
    cap: float = 10.0
    jitter: float = 0.5
    budget: float = RETRY_BUDGET.default


@dataclass(frozen=True)
class Place:
    """Where a project environment says its jobs live: its API and the variable holding its key."""

    api_url: str | None = None
    jobs_prefix: str | None = None
    key_variable: str = API_KEY_VARIABLE


@dataclass(frozen=True)
class Settings:
    api_key: keys.Secret = field(default_factory=lambda: keys.Secret(""))
    api_url: str = API_URL.default
    jobs_prefix: str = JOBS_PREFIX.default
    concurrency: int = CONCURRENCY.default
    rate_limit: float | None = RATE_LIMIT.default
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    request_timeout: float = REQUEST_TIMEOUT.default
    max_response_bytes: int = MAX_RESPONSE_BYTES
    run_timeout: float | None = RUN_TIMEOUT.default
    retry: Retry = field(default_factory=Retry)
    key_variable: str = API_KEY_VARIABLE  # where the key came from, to name it when it is missing

    @property
    def jobs_root(self) -> str:
        return self.api_url.rstrip("/") + "/" + self.jobs_prefix.strip("/")

    @property
    def auth_root(self) -> str:
        return self.api_url.rstrip("/") + AUTH_PREFIX


def check_url(url: str) -> str:
    """Plain HTTP would send the key and tokens in clear text: allowed only to this machine (the emulator)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        # Never echo the URL: what is in it is a credential.
        raise errors.ConfigError(
            "the API URL holds a user name or password: remove it, and give the API key through "
            "BYTENITE_API_KEY or --api-key-file"
        )
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise errors.ConfigError(f"API URL {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise errors.ConfigError(f"refusing plain http to {parts.hostname}: use https (http is for loopback only)")
    return url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def from_environment(
    *,
    api_url: str | None = None,
    jobs_prefix: str | None = None,
    key_file: str | None = None,
    concurrency: int | None = None,
    rate_limit: float | None = None,
    retry_attempts: int | None = None,
    retry_budget: float | None = None,
    run_timeout: float | None = None,
    request_timeout: float | None = None,
    environ: Mapping[str, str] = os.environ,
    place: Place | None = None,
) -> Settings:
    """Flags first (the keywords; ``None`` for one not given), then ``BYTENITE_*`` variables, then defaults.

    A project environment (``place``) is more specific than the shell's ``BYTENITE_*`` variables, so its URL,
    prefix and key variable come before them; a flag still comes first.
    """
    place = place or Place()
    # Checked in the order the flags are listed, so the first bad one named is the same every run.
    url = check_url(API_URL.resolve(api_url, place.api_url, environ))
    workers = CONCURRENCY.resolve(concurrency, environ)
    attempts = RETRY_ATTEMPTS.resolve(retry_attempts, environ)
    rate = RATE_LIMIT.resolve(rate_limit, environ)
    budget = RETRY_BUDGET.resolve(retry_budget, environ)
    deadline = RUN_TIMEOUT.resolve(run_timeout, environ)
    exchange = REQUEST_TIMEOUT.resolve(request_timeout, environ)
    return Settings(
        api_key=keys.read_key(key_file, environ, place.key_variable),
        api_url=url,
        jobs_prefix=JOBS_PREFIX.resolve(jobs_prefix, place.jobs_prefix, environ),
        key_variable=place.key_variable,
        concurrency=workers,
        rate_limit=rate,
        run_timeout=deadline,
        request_timeout=exchange,
        retry=Retry(attempts=attempts, budget=budget),
    )
