"""Many manifests are parsed in forked processes: same documents, same order, same errors as one process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e import generated
from tests.e2e.conftest import ROOT


def _validate(folder: Path) -> subprocess.CompletedProcess[str]:
    # A subprocess: the forked path is taken only by a process with a single thread, as the CLI is.
    return subprocess.run(
        [sys.executable, "-m", "reconciler", "--debug", "validate", str(folder)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_many_manifests_load_in_parallel_with_every_problem_in_place(tmp_path: Path) -> None:
    folder = tmp_path / "jobs"
    generated.write_manifests(folder, 400)
    valid = _validate(folder)
    assert valid.returncode == 0, valid.stderr
    assert "400 manifests valid." in valid.stdout
    assert "loading 400 files in" in valid.stderr

    # A duplicate id far from its first use, and a broken file in another worker's share of the files.
    (folder / "job-00399.yaml").write_text((folder / "job-00001.yaml").read_text())
    broken = folder / "job-00250.yaml"
    broken.write_text(broken.read_text().replace("taskTimeout: 600", "taskTimeout: '600'"))
    outcome = _validate(folder)
    assert outcome.returncode == 1
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("error: ")]
    assert sorted(errors) == [
        f"error: {folder / 'job-00001.yaml'}:3:12: job {generated.job_id(1)} is also managed by "
        f"{folder / 'job-00399.yaml'}:3:12",
        f"error: {broken}:8:12: taskTimeout: must be an integer, got the string '600'",
        f"error: {folder / 'job-00399.yaml'}:3:12: job {generated.job_id(1)} is already managed by "
        f"{folder / 'job-00001.yaml'}:3:12",
    ]
