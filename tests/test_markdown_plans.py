"""Markdown plans for pull-request comments: a snapshot, the size limit, and links to manifest lines."""

from __future__ import annotations

import io
import os
from pathlib import Path

from reconciler import plans, redaction, states
from reconciler.rendering import markdown

SNAPSHOT = Path(__file__).parent / "snapshots" / "plan.md"
KEY = redaction.fingerprint_key("fixed-test-key")


def _current(job_id: str, **units: object) -> states.Job:
    base: dict[str, object] = dict.fromkeys(states.UNITS)
    base["config.isTestJob"] = False
    return states.Job(
        job_id, {**base, **units}, template_id="tpl", lifecycle=str(units.pop("lifecycle", "JOB_STATE_NEW"))
    )


def _plan(count: int = 0) -> plans.Plan:
    source = {
        "dataSourceDescriptor": "aws",
        "params": {
            "@type": states.S3_TYPE,
            "name": "in",
            "bucketName": "b",
            "cloudRegion": "r",
            "accessKey": "OLD-KEY-VALUE",
        },
    }
    wanted = {**source, "params": {**source["params"], "accessKey": "NEW-KEY-VALUE"}}
    inputs = [
        plans.Inputs(
            states.Job("job-update", {"name": "New | name", "config.taskTimeout": 3600, "params.app": {"steps": 30}}),
            _current("job-update", name="Old name", **{"config.taskTimeout": 600, "params.app": {"steps": 20, "x": 1}}),
            "jobs/update.yaml:3",
        ),
        plans.Inputs(
            states.Job("job-secret", {"dataSource": wanted}),
            _current("job-secret", dataSource=source),
            "jobs/secret.yaml:3",
        ),
        plans.Inputs(
            states.Job("job-started", {"config.jobTimeout": 7200}),
            states.Job("job-started", {**_current("x").units, "config.jobTimeout": 60}, lifecycle="JOB_STATE_STARTED"),
            "jobs/started.yaml:1",
        ),
        plans.Inputs(states.Job("job-missing", {"name": "n"}), None, "jobs/missing.yaml:1"),
        plans.Inputs(states.Job("job-same", {"name": "same"}), _current("job-same", name="same"), "jobs/same.yaml:1"),
    ]
    inputs += [
        plans.Inputs(states.Job(f"bulk-{n:05d}", {"name": f"name {n}"}), _current(f"bulk-{n:05d}", name="old"),
                     f"jobs/bulk/{n:05d}.yaml:4")
        for n in range(count)
    ]  # fmt: skip
    return plans.build(inputs, KEY, plans.Requests(reads=5, writes=0, retries=1))


def _render(plan: plans.Plan, **options: object) -> str:
    out = io.StringIO()
    markdown.render_plan(plan, out, **options)  # type: ignore[arg-type]
    return out.getvalue()


def test_markdown_plan_matches_its_snapshot() -> None:
    text = _render(_plan())
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text(), "run with UPDATE_SNAPSHOTS=1 to accept a deliberate change"


def test_markdown_puts_the_marker_and_counts_first_and_problems_on_top() -> None:
    text = _render(_plan())
    lines = text.splitlines()
    assert lines[0] == markdown.MARKER
    assert "\n2 to update (4 calls) · 1 blocked · 1 error · 1 unchanged\n" in text
    assert text.index("Errors") < text.index("Blocked") < text.index("To update")
    assert "OLD-KEY-VALUE" not in text
    assert "NEW-KEY-VALUE" not in text
    assert "Requests: 5 reads, 0 writes, 1 retry." in text


def test_markdown_stays_under_the_comment_limit_for_2000_changed_jobs() -> None:
    text = _render(_plan(count=2000))
    assert len(text) < 65_000
    assert "more jobs not shown" in text
    assert text.count("<details>") == text.count("</details>")  # no block cut in half


def test_markdown_links_to_the_commit_when_ci_names_it() -> None:
    plan = _plan()
    located = plans.Plan(
        tuple(
            plans.JobPlan(**{**job.__dict__, "lines": {"config.taskTimeout": 7}}) if job.job_id == "job-update" else job
            for job in plan.jobs
        ),
        plan.requests,
    )
    text = _render(located, link=lambda file, line: f"https://example.test/r/blob/abc/{file}#L{line}")
    assert "[`config.taskTimeout`](https://example.test/r/blob/abc/jobs/update.yaml#L7)" in text


def test_partial_and_drift_say_so() -> None:
    text = _render(plans.drift(_plan()), partial=True, drift=True)
    assert text.splitlines()[0] == markdown.DRIFT_MARKER != markdown.MARKER
    assert "ByteNite drift report" in text
    assert "Partial plan" in text
    assert "Calls:" not in text
