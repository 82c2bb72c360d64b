"""Every option the emulator takes, one frozen value shared by the CLI and the Python context manager."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reconciler.emulator.faults import FaultSettings


@dataclass(frozen=True)
class EmulatorConfig:
    """The ``reconciler emulator`` flags. ``port=0`` (the default here; the CLI says 8080) binds a free port.

    The fault knobs are one :class:`FaultSettings`, the same model ``/_emulator/faults`` reads and writes:
    ``/_emulator/reset`` with ``faults`` returns to the one given here.
    """

    host: str = "127.0.0.1"
    port: int = 0
    api_key: str | None = None
    token_ttl: int = 3600
    state_file: Path | None = None
    seed_file: Path | None = None
    step_seconds: float = 1.0
    faults: FaultSettings = field(default_factory=FaultSettings)
