"""Terraform's no-change plan of N built-in ``terraform_data`` resources: the yardstick a Terraform user holds.

Nothing is downloaded (``terraform_data`` is built into Terraform, and the state is local), no checkpoint is
asked for, and ``TF_IN_AUTOMATION`` keeps the output plain. The state is applied once, unmeasured; each
measured run is ``terraform plan -detailed-exitcode``, which must exit 0 (no changes), as our plan of an
account in sync would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Final

CONFIG: Final = """\
resource "terraform_data" "job" {{
  count = {count}
  input = {{ index = count.index, name = "bench ${{count.index}}" }}
}}
"""


class Terraform:
    """A working directory holding N applied resources; :meth:`plan` times one no-change plan."""

    def __init__(self, folder: Path, resources: int) -> None:
        executable = shutil.which("terraform")
        if executable is None:
            raise FileNotFoundError("terraform is not on PATH")
        self.executable = executable
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "main.tf").write_text(CONFIG.format(count=resources), encoding="utf-8")
        self.env = {
            **os.environ,
            "TF_IN_AUTOMATION": "1",
            "CHECKPOINT_DISABLE": "1",
            "TF_INPUT": "0",
            "TF_CLI_CONFIG_FILE": os.devnull,  # no mirrors or credentials of this machine's user
        }
        self._run("init", "-input=false", "-backend=false")
        self._run("apply", "-auto-approve", "-input=false")

    def _run(self, *args: str) -> int:
        result = subprocess.run(
            [self.executable, *args], cwd=self.folder, env=self.env, capture_output=True, text=True, check=False
        )
        if result.returncode not in (0, 2):
            raise RuntimeError(f"terraform {args[0]} exited {result.returncode}: {result.stderr[-1000:]}")
        return result.returncode

    def plan(self) -> float:
        begin = time.perf_counter()
        code = self._run("plan", "-input=false", "-detailed-exitcode", "-lock=false")
        seconds = time.perf_counter() - begin
        if code != 0:
            raise RuntimeError("terraform plan found changes in a state it had just applied")
        return seconds


def version() -> str:
    executable = shutil.which("terraform")
    if executable is None:
        return ""
    first = subprocess.run([executable, "version"], capture_output=True, text=True, check=False).stdout
    return first.splitlines()[0] if first else ""
