"""Renderers show a plan as it is: Terraform's signs, before → after, the calls, the counts; secrets as fingerprints."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest

from reconciler.desired import jobs
from reconciler.planning import diffs, planner, plans, redaction, references, states
from reconciler.rendering import document, text, values

from .helpers import manifest, s3_wire, wire_job

SECRET = "SENTINEL-new-secret-id"


def _inputs(spec: dict[str, Any], server: dict[str, Any] | None, job_id: str, environ: dict[str, str]) -> plans.Inputs:
    wanted = jobs.from_manifest(manifest(spec, job_id=job_id))
    resolved, _ = references.resolve(wanted, environ)
    current = states.from_api(server) if server is not None else None
    return plans.Inputs(
        resolved, current, f"jobs/{job_id}.yaml:3", references.sensitive_paths(wanted), declared=wanted.units
    )


@pytest.fixture
def plan(key: bytes) -> plans.Plan:
    update = _inputs(
        {
            "name": "Nightly renders",
            "dataSource": {
                "dataSourceDescriptor": "aws",
                "params": {"name": "in.csv", "bucketName": "b", "cloudRegion": "r", "secretId": "${env:SECRET_ID}"},
            },
            "params": {"app": {"sizes": [1, 2, 3], "mode": "fast"}},
            "config": {"taskTimeout": 600},
        },
        wire_job(
            "upd",
            name="Old renders",
            dataSource=s3_wire(name="in.csv", bucketName="b", cloudRegion="r", secretId="SENTINEL-old-secret-id"),
            params={"app": {"sizes": [1.0, 5.0, 3.0], "old": True}},
            config={"taskTimeout": "3600", "jobTimeout": "0", "isTestJob": False},
        ),
        "upd",
        {"SECRET_ID": SECRET},
    )
    blocked = _inputs({"name": "Wanted"}, wire_job("blk", name="Running", state="JOB_STATE_STARTED"), "blk", {})
    missing = _inputs({"name": "Ghost"}, None, "err", {})
    same = _inputs({"name": "Same"}, wire_job("same", name="Same"), "same", {})
    return planner.build([update, blocked, missing, same], key, plans.Requests(reads=4, writes=0, retries=1))


def rendered(plan: plans.Plan) -> list[str]:
    out = io.StringIO()
    text.render_plan(plan, out)
    return out.getvalue().splitlines()


# --- text -------------------------------------------------------------------------------------------------


def test_each_job_has_a_head_line_with_its_sign_name_and_source(plan: plans.Plan) -> None:
    head = re.compile(r"^(?P<sign>\S) (?:\w+ )?job (?P<id>\S+)  (?P<name>\S.*)  \((?P<source>[^)]+)\)$")
    heads = [match.groupdict() for match in map(head.match, rendered(plan)) if match]
    # Errors first, then blocked jobs, then updates: what needs attention is read first.
    assert heads == [
        {"sign": "x", "id": "err", "name": '"Ghost"', "source": "jobs/err.yaml:3"},
        {"sign": "!", "id": "blk", "name": '"Wanted"', "source": "jobs/blk.yaml:3"},
        {"sign": "~", "id": "upd", "name": '"Nightly renders"', "source": "jobs/upd.yaml:3"},
    ]


def test_changes_read_with_signs_and_before_arrow_after(plan: plans.Plan) -> None:
    lines = rendered(plan)
    for expected in (
        '    ~ name: "Old renders" → "Nightly renders"',
        '    + params.app.mode: "fast"',
        "    - params.app.old: true",
        "    ~ params.app.sizes[1]: 5 → 2",
        "    ~ config.taskTimeout: 3600 → 600",
    ):
        assert expected in lines


def test_calls_are_listed_one_per_section(plan: plans.Plan) -> None:
    calls = [line.strip() for line in rendered(plan) if line.strip().startswith("→")]
    assert calls == [
        "→ PATCH /jobs/upd/jobname",
        "→ PATCH /jobs/upd/datasource",
        "→ PATCH /jobs/upd/params",
        "→ PATCH /jobs/upd/configs",
    ]


def test_blocked_and_error_jobs_say_why(plan: plans.Plan) -> None:
    lines = rendered(plan)
    blocked = next(line for line in lines if line.strip().startswith("blocked:"))
    assert "JOB_STATE_STARTED" in blocked
    assert "nothing will be written" in blocked
    assert any(line.strip().startswith("error: job err does not exist") for line in lines)


def test_unchanged_jobs_are_counted_not_listed(plan: plans.Plan) -> None:
    lines = rendered(plan)
    assert "  = 1 job unchanged" in lines
    assert not any("job same" in line for line in lines)


def test_the_summary_counts_everything(plan: plans.Plan) -> None:
    summary = rendered(plan)[-1]
    assert summary.startswith("Plan: 1 to update (4 calls), 1 blocked, 1 error, 1 unchanged.")
    assert summary.endswith("Requests: 4 reads, 0 writes, 1 retry.")


def test_a_changed_secret_is_shown_as_two_fingerprints(plan: plans.Plan) -> None:
    lines = rendered(plan)
    (line,) = [line for line in lines if "dataSource.params.secretId" in line]
    match = re.fullmatch(
        r"    ~ dataSource\.params\.secretId: \(sensitive value changed: ([0-9a-f]{12}) → ([0-9a-f]{12})\)", line
    )
    assert match is not None, line
    assert match.group(1) != match.group(2)
    assert "SENTINEL" not in "\n".join(lines)


def test_a_plan_with_nothing_to_do(key: bytes) -> None:
    plan = planner.build([_inputs({"name": "Same"}, wire_job(name="Same"), "a", {})], key)
    assert rendered(plan) == ["  = 1 job unchanged", "", text.summary(plan)]
    assert text.summary(plan).startswith("Plan: 0 to update (0 calls), 0 blocked, 0 errors, 1 unchanged.")


def test_a_partial_plan_says_so(plan: plans.Plan) -> None:
    assert text.summary(plan, partial=True).startswith("Plan (partial: only the selected manifests): ")


def test_a_style_colours_the_signs(plan: plans.Plan) -> None:
    out = io.StringIO()
    text.render_plan(plan, out, style=lambda words, colour: f"<{colour}>{words}</{colour}>")
    assert re.search(r"<yellow>~ (\w+ )?job upd</yellow>", out.getvalue())
    assert "<green>+</green> params.app.mode" in out.getvalue()


# --- JSON -------------------------------------------------------------------------------------------------


def test_the_json_document_has_version_summary_and_jobs(plan: plans.Plan) -> None:
    doc = json.loads(json.dumps(document.plan_document(plan)))
    assert doc["format_version"] == 1
    assert doc["kind"] == "plan"
    assert doc["partial"] is False
    counted = ("update", "blocked", "error", "unchanged", "calls")
    assert {name: doc["summary"][name] for name in counted} == {
        "update": 1,
        "blocked": 1,
        "error": 1,
        "unchanged": 1,
        "calls": 4,
    }
    assert doc["requests"] == {"reads": 4, "writes": 0, "retries": 1}
    assert [(job["id"], job["action"]) for job in doc["jobs"]] == [
        ("upd", "update"),
        ("blk", "blocked"),
        ("err", "error"),
        ("same", "unchanged"),
    ]


def test_json_changes_omit_the_missing_side(plan: plans.Plan) -> None:
    doc = document.plan_document(plan)
    changes = {change["path"]: change for change in doc["jobs"][0]["changes"]}
    added, removed, changed = changes["params.app.mode"], changes["params.app.old"], changes["params.app.sizes[1]"]
    assert (added["kind"], added["after"], "before" in added) == ("add", "fast", False)
    assert (removed["kind"], removed["before"], "after" in removed) == ("remove", True, False)
    assert (changed["kind"], changed["before"], changed["after"]) == ("change", 5, 2)


def test_json_calls_carry_method_path_and_body(plan: plans.Plan) -> None:
    calls = document.plan_document(plan)["jobs"][0]["calls"]
    assert [(call["method"], call["section"], call["path"]) for call in calls] == [
        ("PATCH", "jobname", "/jobs/upd/jobname"),
        ("PATCH", "datasource", "/jobs/upd/datasource"),
        ("PATCH", "params", "/jobs/upd/params"),
        ("PATCH", "configs", "/jobs/upd/configs"),
    ]
    assert calls[0]["body"] == "Nightly renders"
    assert calls[2]["body"] == {"app": {"sizes": [1, 2, 3], "mode": "fast"}}


def test_json_shows_secrets_as_fingerprints(plan: plans.Plan) -> None:
    doc = document.plan_document(plan)
    changes = {change["path"]: change for change in doc["jobs"][0]["changes"]}
    secret = changes["dataSource.params.secretId"]
    for side in ("before", "after"):
        assert set(secret[side]) == {"sensitive", "fingerprint"}
        assert secret[side]["sensitive"] is True
        assert re.fullmatch(r"[0-9a-f]{12}", secret[side]["fingerprint"])
    body = doc["jobs"][0]["calls"][1]["body"]["dataSource"]["params"]["secretId"]
    assert body == secret["after"]
    out = io.StringIO()
    document.write(doc, out)
    assert "SENTINEL" not in out.getvalue()
    assert json.loads(out.getvalue()) == json.loads(json.dumps(doc))


# --- values -----------------------------------------------------------------------------------------------


def test_absent_and_sensitive_values_read_in_words() -> None:
    assert values.shown(diffs.ABSENT) == "(absent)"
    assert values.shown(redaction.Sensitive("0123456789ab")) == "(sensitive 0123456789ab)"
    assert redaction.as_json({"a": [redaction.Sensitive("ab")]}) == {"a": [{"sensitive": True, "fingerprint": "ab"}]}


def test_long_values_are_cut(key: bytes) -> None:
    long = values.shown("x" * 500)
    assert len(long) == values.MAX_VALUE_CHARS
    assert long.endswith("…")
    assert values.shown({"a": 1, "b": "é"}) == '{"a": 1, "b": "é"}'


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (diffs.Change(("name",), diffs.ABSENT, "N"), ("+", 'name: "N"')),
        (diffs.Change(("params", "app", "a"), 1, diffs.ABSENT), ("-", "params.app.a: 1")),
        (diffs.Change(("params", "app", "a"), True, 1), ("~", "params.app.a: true → 1")),
        (diffs.Change(("params", "app", "a"), "1", 1), ("~", 'params.app.a: "1" → 1')),
        (
            diffs.Change(
                ("params", "app", "t"), redaction.Sensitive("aaaaaaaaaaaa"), redaction.Sensitive("bbbbbbbbbbbb")
            ),
            ("~", "params.app.t: (sensitive value changed: aaaaaaaaaaaa → bbbbbbbbbbbb)"),
        ),
        (
            diffs.Change(("params", "app", "t"), diffs.ABSENT, redaction.Sensitive("bbbbbbbbbbbb")),
            ("+", "params.app.t: (sensitive bbbbbbbbbbbb)"),
        ),
    ],
)
def test_change_lines(change: diffs.Change, expected: tuple[str, str]) -> None:
    assert values.change_line(change) == expected
