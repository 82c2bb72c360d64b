"""The GitHub Action (``action.yml``) and the CI recipes: linted as GitHub and GitLab would read them, and the
action's command step run for real against the emulator.

Linters, all installed by ``scripts/install.sh`` from the test extra, all offline:
- actionlint (with shellcheck on every ``run:`` script) on the GitHub recipe, the README's example and the
  action. actionlint reads workflows, not action metadata, so the action's steps are checked as the steps of a
  workflow built from them (its inputs become ``workflow_dispatch`` inputs, its outputs the job's outputs),
  and the recipes are checked in a scratch repository where ``uses: OWNER/REPO@REF`` becomes ``uses: ./``, so
  actionlint compares every ``with:`` and every ``steps.*.outputs`` against the real ``action.yml``.
- check-jsonschema with its bundled (vendored) schemas: GitHub's action metadata, GitHub workflows, GitLab CI.
Each check is also run on a deliberately broken copy, which must fail: a linter that passes everything would
otherwise pass here too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.support import API_KEY, ROOT, SEED, Control

BIN = Path(sys.executable).parent
ACTION = ROOT / "action.yml"
RUN_SCRIPT = ROOT / "action" / "run.sh"
GITHUB_RECIPE = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB_RECIPE = ROOT / "examples" / "ci" / "gitlab-ci.yml"
PLACEHOLDER = "OWNER/REPO@REF"


def _tool(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is missing: scripts/install.sh installs it from the test extra"
    return str(path)


def _run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}  # actionlint finds shellcheck here
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def _yaml() -> YAML:
    yaml = YAML()
    yaml.width = 4096
    return yaml


def _as_workflow(action: dict[str, Any]) -> dict[str, Any]:
    """The action's composite steps as one job of a workflow, so actionlint checks their expressions, step ids,
    the inputs of the actions they use and (through shellcheck) their scripts."""
    inputs = {name: {"description": str(spec.get("description", "")), "type": "string", "required": False}
              for name, spec in action["inputs"].items()}  # fmt: skip
    outputs = {name: str(spec["value"]) for name, spec in action["outputs"].items()}
    job = {"runs-on": "ubuntu-latest", "outputs": outputs, "steps": list(action["runs"]["steps"])}
    return {"name": "action.yml as a workflow", "on": {"workflow_dispatch": {"inputs": inputs}}, "jobs": {"a": job}}


def _scratch_repository(folder: Path, action_text: str, workflows: dict[str, str]) -> Path:
    """A git repository holding the action at its root and ``workflows``, which may use it as ``./``."""
    folder.mkdir()
    assert _run("git", "init", "-q", str(folder)).returncode == 0
    (folder / "action.yml").write_text(action_text)
    (folder / ".github" / "workflows").mkdir(parents=True)
    for name, text in workflows.items():
        (folder / ".github" / "workflows" / name).write_text(text.replace(PLACEHOLDER, "./"))
    return folder


def _actionlint(folder: Path, action_text: str, workflows: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import io

    repository = _scratch_repository(folder, action_text, workflows)
    synthesized = io.StringIO()
    _yaml().dump(_as_workflow(YAML(typ="safe").load(action_text)), synthesized)
    (repository / ".github" / "workflows" / "action-steps.yml").write_text(synthesized.getvalue())
    return _run(_tool("actionlint"), "-oneline", "-shellcheck", _tool("shellcheck"), cwd=repository)


def _readme_workflow() -> str:
    """The README's example workflow: the YAML block that uses the action."""
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)
    using = [block for block in blocks if PLACEHOLDER in block and "jobs:" in block]
    assert len(using) == 1, "the README shows one workflow that uses the action"
    return using[0]


def _workflows() -> dict[str, str]:
    return {"recipe.yml": GITHUB_RECIPE.read_text(), "readme.yml": _readme_workflow()}


# --- actionlint ----------------------------------------------------------------------------------------------------


def test_actionlint_passes_the_action_the_recipe_and_the_readme_example(tmp_path: Path) -> None:
    linted = _actionlint(tmp_path / "repo", ACTION.read_text(), _workflows())
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert shutil.which("git")


@pytest.mark.parametrize(
    ("where", "old", "new", "expected"),
    [
        ("action", "steps.run.outputs.failed == 'true'", "steps.runs.outputs.failed == 'true'", 'property "runs"'),
        ("action", 'run: bash "$GITHUB_ACTION_PATH/action/run.sh"', "run: cd $GITHUB_ACTION_PATH", "SC2086"),
        ("recipe", "comment: true", "coment: true", 'input "coment" is not defined'),
        ("recipe", "steps.plan.outputs.changes", "steps.plan.outputs.change", 'property "change" is not defined'),
        ("readme", "comment: true", "comments: true", 'input "comments" is not defined'),
    ],
)
def test_actionlint_fails_a_broken_copy(tmp_path: Path, where: str, old: str, new: str, expected: str) -> None:
    action, workflows = ACTION.read_text(), _workflows()
    if where == "action":
        assert old in action
        action = action.replace(old, new)
    else:
        name = f"{where}.yml"
        assert old in workflows[name]
        workflows[name] = workflows[name].replace(old, new)
    linted = _actionlint(tmp_path / "repo", action, workflows)
    assert linted.returncode != 0
    assert expected in linted.stdout, linted.stdout


def test_shellcheck_passes_the_action_s_script() -> None:
    checked = _run(_tool("shellcheck"), str(RUN_SCRIPT))
    assert checked.returncode == 0, checked.stdout


# --- check-jsonschema (its schemas are bundled with it: nothing is downloaded) ---------------------------------------

SCHEMAS = {"action": "vendor.github-actions", "github": "vendor.github-workflows", "gitlab": "vendor.gitlab-ci"}
FILES = {"action": ACTION, "github": GITHUB_RECIPE, "gitlab": GITLAB_RECIPE}
BREAKAGES = {
    "action": ("using: composite", "using: compose"),
    "github": ("contents: read", "contents: readonly"),
    "gitlab": ("when: manual", "when: sometimes"),
}


def _check_jsonschema(kind: str, path: Path) -> subprocess.CompletedProcess[str]:
    return _run(_tool("check-jsonschema"), "--builtin-schema", SCHEMAS[kind], str(path))


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_check_jsonschema_passes_the_action_and_the_recipes(kind: str) -> None:
    checked = _check_jsonschema(kind, FILES[kind])
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_check_jsonschema_fails_a_broken_copy(kind: str, tmp_path: Path) -> None:
    old, new = BREAKAGES[kind]
    text = FILES[kind].read_text()
    assert old in text
    broken = tmp_path / FILES[kind].name
    broken.write_text(text.replace(old, new, 1))
    checked = _check_jsonschema(kind, broken)
    assert checked.returncode != 0
    assert "Schema validation errors" in checked.stdout + checked.stderr


# --- what the action is and does -------------------------------------------------------------------------------------


def test_the_action_installs_from_its_own_checkout_and_declares_its_interface() -> None:
    action = YAML(typ="safe").load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    assert {"command", "paths", "api-url", "args", "comment"} <= set(action["inputs"])
    assert set(action["outputs"]) == {"exitcode", "plan-file", "changes"}
    install = action["runs"]["steps"][0]
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert 'pip install --quiet --disable-pip-version-check "$ACTION_PATH"' in install["run"]


def test_the_readme_shows_the_action_in_under_15_lines() -> None:
    lines = [line for line in _readme_workflow().splitlines() if line.strip()]
    assert len(lines) < 15, len(lines)


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def _step(tmp_path: Path, server_url: str, **inputs: str) -> dict[str, str]:
    """The action's command step, as the runner runs it: INPUT_* variables in, $GITHUB_OUTPUT out."""
    output = tmp_path / "github-output"
    output.write_text("")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(output),
        "RUNNER_TEMP": str(tmp_path),
        "INPUT_API_URL": server_url,
        "INPUT_API_KEY": API_KEY,
        "LEGACY_S3_ACCESS_KEY": "ACTION-ACCESS-KEY",
        "LEGACY_S3_SECRET_KEY": "action-secret-key",
        "CI": "true",
        **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
    }
    env.pop("BYTENITE_API_KEY", None)
    done = subprocess.run(["bash", str(RUN_SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr  # the step itself never fails: the action's last step does
    assert "ACTION-ACCESS-KEY" not in done.stdout + done.stderr + output.read_text()
    return _outputs(output)


def test_the_action_plans_comments_applies_and_reports_its_outputs(
    emulator: Control, server: Any, tmp_path: Path
) -> None:
    emulator.seed_file(SEED)
    plan_file = str(tmp_path / "plan.json")
    planned = _step(tmp_path, server.url, command="plan", paths="examples/jobs", plan_file=plan_file, comment="true")
    assert planned == {
        "exitcode": "3",  # the examples hold a blocked job, which outranks pending changes
        "plan-file": plan_file,
        "changes": "true",
        "comment-file": str(tmp_path / "bytenite-plan-comment.md"),
        "failed": "false",
    }
    comment = Path(planned["comment-file"]).read_text()
    assert comment.startswith("<!-- bytenite-reconciler:plan -->\n### ByteNite plan: 5 to update (8 calls)")
    assert emulator.writes() == []
    applied = _step(tmp_path, server.url, command="apply", paths=plan_file)
    assert applied == {"exitcode": "0", "plan-file": "", "changes": "false", "comment-file": "", "failed": "false"}
    assert len(emulator.writes()) == 8
    again = _step(tmp_path, server.url, command="plan", paths="examples/jobs", plan_file=plan_file, args="--drift")
    assert again["changes"] == "true"  # the blocked job still differs from its manifest
    assert again["comment-file"] == ""  # comment not asked for


def test_the_action_fails_on_an_error_and_on_an_unknown_command(emulator: Control, server: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "bad-unknown-key.yaml", bad)
    for command in ("validate", "plan"):
        outputs = _step(tmp_path, server.url, command=command, paths=str(bad), plan_file=str(tmp_path / "p.json"))
        assert outputs["exitcode"] == "1"
        assert outputs["failed"] == "true"
        assert outputs["plan-file"] == ""
    assert _step(tmp_path, server.url, command="destroy")["failed"] == "true"
    assert emulator.requests() == []
    assert _step(tmp_path, server.url, command="validate", paths="examples/jobs")["failed"] == "false"


def test_the_action_plans_one_project_environment_with_its_own_key_variable(
    emulator: Control, server: Any, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples" / "project", project)
    plan_file = str(tmp_path / "plan-prod.json")
    planned = _step(
        tmp_path, server.url, command="plan", paths=str(project / "jobs"), plan_file=plan_file, comment="true",
        environment="prod", api_key_variable="BYTENITE_PROD_API_KEY",
    )  # fmt: skip
    assert planned["exitcode"] == "2", planned  # the key reached the tool under prod's apiKeyEnv
    comment = Path(planned["comment-file"]).read_text()
    assert comment.startswith("<!-- bytenite-reconciler:plan env=prod -->")
    applied = _step(tmp_path, server.url, command="apply", paths=plan_file, environment="dev",
                    api_key_variable="BYTENITE_DEV_API_KEY")  # fmt: skip
    assert applied["failed"] == "true"  # a plan file made for prod is refused for dev
    assert emulator.writes() == []
    env = {**os.environ, "GITHUB_OUTPUT": str(tmp_path / "out"), "INPUT_API_KEY_VARIABLE": "A;B", "INPUT_API_KEY": "k"}
    bad = subprocess.run(["bash", str(RUN_SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1  # refused before running anything, and before anything is exported
    assert "api-key-variable must be a variable name" in bad.stdout
