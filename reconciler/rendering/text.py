"""Plans and reports for a terminal or a CI log: Terraform's signs, one line per field, counts last."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from reconciler.planning import plans, reports
from reconciler.rendering import values
from reconciler.rendering.values import printable

Style = Callable[[str, str], str]
SIGN_COLOURS = {
    "+": "green",
    "-": "red",
    "~": "yellow",
    "!": "magenta",
    "x": "red",
    "=": "bright_black",
    ">": "cyan",
    "-/+": "red",
    "?": "bright_black",
}
HEADS = {
    plans.Action.CREATE: "+",
    plans.Action.UPDATE: "~",
    plans.Action.LAUNCH: ">",
    plans.Action.REPLACE: "-/+",
    plans.Action.PRUNE: "-",
    plans.Action.ORPHAN: "?",
    plans.Action.BLOCKED: "!",
    plans.Action.ERROR: "x",
    plans.Action.UNCHANGED: "=",
}
# Problems first, then what is destructive, then the rest: the reader's attention in order of cost.
ORDER = (
    plans.Action.ERROR,
    plans.Action.BLOCKED,
    plans.Action.PRUNE,
    plans.Action.REPLACE,
    plans.Action.CREATE,
    plans.Action.UPDATE,
    plans.Action.LAUNCH,
    plans.Action.ORPHAN,
    plans.Action.UNCHANGED,
)


def plain(text: str, colour: str) -> str:
    return text


def render_plan(
    plan: plans.Plan,
    out: TextIO,
    *,
    style: Style = plain,
    partial: bool = False,
    drift: bool = False,
    limit: int | None = values.MAX_VALUE_CHARS,
) -> None:
    if drift:
        out.write("Drift: fields that differ on the server from the manifests (nothing is proposed).\n\n")
    for job in sorted(plan.jobs, key=_order):
        if job.action is plans.Action.UNCHANGED:
            continue
        _job(job, out, style, limit)
    unchanged = plan.counts[plans.Action.UNCHANGED]
    if unchanged:
        out.write(style(f"  = {values.plural(unchanged, 'job')} unchanged\n", "bright_black"))
    out.write("\n" + summary(plan, partial=partial, drift=drift) + "\n")
    for note in unjudged(plan):
        out.write(style(printable(note), "yellow") + "\n")


def unjudged(plan: plans.Plan, code: Callable[[str], str] = str) -> list[str]:
    """Why some marked drafts were neither kept nor pruned: they came from a root that holds this run's, whose
    other manifests this run did not read. ``code`` marks a root or a command up (a code span in Markdown)."""
    return [
        f"Not judged: {values.plural(count, 'marked draft')} created from {code(root)}, which holds this run's "
        f"paths; {code(f'plan {root} --prune')} judges {'it' if count == 1 else 'them'}."
        for root, count in plan.unjudged
    ]


def _order(job: plans.JobPlan) -> tuple[int, str]:
    return ORDER.index(job.action), job.source


def _job(job: plans.JobPlan, out: TextIO, style: Style, limit: int | None) -> None:
    head = HEADS[job.action]
    name = f"  {values.shown(job.name)}" if job.name else ""
    flag = style("  [destructive]", "red") if job.destructive else ""
    # Ids, sources, reasons and paths can all hold server text (an orphan's id, an API error): made printable.
    title = f"{head} {job.action} job {printable(job.job_id)}"
    out.write(style(title, SIGN_COLOURS[head]) + f"{name}  ({printable(job.source)}){flag}\n")
    reason = printable(job.reason)
    if job.action is plans.Action.BLOCKED:
        out.write(style(f"    blocked: {reason}; nothing will be written\n", "magenta"))
    elif job.action is plans.Action.ERROR:
        out.write(style(f"    error: {reason}\n", "red"))
    elif job.reason:
        out.write(f"    {reason}\n")
    for change in job.changes:
        sign, text = values.change_line(change, limit=limit)
        out.write(f"    {style(sign, SIGN_COLOURS[sign])} {printable(text)}\n")
    for call in job.calls:
        mark = style("  [destructive]", "red") if call.destructive else ""
        target = f" (job {printable(call.target)})" if call.path == "/jobs" else ""
        out.write(style(f"    → {call.method} {printable(call.path)}{target}", "cyan") + f"{mark}\n")


def summary(plan: plans.Plan, *, partial: bool = False, drift: bool = False) -> str:
    scope = " (partial: only the selected manifests)" if partial else ""
    head = "Drift" if drift else "Plan"
    head += f" for environment {printable(plan.scope.env)}" if plan.scope.env else ""
    return f"{head}{scope}: " + ", ".join(counted(plan, drift=drift)) + ". " + requests(plan.requests)


def counted(plan: plans.Plan, *, drift: bool = False) -> list[str]:
    """The plan's counts in words, zero counts of rare kinds left out."""
    counts = plan.counts
    if drift:
        drifted = counts[plans.Action.UPDATE] + counts[plans.Action.BLOCKED]
        fields = sum(len(job.changes) for job in plan.jobs if job.action is not plans.Action.CREATE)
        parts = [
            f"{values.plural(drifted, 'job differs', 'jobs differ')} ({values.plural(fields, 'field')})",
            f"{counts[plans.Action.CREATE]} missing" if counts[plans.Action.CREATE] else "",
            values.plural(counts[plans.Action.ERROR], "error"),
            f"{counts[plans.Action.UNCHANGED]} unchanged",
            values.plural(counts[plans.Action.ORPHAN], "orphaned draft") if counts[plans.Action.ORPHAN] else "",
        ]
        return [part for part in parts if part]
    parts = [
        f"{counts[plans.Action.CREATE]} to create" if counts[plans.Action.CREATE] else "",
        f"{counts[plans.Action.UPDATE]} to update ({values.plural(plan.calls, 'call')})",
        f"{plan.launches} to launch" if plan.launches else "",
        f"{counts[plans.Action.REPLACE]} to replace" if counts[plans.Action.REPLACE] else "",
        f"{counts[plans.Action.PRUNE]} to prune" if counts[plans.Action.PRUNE] else "",
        f"{plan.destructive} destructive" if plan.destructive else "",
        f"{counts[plans.Action.BLOCKED]} blocked",
        values.plural(counts[plans.Action.ERROR], "error"),
        f"{counts[plans.Action.UNCHANGED]} unchanged",
        f"{values.plural(counts[plans.Action.ORPHAN], 'orphaned draft')} (--prune deletes them)"
        if counts[plans.Action.ORPHAN]
        else "",
    ]
    return [part for part in parts if part]


def requests(counted: plans.Requests) -> str:
    shown = (values.plural(counted.reads, "read"), values.plural(counted.writes, "write"),
             values.plural(counted.retries, "retry", "retries"))  # fmt: skip
    return f"Requests: {', '.join(shown)}."


OUTCOME_SIGNS = {
    reports.Outcome.DONE: ("✓", "green"),
    reports.Outcome.FAILED: ("x", "red"),
    reports.Outcome.NOT_ATTEMPTED: ("-", "yellow"),
    reports.Outcome.BLOCKED: ("!", "magenta"),
    reports.Outcome.STALE: ("!", "yellow"),
    reports.Outcome.UNCONVERGED: ("x", "red"),
    reports.Outcome.REFUSED: ("!", "red"),
}


CALL_WORDS = {"*": "whole job", "create": "POST create", "run": "POST run (launch)", "abort": "POST abort",
              "delete": "DELETE"}  # fmt: skip


def render_report(report: reports.Report, out: TextIO, *, style: Style = plain) -> None:
    for result in report.results:
        sign, colour = OUTCOME_SIGNS[result.outcome]
        what = CALL_WORDS.get(result.section, f"PATCH {result.section}")
        detail = f": {printable(result.detail)}" if result.detail else ""
        out.write(f"{style(sign, colour)} job {printable(result.job_id)} {printable(what)}: {result.outcome}{detail}\n")
    counts = report.counts
    parts = [f"{counts[outcome]} {outcome}" for outcome in reports.Outcome if counts[outcome]]
    head = "Apply interrupted" if report.interrupted else "Apply complete" if not report.partial else "Apply partial"
    head = "Apply partial: the run timed out (--run-timeout)" if report.timed_out else head
    out.write(f"\n{head}: {', '.join(parts) or 'nothing to do'}. {requests(report.requests)}\n")
