"""Many manifests are parsed in forked processes: same documents, same order, same errors as one process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e import generated
from tests.support import ROOT


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


STOPPED_EARLY = r"""
import multiprocessing, sys, time
from reconciler.desired import loading
parsing = loading.Parsing([sys.argv[1]])
assert multiprocessing.active_children(), "the parse did not begin in other processes"
begun = time.monotonic()
parsing.close()
print(f"{time.monotonic() - begun:.3f} {len(multiprocessing.active_children())}")
"""


def test_a_parse_stopped_before_its_result_leaves_no_worker_and_no_wait(tmp_path: Path) -> None:
    """A run that fails before it needs the manifests (a bad --out) must not wait for a parse it drops."""
    folder = tmp_path / "jobs"
    generated.write_manifests(folder, 3000)
    outcome = subprocess.run(
        [sys.executable, "-c", STOPPED_EARLY, str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert outcome.returncode == 0, outcome.stderr
    waited, left = outcome.stdout.split()
    assert left == "0"
    assert float(waited) < 5  # the parse of 3,000 files itself takes about a second; stopping it, milliseconds


def test_validate_begins_the_parse_before_it_imports_what_validates(tmp_path: Path) -> None:
    """The order the overlap depends on (plan and apply begin it the same way): the parse is running before
    pydantic and httpx are imported."""
    folder = tmp_path / "jobs"
    generated.write_manifests(folder, 300)
    probe = (
        "import sys, multiprocessing; from reconciler.desired import loading; real = loading.Parsing.__init__\n"
        "def init(self, *a, **k):\n"
        "    assert 'pydantic' not in sys.modules and 'httpx' not in sys.modules, 'imported before the parse'\n"
        "    real(self, *a, **k); print('begun with', len(multiprocessing.active_children()), 'workers')\n"
        "loading.Parsing.__init__ = init\n"
        "from reconciler.cli import commands; commands.main(['validate', sys.argv[1]])\n"
    )
    outcome = subprocess.run(
        [sys.executable, "-c", probe, str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert outcome.returncode == 0, outcome.stderr
    assert "begun with" in outcome.stdout
    assert "begun with 0 workers" not in outcome.stdout
    assert "300 manifests valid." in outcome.stdout
