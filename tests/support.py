"""What every kind of test shares: the repository's paths, the key the session's emulator accepts, and the one
client of its test control (``reconciler.emulator.remote.Control``, shared with the benchmark)."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator.remote import Control, EmulatorProcess

__all__ = ["API_KEY", "EXAMPLES", "ROOT", "SEED", "Control", "EmulatorProcess"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "jobs"
SEED = ROOT / "examples" / "emulator" / "seed.yaml"
# The only key the session's emulator accepts. It is a sentinel too: the security tests look for it in every byte
# a run produced, so it must never be shown.
API_KEY = "SENTINEL-APIKEY-9f3a"
