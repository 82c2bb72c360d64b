"""``show PLANFILE``: a saved plan rendered again, byte for byte as ``plan`` printed it, with no key and no request."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests import github_comments
from tests.e2e import generated
from tests.support import API_KEY, SEED, Control

FORMATS = ["text", "json", "markdown"]
GITHUB = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/jobs", "GITHUB_SHA": "0123abcd" * 5}


def _planned_then_shown(
    run: Any, emulator: Control, monkeypatch: pytest.MonkeyPatch, paths: list[str], planfile: Path, *args: str
) -> tuple[str, str]:
    """What ``plan --format output`` printed, and what ``show`` prints from its file with no key in sight."""
    output, *extra = args
    planned = run("plan", *paths, "--format", output, "--out", str(planfile), *extra)
    assert planned.exit_code == 0, planned.stderr
    emulator.clear_log()
    monkeypatch.delenv("BYTENITE_API_KEY")
    monkeypatch.setenv("BYTENITE_API_URL", "http://127.0.0.1:9/v1")  # nothing listens: a request would fail
    shown = run("show", str(planfile), "--format", output, *[flag for flag in extra if flag == "--full-values"])
    assert shown.exit_code == 0, shown.stderr
    assert emulator.requests() == [], "show sent a request"
    return planned.stdout, shown.stdout


@pytest.mark.parametrize("output", FORMATS)
def test_show_prints_the_examples_plan_as_plan_did(
    output: str, emulator: Control, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in GITHUB.items():
        monkeypatch.setenv(name, value)
    emulator.seed_file(SEED)
    planned, shown = _planned_then_shown(run, emulator, monkeypatch, ["examples/jobs"], tmp_path / "p.json", output)
    assert shown == planned
    assert "update" in planned
    if output == "markdown":
        assert f"{GITHUB['GITHUB_SERVER_URL']}/acme/jobs/blob/{GITHUB['GITHUB_SHA']}/examples/jobs/" in shown
        assert "#L" in shown, "the saved plan lost the manifest lines"


@pytest.mark.parametrize("output", FORMATS)
def test_show_prints_a_drift_report_and_full_values_as_plan_did(
    output: str, emulator: Control, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.seed_file(SEED)
    planned, shown = _planned_then_shown(
        run, emulator, monkeypatch, ["examples/jobs"], tmp_path / "d.json", output, "--drift", "--full-values"
    )
    assert shown == planned
    assert "drift" in planned.lower()


@pytest.mark.parametrize("output", FORMATS)
def test_show_prints_a_2000_job_plan_as_plan_did(
    output: str, emulator: Control, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = generated.fleet(emulator, tmp_path / "jobs", 2000)
    planned, shown = _planned_then_shown(run, emulator, monkeypatch, [str(folder)], tmp_path / "p.json", output)
    assert shown == planned
    if output == "markdown":
        assert "**Truncated:**" in shown  # the comment-size budget applies to show as to plan


def _refused(run: Any, path: Path) -> str:
    outcome = run("show", str(path))
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_show_refuses_what_is_not_a_plan_file_in_one_line(run: Any, tmp_path: Path) -> None:
    cases = {
        "manifest.yaml": "apiVersion: reconciler.bytenite.io/v1\nkind: Job\n",
        "no-version.json": json.dumps({"kind": "plan", "jobs": []}),
        "future.json": json.dumps({"format_version": 2, "kind": "plan", "jobs": []}),
        "bool-version.json": json.dumps({"format_version": True, "kind": "plan", "jobs": []}),
        "list.json": "[1, 2]",
    }
    for name, content in cases.items():
        (tmp_path / name).write_text(content)
        assert str(tmp_path / name) in _refused(run, tmp_path / name)
    assert "format_version 2; this reconciler reads 1" in _refused(run, tmp_path / "future.json")
    assert "not a readable JSON plan file" in _refused(run, tmp_path / "missing.json")


def test_show_refuses_an_apply_report_and_a_tampered_plan(
    emulator: Control, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.seed_file(SEED)
    report = run("apply", "examples/jobs", "--auto-approve", "--format", "json")
    assert report.exit_code == 0, report.stderr
    (tmp_path / "report.json").write_text(report.stdout)
    assert "kind" in _refused(run, tmp_path / "report.json")
    saved = tmp_path / "plan.json"
    emulator.seed_file(SEED)
    assert run("plan", "examples/jobs", "--out", str(saved)).exit_code == 0
    document = json.loads(saved.read_text())
    updated = next(job for job in document["jobs"] if job["calls"])
    updated["calls"][0]["method"] = "DELETE"  # what apply would refuse is not shown for review either
    saved.write_text(json.dumps(document))
    assert "refused whole" in _refused(run, saved)


def test_the_comment_ci_posts_reads_on_github_with_commit_links(
    emulator: Control, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recipe's comment (``show --format markdown`` of the saved plan), as github.com renders it."""
    for name, value in GITHUB.items():
        monkeypatch.setenv(name, value)
    emulator.seed_file(SEED)
    planned = run("plan", "examples/jobs", "--out", str(tmp_path / "p.json"))  # as the recipes plan: text
    assert planned.exit_code == 0, planned.stderr
    monkeypatch.delenv("BYTENITE_API_KEY")
    shown = run("show", str(tmp_path / "p.json"), "--format", "markdown")
    page = github_comments.read(shown.stdout)
    assert page.headings[0] == ("h3", "ByteNite plan: 5 to update (8 calls) · 1 blocked · 0 errors · 1 unchanged")
    assert page.opened == page.closed == 6
    commit = f"https://github.com/acme/jobs/blob/{GITHUB['GITHUB_SHA']}/examples/jobs/"
    for block in page.blocks:
        assert block.links, block.summary.text
        assert all(re.fullmatch(re.escape(commit) + r"[a-z/-]+\.yaml#L\d+", link) for link in block.links), block.links
        assert len(block.links) == 1 + len(block.rows)  # the manifest, then one link a changed field
        assert all(len(row) == 4 for row in block.rows)


@pytest.mark.parametrize("output", FORMATS)
def test_show_prints_an_environment_s_plan_as_plan_did(
    output: str, emulator: Control, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BYTENITE_DEV_API_KEY", API_KEY)
    args = ["--env", "dev", "--api-url", os.environ["BYTENITE_API_URL"], "examples/project/jobs"]
    planned, shown = _planned_then_shown(run, emulator, monkeypatch, args, tmp_path / "p.json", output)
    assert shown == planned
    assert "dev" in planned
    if output == "markdown":
        assert "### ByteNite plan for environment `dev`: 1 to create · 0 to update (1 call)" in shown
