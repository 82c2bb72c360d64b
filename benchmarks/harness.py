"""Helpers for the benchmark: the emulator as a separate process and its control client, manifests, timed CLI
runs.

The emulator process and its client are the tests' own (:mod:`reconciler.emulator.remote`). Every measured run is
a fresh child process (``MEASURE``), so what this process imports never competes with what is measured.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from reconciler.emulator.remote import Control, EmulatorProcess

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
RECONCILER = str(VENV_BIN / "reconciler")
API_KEY = "bench-key"

# A child Python that runs one command, and reports its wall time, CPU time and peak RSS (ru_maxrss of its
# only child, in KiB on Linux: RUSAGE_CHILDREN keeps the maximum over all children, hence a fresh child).
# Spawning it costs nothing measured: the clock starts just before the command.
MEASURE = r"""
import json, resource, subprocess, sys, time
out = open(sys.argv[1], "wb")
err = open(sys.argv[2], "wb")
start = time.perf_counter()
code = subprocess.run(sys.argv[3:], stdout=out, stderr=err).returncode
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = usage.ru_utime + usage.ru_stime
print(json.dumps({"wall": wall, "cpu": cpu, "code": code, "maxrss_kib": usage.ru_maxrss}))
"""


@dataclass(frozen=True)
class Emulator:
    """The benchmark's emulator: its process, and the client that seeds it, sets its faults and reads its
    counters (seeding 10,000 jobs takes longer than a test's timeout allows, hence 120 s)."""

    process: EmulatorProcess
    control: Control

    @property
    def api_url(self) -> str:
        return self.process.url


@contextmanager
def emulator() -> Iterator[Emulator]:
    """The emulator in its own process (and its own GIL: its CPU never shares the measured process's)."""
    with (
        EmulatorProcess(api_key=API_KEY, python=PYTHON, cwd=ROOT) as process,
        Control(process.base_url, api_key=API_KEY, timeout=120) as control,
    ):
        yield Emulator(process, control)


# Jobs and manifests -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fleet:
    """N managed jobs: manifests on disk, the server's state to seed, and how many sections differ."""

    folder: Path
    seed: list[dict[str, Any]]
    jobs: int
    changed_jobs: int
    changed_sections: int


def _app(index: int) -> dict[str, Any]:
    return {"index": index, "scale": 1.5}


PROJECT: Final = """\
apiVersion: reconciler.bytenite.io/v1
kind: Project
variables:
  scale: {type: number, default: 0.5}
  task: {type: integer, default: 600}
defaults:
  config: {taskTimeout: "${var:task}", jobTimeout: 1800}
environments:
  bench:
    variables: {scale: 1.5}
    defaults: {config: {jobTimeout: 3600}}
    labels: {stage: bench}
"""


def _manifest(job_id: str, name: str, index: int, *, project: bool) -> str:
    head = f"apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata: {{id: {job_id}}}\nspec:\n"
    if project:  # the same job, from defaults, a variable of each kind and an override
        return head + (
            f"  name: draft {index}\n  params:\n    app: {{index: {index}, scale: '${{var:scale}}'}}\n"
            f"environments:\n  bench: {{name: {name}}}\n"
        )
    return head + (
        f"  name: {name}\n  params:\n    app: {{index: {index}, scale: 1.5}}\n"
        "  config: {taskTimeout: 600, jobTimeout: 3600}\n"
    )


def make_fleet(folder: Path, jobs: int, *, project: bool = False) -> Fleet:
    """Half the jobs differ in ``params.app``; one in ten in two sections (``name`` and ``config``).

    ``project``: the same jobs written as a project's environment ``bench`` gets them (``reconciler.yaml`` in
    the folder, shared defaults, typed variables, a per-environment override in every manifest).
    """
    folder.mkdir(parents=True, exist_ok=True)
    if project:
        (folder / "reconciler.yaml").write_text(PROJECT, encoding="utf-8")
    seed: list[dict[str, Any]] = []
    changed_jobs = changed_sections = 0
    namespace = uuid.UUID("6f1c1a4e-9d4b-4c55-8a53-0b9f0c1d2e3f")
    for index in range(jobs):
        job_id = str(uuid.uuid5(namespace, str(index)))
        name = f"bench {index}"
        app = _app(index)
        config = {"taskTimeout": 600, "jobTimeout": 3600}
        (folder / f"job-{index:05d}.yaml").write_text(_manifest(job_id, name, index, project=project), encoding="utf-8")
        sections = 0
        if index % 2 == 0:  # one section differs: params (app.scale)
            app = {**app, "scale": 2.5}
            sections += 1
        if index % 10 == 1:  # two sections differ: jobname and configs
            name = f"old bench {index}"
            config = {"taskTimeout": 300, "jobTimeout": 3600}
            sections += 2
        changed_jobs += bool(sections)
        changed_sections += sections
        seed.append({"id": job_id, "templateId": "bench", "name": name, "params": {"app": app}, "config": config})
    return Fleet(folder, seed, jobs, changed_jobs, changed_sections)


# Running the CLI -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    code: int
    maxrss_mib: float
    stdout: str
    stderr: str


def run_measured(args: list[str], env: dict[str, str], scratch: Path) -> Run:
    """Run ``reconciler ARGS`` in a fresh measuring child: wall time of the command and its peak RSS."""
    out, err = scratch / "stdout.txt", scratch / "stderr.txt"
    result = subprocess.run(
        [PYTHON, "-c", MEASURE, str(out), str(err), RECONCILER, *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=scratch,
    )
    figures = json.loads(result.stdout)
    return Run(
        figures["wall"],
        figures["cpu"],
        figures["code"],
        figures["maxrss_kib"] / 1024,
        out.read_text(encoding="utf-8", errors="replace"),
        err.read_text(encoding="utf-8", errors="replace"),
    )


def run_timed(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int]:
    """Wall time of ``reconciler ARGS`` spawned from here (for the short commands: --help, validate)."""
    start = time.perf_counter()
    code = subprocess.run(
        [RECONCILER, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, check=False
    ).returncode
    return time.perf_counter() - start, code


def median(values: list[float]) -> float:
    return statistics.median(values)


def cli_env(emulator: Emulator | None, pycache: Path) -> dict[str, str]:
    """The CLI's environment: an installed tool keeps its bytecode, so runs write and reuse it (in ``pycache``,
    outside the source tree) even where the shell sets PYTHONDONTWRITEBYTECODE."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BYTENITE_")}
    env.pop("CI", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["NO_COLOR"] = "1"
    if emulator is not None:
        env["BYTENITE_API_URL"] = emulator.api_url
        env["BYTENITE_API_KEY"] = API_KEY
    return env
