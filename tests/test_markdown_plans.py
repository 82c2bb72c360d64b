"""Markdown plans for pull-request comments: a snapshot, the size limit, links to manifest lines, and the comment
as GitHub shows it (rendered by cmark-gfm, asserted on the HTML)."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

from reconciler.planning import diffs, planner, plans, redaction, states
from reconciler.rendering import markdown, values
from reconciler.rendering.values import printable
from tests import github_comments

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
    return planner.build(inputs, KEY, plans.Requests(reads=5, writes=0, retries=1))


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
    assert lines[1] == "### ByteNite plan: 2 to update (4 calls) · 1 blocked · 1 error · 1 unchanged"
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
            dataclasses.replace(job, lines={"config.taskTimeout": 7}) if job.job_id == "job-update" else job
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


# --- the comment as GitHub shows it ------------------------------------------------------------------------------

COMMIT = "https://github.com/acme/jobs/blob/0123456789abcdef0123456789abcdef01234567/"
# Markdown and HTML metacharacters, a line break and a value far over a cell's width, in every place text can go.
NASTY = "a`b``c | d <script>x</script> </details> <!-- [x](y) *em* _u_ ~~s~~ \\| e\nf & &amp; - [ ] t " + "L" * 300


def _in_comment_order(plan: plans.Plan) -> list[plans.JobPlan]:
    return [job for action in markdown.TITLES for job in sorted(plan.jobs, key=lambda job: job.source)
            if job.action is action]  # fmt: skip


def _summary(job: plans.JobPlan) -> str:
    name = f" {values.shown(job.name)}" if job.name else ""
    return (
        printable(job.job_id)
        + name
        + (" [destructive]" if job.destructive else "")
        + (f" — {printable(job.reason)}" if job.reason else "")
    )


def _assert_shown_as_github_shows_it(plan: plans.Plan, text: str, *, linked: bool, cell: int | None = 80) -> None:
    """Every job block, row and value reads on GitHub exactly as the plan holds it: nothing breaks out."""
    page = github_comments.read(text)
    level, heading = page.headings[0]
    assert level == "h3"
    assert heading.startswith("ByteNite plan: "), "the summary line is not a heading"
    assert " to update (" in heading
    assert page.opened == page.closed == len(page.blocks)
    assert not page.unbalanced
    assert page.deepest == 1
    assert page.stray_tables == 0
    jobs = _in_comment_order(plan)
    assert 0 < len(page.blocks) <= len(jobs)
    for job, block in zip(jobs, page.blocks, strict=False):
        assert block.summary.text == _summary(job)
        assert block.tables == (1 if job.changes else 0)
        assert len(block.rows) == len(job.changes), job.job_id
        for change, row in zip(job.changes, block.rows, strict=True):
            sign, field, before, after = row
            assert sign.text == values.change_line(change)[0]
            assert field.codes == [printable(change.dotted)]
            assert field.text == field.codes[0] if linked else field.text.startswith(field.codes[0])
            shown = values.pair(change.before, change.after, limit=cell)
            for side, value, expected in ((before, change.before, shown[0]), (after, change.after, shown[1])):
                assert side.codes == ([] if value is diffs.ABSENT else [expected])
                assert side.text == ("" if value is diffs.ABSENT else expected)
        if linked:
            assert block.links, job.job_id
            assert all(link.startswith(COMMIT) for link in block.links), block.links
        else:
            assert block.links == []


def _nasty_plan() -> plans.Plan:
    key = "k`e|y<b>\n]*"
    inputs = [
        plans.Inputs(
            states.Job("job-`<b>|x", {"name": NASTY, "params.app": {key: NASTY, "`": "|", "ok": "`", " s ": " "}}),
            _current("job-`<b>|x", name="old `name`", **{"params.app": {key: 1, "`": "x", "ok": "``", " s ": "  "}}),
            "jobs/we ird`|<x> #1.yaml:3",
        ),
        plans.Inputs(states.Job("job-<missing>|`", {"name": NASTY}), None, "jobs/**missing**.yaml:1"),
    ]
    return planner.build(inputs, KEY, plans.Requests())


def _with_lines(plan: plans.Plan) -> plans.Plan:
    jobs = tuple(dataclasses.replace(job, lines={c.dotted: 9 for c in job.changes}) for job in plan.jobs)
    return plans.Plan(jobs, plan.requests)


def _commit_link(file: str, line: int | None) -> str:
    from urllib.parse import quote

    return COMMIT + quote(file) + (f"#L{line}" if line else "")


def _raw_link(file: str, line: int | None) -> str:
    """A link function that leaves encoding to the renderer: a space, `|` or `<` in a path must not break out."""
    return COMMIT + file + (f"#L{line}" if line else "")


def test_the_example_plan_reads_on_github_as_planned() -> None:
    plan = _with_lines(_plan())
    _assert_shown_as_github_shows_it(plan, _render(plan), linked=False)
    _assert_shown_as_github_shows_it(plan, _render(plan, link=_commit_link), linked=True)


def test_metacharacters_in_names_keys_and_values_stay_inside_their_code_spans() -> None:
    plan = _with_lines(_nasty_plan())
    for cell in (markdown.CELL_CHARS, None):
        _assert_shown_as_github_shows_it(plan, _render(plan, cell=cell), linked=False, cell=cell)
        for link in (_commit_link, _raw_link):
            _assert_shown_as_github_shows_it(plan, _render(plan, link=link, cell=cell), linked=True, cell=cell)
    html = github_comments.to_html(_render(plan, link=_commit_link))
    assert "<script>" not in html
    assert "``" in html  # the value "``" is shown as itself, not as "''"


def test_the_truncated_2000_job_comment_reads_on_github_and_fits_github_s_count() -> None:
    plan = _plan(count=2000)
    text = _render(plan, link=_commit_link)
    # GitHub counts the characters of the Markdown body it receives, not of the HTML it renders from it.
    assert markdown.LIMIT - 1_500 < len(text) <= markdown.LIMIT
    assert "**Truncated:**" in text
    _assert_shown_as_github_shows_it(plan, text, linked=True)
