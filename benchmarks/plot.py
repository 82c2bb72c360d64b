"""The scaling curve as a picture: ``benchmarks/run.py --plot`` writes ``docs/scaling.png``.

Plan and apply at 10, 100, 1,000 and 10,000 jobs with 50 ms per request, each beside its floor (requests ÷
concurrency × latency: the time the network alone would take), and the peak memory of each run. matplotlib is
needed for this figure only (``pip install -e ".[bench]"``); it draws off-screen, with no display.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Point:
    jobs: int
    plan: float
    plan_floor: float
    plan_mb: float
    apply: float
    apply_floor: float
    apply_mb: float


def draw(points: list[Point], path: Path, *, latency_ms: int, concurrency: int) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: a file only
    import matplotlib.pyplot as plt

    jobs = [point.jobs for point in points]
    figure, (times, memory) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    times.plot(jobs, [p.plan for p in points], "o-", color="tab:blue", label="plan (ours)")
    times.plot(jobs, [p.plan_floor for p in points], "o--", color="tab:blue", alpha=0.45, label="plan floor")
    times.plot(jobs, [p.apply for p in points], "s-", color="tab:orange", label="apply (ours)")
    times.plot(jobs, [p.apply_floor for p in points], "s--", color="tab:orange", alpha=0.45, label="apply floor")
    times.set(xscale="log", yscale="log", xlabel="jobs", ylabel="seconds, end to end",
              title=f"Time at {latency_ms} ms per request, concurrency {concurrency}")  # fmt: skip
    times.grid(True, which="both", alpha=0.3)
    times.legend()
    memory.plot(jobs, [p.plan_mb for p in points], "o-", color="tab:blue", label="plan")
    memory.plot(jobs, [p.apply_mb for p in points], "s-", color="tab:orange", label="apply")
    memory.axhline(250, color="tab:red", linestyle=":", label="250 MB target")
    memory.set(xscale="log", xlabel="jobs", ylabel="peak RSS, MB", title="Peak memory (VmHWM)")
    memory.grid(True, which="both", alpha=0.3)
    memory.legend()
    figure.suptitle("ByteNite reconciler against the bundled emulator (small shape, one account)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
