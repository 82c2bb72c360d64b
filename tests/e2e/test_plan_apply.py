"""plan and apply through the CLI against the emulator on loopback: the product's main promises."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.support import EXAMPLES, SEED, Control

NIGHTLY = "7728ba38-f0a0-4319-ae28-07734448a334"
LAUNCHED = "e2b8d4f6-1c3a-4e5b-8d7f-9a0b1c2d3e4f"
UNCHANGED = "5f0c2d9e-7a44-4e51-b2d8-1c6e9a0b3f27"
# The sections each seeded draft differs in from its manifest (see examples/emulator/seed.yaml).
EXPECTED_WRITES = {
    ("PATCH", f"/v1/customer/jobs/{NIGHTLY}/jobname"),
    ("PATCH", f"/v1/customer/jobs/{NIGHTLY}/params"),
    ("PATCH", f"/v1/customer/jobs/{NIGHTLY}/configs"),
    ("PATCH", "/v1/customer/jobs/0b7e4a52-93a1-4d2c-9f0e-5c1d2b3a4f61/datasource"),
    ("PATCH", "/v1/customer/jobs/0b7e4a52-93a1-4d2c-9f0e-5c1d2b3a4f61/params"),
    ("PATCH", "/v1/customer/jobs/d513134b-9676-5129-b330-8dd336a48e5a/params"),
    ("PATCH", "/v1/customer/jobs/c41f7e20-6b3a-4d8e-9c15-a2f0e7d6b384/params"),
    ("PATCH", "/v1/customer/jobs/9a3d6c1b-2e8f-4b7a-a5c4-0d9e8f7a6b51/datasource"),
}


def test_plan_shows_each_changed_field_and_the_calls(emulator: Control, run: Any) -> None:
    emulator.seed_file(SEED)
    outcome = run("plan", "examples/jobs")
    assert outcome.exit_code == 0, outcome.stderr
    out = outcome.stdout
    assert '~ name: "Nightly renders (old)" → "Nightly renders"' in out
    assert "~ params.partitioner.num_replicas: 2 → 4" in out
    assert '+ params.app.sizes[1]: {"width": 512, "height": 768}' in out
    assert "~ config.taskTimeout: 600 → 3600" in out
    assert f"→ PATCH /jobs/{NIGHTLY}/configs" in out
    assert "Plan: 5 to update (8 calls), 1 blocked, 0 errors, 1 unchanged." in out
    assert "Requests: 1 read, 0 writes, 0 retries." in out  # one page of GET /jobs beats seven GETs
    assert emulator.writes() == []


def test_apply_sends_one_patch_per_changed_section_then_plan_is_empty(emulator: Control, run: Any) -> None:
    emulator.seed_file(SEED)
    emulator.clear_log()
    applied = run("apply", "examples/jobs", "--auto-approve")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    writes = emulator.writes()
    assert sorted(writes) == sorted(EXPECTED_WRITES)  # exactly these, each once
    exchanges = [r for r in emulator.requests() if r["path"].endswith("/access_token")]
    assert len(exchanges) == 1  # the plan's token serves the apply too: one key exchange per run
    assert "Apply complete: 8 done, 1 blocked." in applied.stdout

    emulator.clear_log()
    again = run("plan", "examples/jobs", "--detailed-exitcode")
    assert again.exit_code == 3, again.stdout  # only the blocked job differs
    assert "0 to update (0 calls)" in again.stdout

    noop = run("apply", "examples/jobs", "--auto-approve")
    assert noop.exit_code == 0
    assert "Nothing to do." in noop.stdout
    assert emulator.writes() == []


def test_undeclared_units_survive_a_replacing_patch(emulator: Control, run: Any) -> None:
    emulator.seed_file(SEED)
    assert run("apply", "examples/jobs", "--auto-approve").exit_code == 0
    transcode = emulator.job("0b7e4a52-93a1-4d2c-9f0e-5c1d2b3a4f61")
    # The manifest declares only params.app: partitioner and assembler were re-sent as the server had them.
    assert transcode["params"]["partitioner"] == {"chunk_seconds": 10.0}
    assert transcode["params"]["assembler"] == {"container": "mp4"}
    assert transcode["params"]["app"]["bitrate_kbps"] == 6000.0


def test_blocked_job_is_shown_with_its_state_and_never_written(emulator: Control, run: Any) -> None:
    emulator.seed_file(SEED)
    before = emulator.job(LAUNCHED)
    outcome = run("apply", "examples/jobs", "--auto-approve")
    assert "blocked: job is JOB_STATE_PARTITIONING" in outcome.stdout
    assert not [w for w in emulator.writes() if LAUNCHED in w[1]]
    assert emulator.job(LAUNCHED)["params"] == before["params"]


def test_invalid_manifest_anywhere_sends_nothing(emulator: Control, run: Any, tmp_path: Path) -> None:
    emulator.seed_file(SEED)
    emulator.clear_log()
    shutil.copytree(EXAMPLES, tmp_path / "jobs")
    bad = tmp_path / "jobs" / "zz-bad.yaml"
    bad.write_text(
        "apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata: {id: x1}\nspec:\n  config: {taskTimout: 5}\n"
    )
    for command in (["plan"], ["apply", "--auto-approve"]):
        outcome = run(*command, str(tmp_path / "jobs"))
        assert outcome.exit_code == 1
        assert f"{bad}:5:12: unknown key 'taskTimout' (did you mean 'taskTimeout'?)" in outcome.stderr
        assert "nothing was sent to the API" in outcome.stderr
    assert emulator.counters()["total"] == 0  # not even a token exchange


def test_missing_job_without_a_template_is_an_error_and_apply_writes_nothing(emulator: Control, run: Any) -> None:
    jobs = emulator.seed_file(SEED)
    emulator.reset(faults=False)
    emulator.seed([job for job in jobs if job["id"] != UNCHANGED])  # its manifest has no templateId
    planned = run("plan", "examples/jobs")
    assert planned.exit_code == 1
    assert f"x error job {UNCHANGED}" in planned.stdout
    assert f"error: job {UNCHANGED} does not exist; give spec.templateId to create it" in planned.stdout
    assert "5 to update" in planned.stdout  # the other jobs are still planned and shown
    applied = run("apply", "examples/jobs", "--auto-approve")
    assert applied.exit_code == 1
    assert emulator.writes() == []


def test_apply_outside_a_terminal_needs_auto_approve(emulator: Control, run: Any) -> None:
    emulator.seed_file(SEED)
    outcome = run("apply", "examples/jobs", stdin="yes\n")
    assert outcome.exit_code == 1
    assert "--auto-approve" in outcome.stderr
    assert emulator.writes() == []


def test_detailed_exit_codes_and_json(emulator: Control, run: Any) -> None:
    emulator.seed_file(SEED)
    changes = run("plan", "examples/jobs", "--detailed-exitcode", "--exclude", LAUNCHED)
    assert changes.exit_code == 2
    assert "(partial: only the selected manifests)" in changes.stdout
    clean = run("plan", "examples/jobs", "--detailed-exitcode", "--target", UNCHANGED)
    assert clean.exit_code == 0
    document = run("plan", "examples/jobs", "--format", "json").json()
    assert document["format_version"] == 1
    assert document["summary"] == {
        "create": 0,
        "update": 5,
        "launch": 0,
        "replace": 0,
        "prune": 0,
        "destructive": 0,
        "blocked": 1,
        "error": 0,
        "unchanged": 1,
        "orphan": 0,
        "calls": 8,
    }
    nightly = next(job for job in document["jobs"] if job["id"] == NIGHTLY)
    timeout = next(change for change in nightly["changes"] if change["path"] == "config.taskTimeout")
    assert timeout == {
        "path": "config.taskTimeout",
        "segments": ["config", "taskTimeout"],
        "kind": "change",
        "before": 600,
        "after": 3600,
    }
    markdown = run("plan", "examples/jobs", "--format", "markdown").stdout
    assert "| ~ | `config.taskTimeout` (line 22) | `600` | `3600` |" in markdown  # nightly-renders.yaml:22
    assert [call["section"] for call in nightly["calls"]] == ["jobname", "params", "configs"]


def test_a_secret_never_reaches_the_output(emulator: Control, run: Any, env: dict[str, str]) -> None:
    emulator.seed_file(SEED)
    for args in (["plan", "examples/jobs"], ["plan", "examples/jobs", "--format", "json"]):
        outcome = run(*args)
        for secret in (
            "E2E-ROTATED-ACCESS-KEY",
            "DEMO-OLD-ACCESS-KEY",
            "demo-legacy-secret-key",
            env["BYTENITE_API_KEY"],
        ):
            assert secret not in outcome.stdout + outcome.stderr
    text = run("plan", "examples/jobs").stdout
    assert "dataSource.params.accessKey: (sensitive value changed: " in text


def test_a_program_that_embeds_the_tool_keeps_its_collector(emulator: Control, run: Any) -> None:
    """Only the entry point, which owns the process, freezes the prepared manifests out of the collector; a
    run through ``cli`` (as this fixture's is) leaves the host's collector as the host set it."""
    import gc

    emulator.seed_file(SEED)
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
    outcome = run("plan", "examples/jobs")
    assert outcome.exit_code == 0, outcome.stderr
    assert (gc.get_freeze_count(), gc.get_threshold()) == (frozen, thresholds)


def test_the_entry_point_pauses_the_collector_only_while_preparing(
    emulator: Control, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Preparing forms no cycle worth the collector's walks; the HTTP phases do (about 90 objects a request),
    so the collector is on again before the first one."""
    import gc

    from reconciler import pipeline
    from reconciler.api import fetching
    from reconciler.cli import commands

    emulator.seed_file(SEED)
    seen: dict[str, bool] = {}
    real_prepare, real_fetch = pipeline.prepare, fetching.fetch

    def prepare(*args: Any, **kwargs: Any) -> Any:
        seen["preparing"] = gc.isenabled()
        return real_prepare(*args, **kwargs)

    async def fetch(*args: Any, **kwargs: Any) -> Any:
        seen["fetching"] = gc.isenabled()
        return await real_fetch(*args, **kwargs)

    monkeypatch.setattr(pipeline, "prepare", prepare)
    monkeypatch.setattr(fetching, "fetch", fetch)
    thresholds = gc.get_threshold()
    try:
        with pytest.raises(SystemExit) as exited:
            commands.main(["plan", "examples/jobs"])
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    assert exited.value.code == 0
    assert seen == {"preparing": False, "fetching": True}
    assert gc.isenabled()
