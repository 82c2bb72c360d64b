"""Where a plan's time goes, stage by stage: ``benchmarks/run.py --profile``.

The CLI runs in a child process as a user runs it, with each stage's entry point wrapped to add up its time
(a stage called once per job, such as reference resolution, adds up over the jobs). The stages follow the data
flow; what no stage claims (click, settings, the event loop's own work) is shown as the rest. Start-up is the
interpreter and the imports, measured from the parent's spawn to the child's first line after the imports;
exit is from the command's return to the process's end.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Final

# (stage, module, function, kind): a name the pipeline looks up at call time (``Class.method`` for a method);
# the kind says how its time is taken: a call's, a coroutine's awaited, or a generator's inside each ``next``.
STAGES: Final = (
    ("finding files", "reconciler.desired.discovery", "find_files", "call"),
    # Each share of the files is validated while the next ones parse: the two are timed as one stage, the
    # time the pipeline waits for each validated share (the desired states are built between shares).
    ("parsing (ruamel.yaml) and validation, overlapped", "reconciler.desired.validation", "shares", "generator"),
    ("desired state", "reconciler.desired.jobs", "from_manifest", "call"),
    ("reference resolution", "reconciler.planning.references", "resolve", "call"),
    ("fetching (HTTP)", "reconciler.api.fetching", "fetch", "coroutine"),
    ("current state", "reconciler.planning.states", "from_api", "call"),
    ("diffing and planning", "reconciler.planning.planner", "build", "call"),
    ("rendering", "reconciler.cli.planning", "show_plan", "call"),
)

CHILD: Final = r"""
import json, sys, time
started = time.perf_counter()
import functools, importlib
from reconciler.cli import commands
imported = time.perf_counter()
totals, stages = {}, json.loads(sys.argv[2])

def wrap(stage, module, name, kind):
    target = importlib.import_module(module)
    *owners, name = name.split(".")
    for owner in owners:
        target = getattr(target, owner)
    real = getattr(target, name)
    if kind == "generator":
        def timed(*args, **kwargs):
            iterator = real(*args, **kwargs)
            while True:
                begin = time.perf_counter()
                try:
                    item = next(iterator)
                except StopIteration:
                    return
                finally:
                    totals[stage] = totals.get(stage, 0.0) + time.perf_counter() - begin
                yield item
    elif kind == "coroutine":
        async def timed(*args, **kwargs):
            begin = time.perf_counter()
            try:
                return await real(*args, **kwargs)
            finally:
                totals[stage] = totals.get(stage, 0.0) + time.perf_counter() - begin
    else:
        def timed(*args, **kwargs):
            begin = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                totals[stage] = totals.get(stage, 0.0) + time.perf_counter() - begin
    setattr(target, name, functools.wraps(real)(timed))

for stage in stages:
    wrap(*stage)
out = open(sys.argv[1], "w")
sys.stdout = out
try:
    commands.main(sys.argv[3:])
except SystemExit:
    pass
finished = time.perf_counter()
sys.stdout = sys.__stdout__
print(json.dumps({"totals": totals, "imports": imported - started, "command": finished - imported}))
sys.stdout.flush()
"""


def profile(args: list[str], env: dict[str, str], scratch: Path) -> list[tuple[str, float]]:
    """The stages of ``reconciler ARGS``: (name, seconds), start-up first and exit last."""
    interpreter = _interpreter(env)
    spawned = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(scratch / "profile-stdout.txt"), json.dumps(STAGES), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=scratch,
    )
    wall = time.perf_counter() - spawned
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    totals, command = figures["totals"], figures["command"]
    # The stages do not nest (each is timed on its own): the rest of the command is what none of them took.
    rows = [("start-up (interpreter, imports)", interpreter + figures["imports"])]
    rows += [(stage, totals.get(stage, 0.0)) for stage, *_ in STAGES]
    rows.append(("the rest of the command (click, settings, event loop)", max(0.0, command - sum(totals.values()))))
    rows.append(("exit", max(0.0, wall - interpreter - figures["imports"] - command)))
    return rows


def _interpreter(env: dict[str, str]) -> float:
    """The interpreter's own start and end, before a first line runs (``python -c pass``, median of 3)."""
    times = []
    for _ in range(3):
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        times.append(time.perf_counter() - begin)
    return sorted(times)[1]


def table(rows: list[tuple[str, float]]) -> str:
    total = sum(seconds for _, seconds in rows)
    width = max(len(name) for name, _ in rows)
    lines = [f"{'stage':<{width}}  {'seconds':>8}  {'share':>6}", f"{'-' * width}  {'-' * 8}  {'-' * 6}"]
    lines += [f"{name:<{width}}  {seconds:8.3f}  {seconds / total:6.1%}" for name, seconds in rows]
    lines.append(f"{'total (wall)':<{width}}  {total:8.3f}")
    return "\n".join(lines)
