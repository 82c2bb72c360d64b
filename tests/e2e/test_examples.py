"""Every file in examples/ is exercised: the demo runs, CI recipes name real commands and flags."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from ruamel.yaml import YAML

from reconciler import cli
from tests.support import ROOT

GITHUB_RECIPE = ROOT / "examples/ci/github-actions.yml"
RECIPES = [ROOT / "examples/ci/gitlab-ci.yml", ROOT / ".pre-commit-hooks.yaml"]


def _command_lines(path: Path) -> list[list[str]]:
    """Every `reconciler ...` invocation in a recipe, as argument lists (shell redirections dropped)."""
    found = []
    for match in re.finditer(r"(?:^|[\s\"'])reconciler ([^\n|>&;]*)", path.read_text()):
        words = shlex.split(match.group(1).split("||")[0])
        if words and words[0] in cli.cli.list_commands(click.Context(cli.cli)):
            found.append(words)
    return found


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda path: path.name)
def test_ci_recipes_parse_and_use_real_commands_and_flags(recipe: Path) -> None:
    YAML(typ="safe").load(recipe.read_text())
    lines = _command_lines(recipe)
    assert lines, f"no reconciler command found in {recipe}"
    for words in lines:
        command = cli.cli.get_command(click.Context(cli.cli), words[0])
        assert command is not None
        arguments = list(words[1:])
        if not any(not word.startswith("-") for word in arguments):
            arguments.append("jobs/")
        command.make_context(words[0], arguments, resilient_parsing=False)  # raises on an unknown flag


def test_the_readme_demo_plans_applies_and_converges() -> None:
    outcome = subprocess.run(
        [sys.executable, "scripts/demo.py"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr
    assert "Apply complete: 8 done, 1 blocked." in outcome.stdout
    assert "0 to update (0 calls), 1 blocked, 0 errors, 6 unchanged" in outcome.stdout
    assert "DEMO-ROTATED-ACCESS-KEY" not in outcome.stdout + outcome.stderr


def test_the_github_recipe_uses_the_action_with_real_commands_and_flags() -> None:
    """The GitHub recipe runs the tool through ``action.yml``: each use names a command the action knows, and its
    ``args`` are flags of that command (``tests/e2e/test_action.py`` lints the inputs themselves)."""
    recipe = YAML(typ="safe").load(GITHUB_RECIPE.read_text())
    uses = [step for job in recipe["jobs"].values() for step in job["steps"] if step.get("uses") == "OWNER/REPO@REF"]
    assert len(uses) >= 3
    for step in uses:
        inputs = step.get("with", {})
        command = cli.cli.get_command(click.Context(cli.cli), inputs.get("command", "plan"))
        assert command is not None
        assert command.name in {"validate", "plan", "apply"}
        command.make_context(command.name, [*shlex.split(inputs.get("args", "")), "jobs/"], resilient_parsing=False)
    assert "pip install" not in GITHUB_RECIPE.read_text()  # the action installs the tool from its own checkout


def test_the_gitlab_recipe_installs_from_the_repository_not_an_unpublished_name() -> None:
    """``bytenite-reconciler`` is not on PyPI: a recipe that pip-installs that name fails on its first line."""
    text = RECIPES[0].read_text()
    installs = re.findall(r"pip install (\S+)", text)
    assert installs
    assert all(target == '"$RECONCILER_SOURCE"' for target in installs), installs
    assert 'RECONCILER_SOURCE: "git+https://github.com/OWNER/REPO@REF"' in text


def test_pre_commit_hooks_match_manifests_not_every_yaml_file() -> None:
    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    for hook in hooks:
        pattern = re.compile(hook["files"])
        assert pattern.search("jobs/media/nightly.yaml"), hook["id"]
        assert pattern.search("manifests/a.yml"), hook["id"]
        assert not pattern.search(".github/workflows/ci.yml"), hook["id"]
        assert not pattern.search("docker-compose.yaml"), hook["id"]
