"""Runtime settings: where the API is, how to authenticate, and how hard to push it.

The API key is held as a :class:`Secret` so that no ``repr``, log line or traceback can show it.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from reconciler import errors

DEFAULT_API_URL: Final = "https://api.bytenite.com/v1"
DEFAULT_JOBS_PREFIX: Final = "/customer"
AUTH_PREFIX: Final = "/auth"
DEFAULT_CONCURRENCY: Final = 16
DEFAULT_REQUEST_TIMEOUT: Final = 60.0  # seconds for one whole exchange: sending, and reading every byte back
MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024  # decoded; a page of 100 jobs is well under 1 MiB


class Secret:
    """A string that never shows itself: ``repr`` and ``str`` print a mask; :meth:`reveal` is explicit."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Retry:
    """Retry policy for transient failures (429, 5xx, connection errors)."""

    attempts: int = 8
    initial: float = 0.2
    cap: float = 10.0
    jitter: float = 0.5
    budget: float = 120.0


@dataclass(frozen=True)
class Place:
    """Where a project environment says its jobs live: its API and the variable holding its key."""

    api_url: str | None = None
    jobs_prefix: str | None = None
    key_variable: str = "BYTENITE_API_KEY"


@dataclass(frozen=True)
class Settings:
    api_key: Secret = field(default_factory=lambda: Secret(""))
    api_url: str = DEFAULT_API_URL
    jobs_prefix: str = DEFAULT_JOBS_PREFIX
    concurrency: int = DEFAULT_CONCURRENCY
    rate_limit: float | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_response_bytes: int = MAX_RESPONSE_BYTES
    run_timeout: float | None = None
    retry: Retry = field(default_factory=Retry)
    key_variable: str = "BYTENITE_API_KEY"  # where the key came from, to name it when it is missing

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


MAX_KEY_BYTES: Final = 4096  # an API key is a few dozen characters; /dev/zero or a log file is not one


def read_key(key_file: str | None, environ: Mapping[str, str], variable: str = "BYTENITE_API_KEY") -> Secret:
    """The API key from a file (never from the command line, where process lists show it) or the environment.

    At most :data:`MAX_KEY_BYTES` are read: ``--api-key-file /dev/zero`` must be an error, not a hang.
    """
    if key_file:
        try:
            with Path(key_file).open("rb") as handle:
                raw = handle.read(MAX_KEY_BYTES + 1)
        except OSError as error:
            raise errors.ConfigError(f"cannot read the API key file {key_file}: {error.strerror}") from None
        if len(raw) > MAX_KEY_BYTES:
            raise errors.ConfigError(f"--api-key-file {key_file}: more than {MAX_KEY_BYTES} bytes, not an API key")
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise errors.ConfigError(f"--api-key-file {key_file}: not UTF-8 text, not an API key") from None
        if any(not character.isprintable() for character in text):
            raise errors.ConfigError(f"--api-key-file {key_file}: holds control characters, not an API key")
        return Secret(text)
    return Secret(environ.get(variable, "").strip())


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
    """Flags first, then ``BYTENITE_*`` variables, then defaults.

    Every number is checked where it enters, and an error names the flag or variable it came from: a NaN,
    an infinity, zero or a negative would otherwise reach the rate limiter or ``asyncio.wait_for`` and crash or
    silently mean something else. ``BYTENITE_RETRY_ATTEMPTS`` counts attempts, so 1 means "no retries" and 0
    is refused, as ``--retry-attempts 0`` is.

    A project environment (``place``) is more specific than the shell's ``BYTENITE_*`` variables, so its URL,
    prefix and key variable come before them; a flag still comes first.
    """
    place = place or Place()
    url = check_url(api_url or place.api_url or environ.get("BYTENITE_API_URL") or DEFAULT_API_URL)
    workers = _whole(concurrency, "--concurrency", environ, "BYTENITE_CONCURRENCY", DEFAULT_CONCURRENCY)
    attempts = _whole(retry_attempts, "--retry-attempts", environ, "BYTENITE_RETRY_ATTEMPTS", Retry.attempts)
    rate = _positive(rate_limit, "--rate-limit", environ, "BYTENITE_RATE_LIMIT")
    budget = _positive(retry_budget, "--retry-budget", environ, "BYTENITE_RETRY_BUDGET") or Retry.budget
    deadline = _positive(run_timeout, "--run-timeout", environ, "BYTENITE_RUN_TIMEOUT")
    exchange = _positive(request_timeout, "--request-timeout", environ, "BYTENITE_REQUEST_TIMEOUT")
    return Settings(
        api_key=read_key(key_file, environ, place.key_variable),
        api_url=url,
        jobs_prefix=jobs_prefix or place.jobs_prefix or environ.get("BYTENITE_JOBS_PREFIX") or DEFAULT_JOBS_PREFIX,
        key_variable=place.key_variable,
        concurrency=workers,
        rate_limit=rate,
        run_timeout=deadline,
        request_timeout=exchange or DEFAULT_REQUEST_TIMEOUT,
        retry=Retry(attempts=attempts, budget=budget),
    )


def _setting(
    flag_value: float | None, flag: str, environ: Mapping[str, str], variable: str
) -> tuple[float, str] | None:
    """The flag's value, else the variable's, with the name to blame; ``None`` when neither is given."""
    if flag_value is not None:
        return float(flag_value), flag
    text = environ.get(variable, "").strip()
    if not text:
        return None
    try:
        return float(text), variable
    except ValueError:
        raise errors.ConfigError(f"{variable}={text[:40]!r} is not a number") from None


def _positive(flag_value: float | None, flag: str, environ: Mapping[str, str], variable: str) -> float | None:
    given = _setting(flag_value, flag, environ, variable)
    if given is None:
        return None
    value, name = given
    if not math.isfinite(value) or value <= 0:
        raise errors.ConfigError(f"{name} must be a positive, finite number, got {value:g}")
    return value


def _whole(flag_value: int | None, flag: str, environ: Mapping[str, str], variable: str, default: int) -> int:
    given = _setting(flag_value, flag, environ, variable)
    if given is None:
        return default
    value, name = given
    if not math.isfinite(value) or not value.is_integer() or value < 1:
        hint = " (1 means no retries)" if "retry" in name.lower() else ""
        raise errors.ConfigError(f"{name} must be a whole number of at least 1{hint}, got {value:g}")
    return int(value)
