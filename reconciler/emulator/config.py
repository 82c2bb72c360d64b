"""Every option the emulator takes, one frozen value shared by the CLI and the Python context manager."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.emulator.faults import FaultSettings


@dataclass(frozen=True)
class EmulatorConfig:
    """The ``reconciler emulator`` flags. ``port=0`` (the default here; the CLI says 8080) binds a free port."""

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str | None = None
    token_ttl: int = 3600
    state_file: Path | None = None
    seed_file: Path | None = None
    step_seconds: float = 1.0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    fault_rate: float = 0.0
    throttle_rps: float = 0.0
    throttle_rate: float = 0.0
    retry_after: int = 1
    drop_rate: float = 0.0
    drop_after_write_rate: float = 0.0
    malformed_rate: float = 0.0
    fault_seed: int | None = None

    def fault_settings(self) -> FaultSettings:
        """The fault knobs at start (``/_emulator/reset`` returns to these)."""
        return FaultSettings(
            latency_ms=self.latency_ms,
            jitter_ms=self.jitter_ms,
            fault_rate=self.fault_rate,
            throttle_rps=self.throttle_rps,
            throttle_rate=self.throttle_rate,
            retry_after=self.retry_after,
            drop_rate=self.drop_rate,
            drop_after_write_rate=self.drop_after_write_rate,
            malformed_rate=self.malformed_rate,
            seed=self.fault_seed,
        )
