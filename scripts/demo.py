"""The README demo: a real plan and apply of examples/jobs/ against the bundled emulator on 127.0.0.1.

Starts ``reconciler emulator`` seeded with drafts that differ from the manifests (and one job already running),
then runs ``reconciler plan``, ``reconciler apply --auto-approve`` and ``reconciler plan --detailed-exitcode``
as a user would; then renders, applies and re-plans the two environments of examples/project/, and stops the
emulator. Exits non-zero if a final plan is not clean.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECONCILER = [sys.executable, "-m", "reconciler"]
DEMO_KEY = "demo-api-key"
PROJECT = ["examples/project/jobs"]


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
        codes = [_run(title, args, env) for title, args in steps]
        # The last plan exits 3: the running job stays blocked, everything else converged (no 2 = no changes).
        jobs_converged = codes[-1] == 3
        # The same account stands in for both environments of examples/project (its keyPrefix keeps them apart).
        env.update(BYTENITE_DEV_API_KEY=DEMO_KEY, BYTENITE_PROD_API_KEY=DEMO_KEY)
        at = ["--api-url", url]
        project = [
            ("what prod gets: defaults, overrides and variables applied", ["render", "--env", "prod", *PROJECT]),
            ("apply dev", ["apply", "--env", "dev", *PROJECT, *at, "--auto-approve"]),
            ("apply prod", ["apply", "--env", "prod", *PROJECT, *at, "--auto-approve"]),
            ("plan prod again: nothing left", ["plan", "--env", "prod", *PROJECT, *at, "--detailed-exitcode"]),
        ]
        codes = [_run(title, args, env) for title, args in project]
        return 0 if jobs_converged and codes == [0, 0, 0, 0] else 1
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)


def _run(title: str, args: list[str], env: dict[str, str]) -> int:
    print(f"\n$ reconciler {' '.join(args)}    # {title}", flush=True)
    code = subprocess.run([*RECONCILER, *args], env=env, cwd=ROOT, check=False).returncode
    print(f"(exit code {code})", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
