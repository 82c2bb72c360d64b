"""Plans and reports for a terminal or a CI log: Terraform's signs, one line per field, counts last."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from reconciler import plans, reports
from reconciler.rendering import values

Style = Callable[[str, str], str]
SIGN_COLOURS = {"+": "green", "-": "red", "~": "yellow", "!": "magenta", "x": "red", "=": "bright_black"}
HEADS = {
    plans.Action.UPDATE: "~",
    plans.Action.BLOCKED: "!",
    plans.Action.ERROR: "x",
    plans.Action.UNCHANGED: "=",
}


def plain(text: str, colour: str) -> str:
    return text


def render_plan(
    plan: plans.Plan, out: TextIO, *, style: Style = plain, partial: bool = False, drift: bool = False
) -> None:
    if drift:
        out.write("Drift: fields that differ on the server from the manifests (nothing is proposed).\n\n")
    for job in sorted(plan.jobs, key=_order):
        if job.action is plans.Action.UNCHANGED:
            continue
        _job(job, out, style, drift=drift)
    unchanged = plan.counts[plans.Action.UNCHANGED]
    if unchanged:
        out.write(style(f"  = {unchanged} job{'s' if unchanged != 1 else ''} unchanged\n", "bright_black"))
    out.write("\n" + summary(plan, partial=partial, drift=drift) + "\n")


def _order(job: plans.JobPlan) -> tuple[int, str]:
    rank = {plans.Action.ERROR: 0, plans.Action.BLOCKED: 1, plans.Action.UPDATE: 2, plans.Action.UNCHANGED: 3}
    return rank[job.action], job.source


def _job(job: plans.JobPlan, out: TextIO, style: Style, *, drift: bool) -> None:
    head = HEADS[job.action]
    name = f"  {values.shown(job.name)}" if job.name else ""
    out.write(style(f"{head} job {job.job_id}", SIGN_COLOURS[head]) + f"{name}  ({job.source})\n")
    if job.action is plans.Action.BLOCKED:
        out.write(style(f"    blocked: {job.reason}; nothing will be written\n", "magenta"))
    if job.action is plans.Action.ERROR:
        out.write(style(f"    error: {job.reason}\n", "red"))
    for change in job.changes:
        sign, text = values.change_line(change)
        out.write(f"    {style(sign, SIGN_COLOURS[sign])} {text}\n")
    for call in () if drift else job.calls:
        out.write(style(f"    → {call.method} {call.path}\n", "cyan"))


def summary(plan: plans.Plan, *, partial: bool = False, drift: bool = False) -> str:
    counts = plan.counts
    scope = " (partial: only the selected manifests)" if partial else ""
    if drift:
        drifted = counts[plans.Action.UPDATE] + counts[plans.Action.BLOCKED]
        fields = sum(len(job.changes) for job in plan.jobs)
        return (
            f"Drift{scope}: {drifted} job{'s' if drifted != 1 else ''} differ ({fields} fields), "
            f"{counts[plans.Action.ERROR]} errors, {counts[plans.Action.UNCHANGED]} unchanged. "
            + requests(plan.requests)
        )
    parts = [
        f"{counts[plans.Action.UPDATE]} to update ({plan.calls} call{'s' if plan.calls != 1 else ''})",
        f"{counts[plans.Action.BLOCKED]} blocked",
        f"{counts[plans.Action.ERROR]} error{'s' if counts[plans.Action.ERROR] != 1 else ''}",
        f"{counts[plans.Action.UNCHANGED]} unchanged",
    ]
    return f"Plan{scope}: " + ", ".join(parts) + ". " + requests(plan.requests)


def requests(counted: plans.Requests) -> str:
    return f"Requests: {counted.reads} reads, {counted.writes} writes, {counted.retries} retries."


OUTCOME_SIGNS = {
    reports.Outcome.DONE: ("✓", "green"),
    reports.Outcome.FAILED: ("x", "red"),
    reports.Outcome.NOT_ATTEMPTED: ("-", "yellow"),
    reports.Outcome.BLOCKED: ("!", "magenta"),
    reports.Outcome.STALE: ("!", "yellow"),
    reports.Outcome.UNCONVERGED: ("x", "red"),
}


def render_report(report: reports.Report, out: TextIO, *, style: Style = plain) -> None:
    for result in report.results:
        sign, colour = OUTCOME_SIGNS[result.outcome]
        what = "whole job" if result.section == "*" else f"PATCH {result.section}"
        detail = f": {result.detail}" if result.detail else ""
        out.write(f"{style(sign, colour)} job {result.job_id} {what}: {result.outcome}{detail}\n")
    counts = report.counts
    parts = [f"{counts[outcome]} {outcome}" for outcome in reports.Outcome if counts[outcome]]
    head = "Apply interrupted" if report.interrupted else "Apply complete" if not report.partial else "Apply partial"
    out.write(f"\n{head}: {', '.join(parts) or 'nothing to do'}. {requests(report.requests)}\n")
