"""A pydantic plugin installed beside the tool is not handed the manifests the CLI validates.

Any distribution can register one (an entry point in the group ``pydantic``); pydantic calls it for every model
it builds and every value it validates. The CLI switches plugins off for its own process unless
``PYDANTIC_DISABLE_PLUGINS`` says otherwise, which also spares it the search through every installed
distribution's entry points.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

PLUGIN = """
import os


class Spy:
    def new_schema_validator(self, schema, schema_type, schema_type_path, schema_kind, config, plugin_settings):
        with open(os.environ["SPY_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{schema_type_path.name}\\n")
        return None, None, None


plugin = Spy()
"""


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    """A folder holding a distribution that registers a pydantic plugin, to put on ``PYTHONPATH``."""
    folder = tmp_path / "site"
    (folder / "spy_dist-1.0.dist-info").mkdir(parents=True)
    (folder / "spy_dist-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: spy-dist\nVersion: 1.0\n")
    (folder / "spy_dist-1.0.dist-info" / "entry_points.txt").write_text("[pydantic]\nspy = spy_plugin:plugin\n")
    (folder / "spy_plugin.py").write_text(PLUGIN)
    return folder


def _environment(**extra: str) -> dict[str, str]:
    """This process's environment without the variable under test, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if key != "PYDANTIC_DISABLE_PLUGINS"}
    return {**env, **extra}


def _validate(plugin_path: Path, log: Path, **extra: str) -> list[str]:
    env = _environment(PYTHONPATH=str(plugin_path), SPY_LOG=str(log), **extra)
    outcome = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(ROOT / "examples" / "jobs")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert outcome.returncode == 0, outcome.stderr
    return log.read_text().split() if log.exists() else []


def test_an_installed_plugin_sees_no_model_of_the_cli(plugin_path: Path, tmp_path: Path) -> None:
    assert _validate(plugin_path, tmp_path / "spy.log") == []


def test_a_user_who_asks_for_plugins_gets_them(plugin_path: Path, tmp_path: Path) -> None:
    """The same plugin is called once plugins are asked for: the test above can fail."""
    assert "Manifest" in _validate(plugin_path, tmp_path / "spy.log", PYDANTIC_DISABLE_PLUGINS="")


def test_an_embedding_program_keeps_its_environment(tmp_path: Path) -> None:
    """``commands.main`` called in-process sets the variable for its run only."""
    code = (
        "import os, sys\n"
        "from reconciler.cli import commands\n"
        "try:\n"
        f"    commands.main(['validate', {str(ROOT / 'examples' / 'jobs')!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('PYDANTIC_DISABLE_PLUGINS' in os.environ)\n"
    )
    outcome = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert outcome.stdout.split()[-1] == "False"
