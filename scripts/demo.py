"""The README demo: a real plan and apply of examples/jobs/ against the bundled emulator on 127.0.0.1.

Starts ``reconciler emulator`` seeded with drafts that differ from the manifests (and one job already running),
then runs ``reconciler plan``, ``reconciler apply --auto-approve`` and ``reconciler plan --detailed-exitcode``
as a user would, and stops the emulator. Exits non-zero if the final plan is not clean.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECONCILER = [sys.executable, "-m", "reconciler"]
DEMO_KEY = "demo-api-key"


def main() -> int:
    emulator = subprocess.Popen(
        [*RECONCILER, "emulator", "--port", "0", "--api-key", DEMO_KEY, "--step-seconds", "0",
         "--seed-file", str(ROOT / "examples/emulator/seed.yaml")],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert emulator.stdout is not None
        first = emulator.stdout.readline()
        url = first.split("serving ", 1)[1].split()[0]
        env = dict(
            os.environ,
            BYTENITE_API_URL=url,
            BYTENITE_API_KEY=DEMO_KEY,
            # The legacy job's inline keys come from the environment, never from git; they never show in a plan.
            LEGACY_S3_ACCESS_KEY="DEMO-ROTATED-ACCESS-KEY",
            LEGACY_S3_SECRET_KEY="demo-legacy-secret-key",
        )
        steps = [
            ("plan", ["plan", "examples/jobs"]),
            ("apply", ["apply", "examples/jobs", "--auto-approve"]),
            (
                "plan again: nothing left to change but the blocked job",
                ["plan", "examples/jobs", "--detailed-exitcode"],
            ),
        ]
        code = 0
        for title, args in steps:
            print(f"\n$ reconciler {' '.join(args)}    # {title}", flush=True)
            code = subprocess.run([*RECONCILER, *args], env=env, cwd=ROOT, check=False).returncode
            print(f"(exit code {code})", flush=True)
        # The last plan exits 3: the running job stays blocked, everything else converged (no 2 = no changes).
        return 0 if code == 3 else 1
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
