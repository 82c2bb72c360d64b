"""Seeded faults: latency, 5xx, 429s, dropped connections, malformed bodies.

The knobs are one pydantic model, :class:`FaultSettings`. Every draw comes from one ``random.Random`` seeded
by ``--fault-seed``, so a run that sends the same requests in the same order meets the same faults. A fault is
drawn *before* the request is applied: a 5xx, a 429, a drop or a malformed body changed nothing. The one
exception is its own kind on purpose: ``drop-after-write`` applies a write and then drops the connection, to
prove that retrying a PATCH whose answer was lost is harmless.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel


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


def _whole(value: Any) -> Any:
    # JSON has one number type: 2.0 seconds is a whole number of seconds, as 2 is (2.5 is not).
    return int(value) if isinstance(value, float) and value.is_integer() else value


Rate = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]


class FaultSettings(BaseModel):
    """The fault knobs, each declared once with its type, bounds, default and help.

    Everything else derives from this model: the ``emulator`` command's flags (``--latency-ms``: the field's
    name), the body of ``PUT /_emulator/faults`` and the answer of ``GET`` (camelCase: the field's alias), and
    the settings :class:`Faults` draws from. Strict, as the control API always was: ``true`` or ``"1"`` is not
    a number, and an unknown key is refused rather than ignored. Rates are probabilities in [0, 1].
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, alias_generator=to_camel, populate_by_name=True)

    latency_ms: NonNegative = Field(0.0, description="Fixed delay added to every API request.")
    jitter_ms: NonNegative = Field(0.0, description="Random extra delay, uniform in [0, N] ms.")
    fault_rate: Rate = Field(
        0.0, description="Share of API requests answered 503 (one in five of them 500), before applying."
    )
    throttle_rps: NonNegative = Field(
        0.0, description="Requests per second allowed; beyond it 429 with Retry-After. 0: unlimited."
    )
    throttle_rate: Rate = Field(0.0, description="Share of API requests answered 429 regardless of the rate.")
    retry_after: Annotated[int, BeforeValidator(_whole)] = Field(
        1, ge=0, description="Retry-After seconds sent with --throttle-rate 429s."
    )
    drop_rate: Rate = Field(0.0, description="Share of API requests whose connection is dropped before applying.")
    drop_after_write_rate: Rate = Field(
        0.0, description="Share of writes applied, then answered by a dropped connection."
    )
    malformed_rate: Rate = Field(0.0, description="Share of GETs answered 200 with a malformed JSON body.")
    fault_seed: int | None = Field(
        None, alias="seed", description="Seed for every fault draw, so a run is reproducible."
    )

    def to_json(self) -> dict[str, Any]:
        """The camelCase object ``GET /_emulator/faults`` answers."""
        return self.model_dump(by_alias=True)

    def merged(self, changes: dict[str, Any]) -> FaultSettings:
        """These settings with the given camelCase keys changed; a bad key or value is a ``ValueError``.

        Only the camelCase aliases are the wire's names: a Python name is an unknown key, as it always was."""
        known = sorted(field.alias or name for name, field in type(self).model_fields.items())
        for key in changes:
            if key not in known:
                raise ValueError(f"unknown fault setting {key!r}; known: {known}")
        try:
            return self.model_validate({**self.to_json(), **changes})
        except ValidationError as error:
            reasons = (f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors(include_url=False))
            raise ValueError("; ".join(reasons)) from None

    @classmethod
    def named_in(cls, changes: dict[str, Any]) -> set[str]:
        """The fields that the camelCase ``changes`` set."""
        return {name for name, field in cls.model_fields.items() if field.alias in changes}


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


def _bucket(rps: float) -> _TokenBucket | None:
    return _TokenBucket(rps) if rps > 0 else None


class Faults:
    """The current settings and the seeded source every draw comes from."""

    settings: FaultSettings
    _rng: random.Random
    _bucket: _TokenBucket | None

    def __init__(self, settings: FaultSettings) -> None:
        self._lock = threading.Lock()
        self.reset(settings)

    def update(self, changes: dict[str, Any]) -> FaultSettings:
        """Merge settings; a given ``seed`` restarts the draws, so what follows is reproducible."""
        with self._lock:
            self.settings = self.settings.merged(changes)
            given = FaultSettings.named_in(changes)
            if "fault_seed" in given:
                self._rng = random.Random(self.settings.fault_seed)
            if "throttle_rps" in given:
                self._bucket = _bucket(self.settings.throttle_rps)
            return self.settings

    def reset(self, settings: FaultSettings) -> None:
        """Back to the given settings (normally the start-up ones), draws restarted from their seed."""
        with self._lock:
            self.settings = settings
            self._rng = random.Random(settings.fault_seed)
            self._bucket = _bucket(settings.throttle_rps)

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
