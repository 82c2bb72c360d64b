"""Seeded faults: latency, 5xx, 429s, dropped connections, malformed bodies.

Every draw comes from one ``random.Random`` seeded by ``--fault-seed``, so a run that sends the same
requests in the same order meets the same faults. A fault is drawn *before* the request is applied: a 5xx,
a 429, a drop or a malformed body changed nothing. The one exception is its own kind on purpose:
``drop-after-write`` applies a write and then drops the connection, to prove that retrying a PATCH whose
answer was lost is harmless.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any


class Fault(StrEnum):
    """What a request meets instead of a plain answer; the value is what the request log shows."""

    THROTTLED = "429"
    UNAVAILABLE = "503"
    INTERNAL = "500"
    DROP = "drop"
    DROP_AFTER_WRITE = "drop-after-write"
    MALFORMED = "malformed"


# One 5xx fault in this many is a 500 rather than a 503: both are "retry later" for a client.
_INTERNAL_ONE_IN = 5

_JSON_NAMES = {
    "latency_ms": "latencyMs",
    "jitter_ms": "jitterMs",
    "fault_rate": "faultRate",
    "throttle_rps": "throttleRps",
    "throttle_rate": "throttleRate",
    "retry_after": "retryAfter",
    "drop_rate": "dropRate",
    "drop_after_write_rate": "dropAfterWriteRate",
    "malformed_rate": "malformedRate",
    "seed": "seed",
}
_RATES = frozenset({"fault_rate", "throttle_rate", "drop_rate", "drop_after_write_rate", "malformed_rate"})


@dataclass(frozen=True)
class FaultSettings:
    """The knobs, as the CLI flags and ``/_emulator/faults`` set them. Rates are probabilities in [0, 1]."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    fault_rate: float = 0.0
    throttle_rps: float = 0.0
    throttle_rate: float = 0.0
    retry_after: int = 1
    drop_rate: float = 0.0
    drop_after_write_rate: float = 0.0
    malformed_rate: float = 0.0
    seed: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The camelCase object ``GET /_emulator/faults`` answers."""
        return {_JSON_NAMES[f.name]: getattr(self, f.name) for f in fields(self)}

    def merged(self, changes: dict[str, Any]) -> FaultSettings:
        """These settings with the given camelCase keys changed; a bad key or value is a ``ValueError``."""
        by_json = {json_name: name for name, json_name in _JSON_NAMES.items()}
        updates: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in by_json:
                raise ValueError(f"unknown fault setting {key!r}; known: {sorted(by_json)}")
            updates[by_json[key]] = _check(by_json[key], key, value)
        return replace(self, **updates)


def _check(name: str, key: str, value: Any) -> Any:
    if name == "seed":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{key} must be an integer or null")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a non-negative number")
    if name in _RATES and value > 1:
        raise ValueError(f"{key} is a probability and must be at most 1")
    if name == "retry_after":
        if not float(value).is_integer():
            raise ValueError(f"{key} must be a whole number of seconds")
        return int(value)
    return float(value)


@dataclass(frozen=True)
class Draw:
    """What one request meets: a fault or none, how long to wait first, and the Retry-After of a 429."""

    fault: Fault | None
    delay_seconds: float
    retry_after: int = 0


class _TokenBucket:
    """``--throttle-rps``: a bucket of ``rps`` tokens refilled at ``rps`` per second."""

    def __init__(self, rps: float) -> None:
        self.rps = rps
        self._tokens = max(rps, 1.0)
        self._last = time.monotonic()

    def take(self) -> int:
        """0 when a token was taken; otherwise the whole seconds until one is available (for Retry-After)."""
        now = time.monotonic()
        self._tokens = min(max(self.rps, 1.0), self._tokens + (now - self._last) * self.rps)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - self._tokens) / self.rps))


class Faults:
    """The current settings and the seeded source every draw comes from."""

    def __init__(self, settings: FaultSettings) -> None:
        self._lock = threading.Lock()
        self.settings = settings
        self._rng = random.Random(settings.seed)
        self._bucket = _TokenBucket(settings.throttle_rps) if settings.throttle_rps > 0 else None

    def update(self, changes: dict[str, Any]) -> FaultSettings:
        """Merge settings; a given ``seed`` restarts the draws, so what follows is reproducible."""
        with self._lock:
            self.settings = self.settings.merged(changes)
            if "seed" in changes:
                self._rng = random.Random(self.settings.seed)
            if "throttleRps" in changes:
                rps = self.settings.throttle_rps
                self._bucket = _TokenBucket(rps) if rps > 0 else None
            return self.settings

    def reset(self, settings: FaultSettings) -> None:
        """Back to the given settings (normally the start-up ones), draws restarted from their seed."""
        with self._lock:
            self.settings = settings
            self._rng = random.Random(settings.seed)
            self._bucket = _TokenBucket(settings.throttle_rps) if settings.throttle_rps > 0 else None

    def draw(self, *, is_read: bool, is_write: bool) -> Draw:
        """Decide a request's fate before it is applied. Draws happen in a fixed order per request."""
        with self._lock:
            s = self.settings
            delay = s.latency_ms + (self._rng.uniform(0.0, s.jitter_ms) if s.jitter_ms > 0 else 0.0)
            fault, retry_after = self._fault(s, is_read=is_read, is_write=is_write)
            return Draw(fault=fault, delay_seconds=delay / 1000.0, retry_after=retry_after)

    def _fault(self, s: FaultSettings, *, is_read: bool, is_write: bool) -> tuple[Fault | None, int]:
        if self._bucket is not None:
            wait = self._bucket.take()
            if wait:
                return Fault.THROTTLED, wait
        if self._hit(s.throttle_rate):
            return Fault.THROTTLED, s.retry_after
        if self._hit(s.fault_rate):
            internal = self._rng.randrange(_INTERNAL_ONE_IN) == 0
            return (Fault.INTERNAL if internal else Fault.UNAVAILABLE), 0
        if self._hit(s.drop_rate):
            return Fault.DROP, 0
        if is_read and self._hit(s.malformed_rate):
            return Fault.MALFORMED, 0
        if is_write and self._hit(s.drop_after_write_rate):
            return Fault.DROP_AFTER_WRITE, 0
        return None, 0

    def _hit(self, rate: float) -> bool:
        # A rate of 0 draws nothing: with every fault off, requests consume no randomness at all.
        return rate > 0 and self._rng.random() < rate
