"""Plans and reports as JSON documents (``schemas/plan.schema.json``, ``format_version`` 1)."""

from __future__ import annotations

import json
from typing import Any, Final, TextIO

from reconciler import plans, reports
from reconciler.rendering import values

FORMAT_VERSION: Final = 1


def plan_document(plan: plans.Plan, *, partial: bool = False) -> dict[str, Any]:
    counts = plan.counts
    return {
        "format_version": FORMAT_VERSION,
        "kind": "plan",
        "partial": partial,
        "summary": {
            "update": counts[plans.Action.UPDATE],
            "blocked": counts[plans.Action.BLOCKED],
            "error": counts[plans.Action.ERROR],
            "unchanged": counts[plans.Action.UNCHANGED],
            "calls": plan.calls,
        },
        "requests": _requests(plan.requests),
        "jobs": [_job(job) for job in plan.jobs],
    }


def _job(job: plans.JobPlan) -> dict[str, Any]:
    return {
        "id": job.job_id,
        "source": job.source,
        "action": str(job.action),
        "lifecycle": job.lifecycle,
        "name": job.name,
        "reason": job.reason or None,
        "changes": [_change(change) for change in job.changes],
        "calls": [
            {"method": call.method, "section": call.section, "path": call.path, "body": values.jsonable(call.body)}
            for call in job.calls
        ],
    }


def _change(change: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"path": change.dotted, "kind": change.kind}
    if change.kind != "add":
        document["before"] = values.jsonable(change.before)
    if change.kind != "remove":
        document["after"] = values.jsonable(change.after)
    return document


def _requests(counted: plans.Requests) -> dict[str, int]:
    return {"reads": counted.reads, "writes": counted.writes, "retries": counted.retries}


def report_document(report: reports.Report) -> dict[str, Any]:
    counts = report.counts
    return {
        "format_version": FORMAT_VERSION,
        "kind": "report",
        "interrupted": report.interrupted,
        "partial": report.partial,
        "summary": {str(outcome): counts[outcome] for outcome in reports.Outcome},
        "requests": _requests(report.requests),
        "results": [
            {"id": result.job_id, "section": result.section, "outcome": str(result.outcome), "detail": result.detail}
            for result in report.results
        ],
    }


def write(document: dict[str, Any], out: TextIO) -> None:
    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")
