"""The distribution works anywhere: an sdist and a wheel that ``twine check`` accepts, and the wheel installed into
a fresh virtual environment in a temporary folder, far from the checkout, runs every part of the product.

Slow (about 40 s: ``python -m build`` fetches hatchling into its isolated build environment, and the fresh
environment installs the wheel's dependencies), and it needs the package registry, which CI reaches. It is
marked ``wheel``, so ``pytest -m "not wheel"`` leaves it out while iterating; the test command runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT

pytestmark = pytest.mark.wheel
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the fresh environment's bin folder, an empty working folder outside the checkout)."""
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
    # Without --sdist/--wheel, build makes the sdist and then the wheel from the sdist: an sdist that lacks a
    # file the wheel needs fails here.
    _run(sys.executable, "-m", "build", "--outdir", dist, ROOT, cwd=base)
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert [path.name for path in wheels] == [f"bytenite_reconciler-{VERSION}-py3-none-any.whl"]
    assert [path.name for path in sdists] == [f"bytenite_reconciler-{VERSION}.tar.gz"]
    _run(Path(sys.executable).parent / "twine", "check", "--strict", *wheels, *sdists, cwd=base)
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=base)
    python = venv / "bin" / "python"
    _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheels[0], cwd=base)
    _run(python, "-m", "pip", "check", cwd=base)
    work = base / "elsewhere"
    work.mkdir()
    return venv / "bin", work


def _env(**extra: str) -> dict[str, str]:
    """The environment less anything that points back at the checkout or its virtual environment."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("BYTENITE_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    return {**env, **extra}


def test_the_wheel_runs_from_its_own_install(installed: tuple[Path, Path]) -> None:
    bin_folder, work = installed
    reconciler = bin_folder / "reconciler"
    assert _run(reconciler, "--version", cwd=work, env=_env()).stdout == f"reconciler, version {VERSION}\n"
    where = _run(bin_folder / "python", "-c", "import reconciler; print(reconciler.__file__)", cwd=work, env=_env())
    assert Path(where.stdout.strip()).is_relative_to(bin_folder.parent), "the checkout was imported, not the wheel"
    schema = _run(reconciler, "schema", cwd=work, env=_env()).stdout
    assert schema == (ROOT / "schemas" / "job-manifest.schema.json").read_text()
    shutil.copytree(ROOT / "examples" / "jobs", work / "jobs")
    assert _run(reconciler, "validate", "jobs", cwd=work, env=_env()).stdout == "7 manifests valid.\n"
    assert "show" in _run(bin_folder / "python", "-m", "reconciler", "--help", cwd=work, env=_env()).stdout


def test_the_wheel_serves_the_emulator_and_plans_against_it(installed: tuple[Path, Path]) -> None:
    bin_folder, work = installed
    reconciler = bin_folder / "reconciler"
    seed = shutil.copy(ROOT / "examples" / "emulator" / "seed.yaml", work / "seed.yaml")
    if not (work / "jobs").exists():
        shutil.copytree(ROOT / "examples" / "jobs", work / "jobs")
    command = [reconciler, "emulator", "--port", "0", "--step-seconds", "0", "--seed-file", seed]
    with subprocess.Popen(command, cwd=work, env=_env(), stdout=subprocess.PIPE, text=True) as emulator:
        try:
            assert emulator.stdout is not None
            first = emulator.stdout.readline()
            assert "serving http://127.0.0.1:" in first, first
            url = first.split("serving ")[1].split()[0]
            _wait_for(url)
            env = _env(BYTENITE_API_URL=url, BYTENITE_API_KEY="wheel-test-key",
                       LEGACY_S3_ACCESS_KEY="WHEEL-ACCESS-KEY", LEGACY_S3_SECRET_KEY="wheel-secret")  # fmt: skip
            planned = subprocess.run(
                [str(reconciler), "plan", "jobs", "--out", "plan.json", "--detailed-exitcode"],
                cwd=work, env=env, capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert planned.returncode == 3, planned.stderr  # changes and one blocked job, as in the README demo
            assert "Plan: 5 to update (8 calls), 1 blocked, 0 errors, 1 unchanged." in planned.stdout
            shown = _run(reconciler, "show", "plan.json", cwd=work, env=_env())
            assert shown.stdout == planned.stdout
            assert json.loads((work / "plan.json").read_text())["format_version"] == 1
        finally:
            emulator.send_signal(signal.SIGINT)
            assert emulator.wait(timeout=10) == 0


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.post(f"{url}/auth/access_token", json={"apiKey": "x"}, timeout=2)
            return
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "the emulator never answered"
            time.sleep(0.05)
