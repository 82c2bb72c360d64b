"""Shell completion (click's own, for bash, zsh and fish) and ``--version``, through the installed script.

Completion is driven by click's protocol: the script a shell sources calls ``reconciler`` back with
``_RECONCILER_COMPLETE=<shell>_complete`` and the words typed so far. The tests use that protocol, and for bash
also source the generated script in a real bash and call its function, as bash itself would on a Tab.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest

from reconciler import cli
from tests.support import ROOT

SCRIPT = Path(sys.executable).parent / "reconciler"
# Every subcommand the group has (the lazily imported emulator too), and at least these.
COMMANDS = set(cli.cli.list_commands(click.Context(cli.cli)))
assert {"apply", "emulator", "fmt", "import", "plan", "schema", "show", "validate"} <= COMMANDS
FORMATS = ["text", "json", "markdown"]
FUNCTIONS = {"bash": "_reconciler_completion", "zsh": "#compdef reconciler", "fish": "complete --no-files"}


def _complete(shell: str, words: str, cword: str) -> list[str]:
    env = {**os.environ, "_RECONCILER_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": cword}
    done = subprocess.run([SCRIPT], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _values(shell: str, lines: list[str]) -> set[str]:
    """The offered words, out of each shell's answer format."""
    if shell == "zsh":  # triples: type, value, help
        return {lines[index + 1] for index in range(0, len(lines), 3) if lines[index] == "plain"}
    return {line.split(",", 1)[1].split("\t", 1)[0] for line in lines if line.startswith("plain,")}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_gets_a_completion_script(shell: str) -> None:
    env = {**os.environ, "_RECONCILER_COMPLETE": f"{shell}_source"}
    done = subprocess.run([SCRIPT], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert FUNCTIONS[shell] in done.stdout
    assert "_RECONCILER_COMPLETE" in done.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_shell_completes_subcommands_and_format_values(shell: str) -> None:
    # bash and zsh send the index of the word being completed; fish sends that word itself.
    first = _complete(shell, "reconciler ", "" if shell == "fish" else "1")
    assert _values(shell, first) == COMMANDS
    shown = _complete(shell, "reconciler sh", "sh" if shell == "fish" else "1")
    assert _values(shell, shown) == {"show"}
    for command in ("plan", "show"):
        formats = _complete(shell, f"reconciler {command} --format ", "" if shell == "fish" else "3")
        assert _values(shell, formats) == set(FORMATS), command


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_bash_script_completes_in_bash_itself() -> None:
    program = (
        'eval "$(_RECONCILER_COMPLETE=bash_source reconciler)"\n'
        "COMP_WORDS=(reconciler plan --format ''); COMP_CWORD=3\n"
        '_reconciler_completion reconciler; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{SCRIPT.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", program], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == FORMATS


def test_version_is_the_project_s() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    done = subprocess.run([SCRIPT, "--version"], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"reconciler, version {version}\n"
