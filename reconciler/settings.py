"""Runtime settings: where the API is, how to authenticate, and how hard to push it.

The API key is held as a :class:`Secret` so that no ``repr``, log line or traceback can show it.
"""

from __future__ import annotations

import ipaddress
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
class Settings:
    api_key: Secret = field(default_factory=lambda: Secret(""))
    api_url: str = DEFAULT_API_URL
    jobs_prefix: str = DEFAULT_JOBS_PREFIX
    concurrency: int = DEFAULT_CONCURRENCY
    rate_limit: float | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    run_timeout: float | None = None
    retry: Retry = field(default_factory=Retry)

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


def read_key(key_file: str | None, environ: Mapping[str, str]) -> Secret:
    """The API key from a file (never from the command line, where process lists show it) or the environment."""
    if key_file:
        try:
            return Secret(Path(key_file).read_text(encoding="utf-8").strip())
        except OSError as error:
            raise errors.ConfigError(f"cannot read the API key file {key_file}: {error.strerror}") from None
    return Secret(environ.get("BYTENITE_API_KEY", "").strip())


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
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """Flags first, then ``BYTENITE_*`` variables, then defaults."""
    url = check_url(api_url or environ.get("BYTENITE_API_URL") or DEFAULT_API_URL)
    try:
        workers = int(concurrency or environ.get("BYTENITE_CONCURRENCY") or DEFAULT_CONCURRENCY)
        rate = rate_limit or _number(environ, "BYTENITE_RATE_LIMIT")
        attempts = retry_attempts or int(_number(environ, "BYTENITE_RETRY_ATTEMPTS") or Retry.attempts)
        budget = retry_budget or _number(environ, "BYTENITE_RETRY_BUDGET") or Retry.budget
        deadline = run_timeout or _number(environ, "BYTENITE_RUN_TIMEOUT")
    except ValueError as error:
        raise errors.ConfigError(f"bad number in the environment: {error}") from None
    if workers < 1:
        raise errors.ConfigError("concurrency must be at least 1")
    if rate is not None and rate <= 0:
        raise errors.ConfigError("the rate limit must be a positive number of requests per second")
    return Settings(
        api_key=read_key(key_file, environ),
        api_url=url,
        jobs_prefix=jobs_prefix or environ.get("BYTENITE_JOBS_PREFIX") or DEFAULT_JOBS_PREFIX,
        concurrency=workers,
        rate_limit=rate,
        run_timeout=deadline,
        retry=Retry(attempts=max(1, attempts), budget=budget),
    )


def _number(environ: Mapping[str, str], name: str) -> float | None:
    value = environ.get(name, "").strip()
    return float(value) if value else None
