"""Plans and reports as JSON documents (``schemas/plan.schema.json``, ``format_version`` 1).

``plan --format json`` and ``plan --out`` write the same document: a plan file is the JSON plan. Besides what a
reader needs, each job carries what apply needs without the manifests: the declared units (references kept,
never a secret), the redacted *basis* its bodies depend on, and the sensitive paths.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Final, TextIO

from reconciler.planning import diffs, plans, redaction, reports

FORMAT_VERSION: Final = plans.FORMAT_VERSION


def plan_document(
    plan: plans.Plan,
    *,
    partial: bool = False,
    drift: bool = False,
    meta: Mapping[str, Any] | None = None,
    lazy: bool = False,
) -> dict[str, Any]:
    """The plan as plain JSON data. ``lazy`` leaves the jobs as an iterator, each job's data built as
    :func:`write` reaches it: a plan of 10,000 jobs is then never held whole a second time."""
    counts = plan.counts
    return {
        "format_version": FORMAT_VERSION,
        "kind": "drift" if drift else "plan",
        "partial": partial,
        "scope": {
            "roots": list(plan.scope.roots),
            "env": plan.scope.env,
            "unjudged": [{"root": root, "drafts": count} for root, count in plan.unjudged],
        },
        **dict(meta or {}),
        "summary": {
            "create": counts[plans.Action.CREATE],
            "update": counts[plans.Action.UPDATE],
            "launch": plan.launches,
            "replace": counts[plans.Action.REPLACE],
            "prune": counts[plans.Action.PRUNE],
            "destructive": plan.destructive,
            "blocked": counts[plans.Action.BLOCKED],
            "error": counts[plans.Action.ERROR],
            "unchanged": counts[plans.Action.UNCHANGED],
            "orphan": counts[plans.Action.ORPHAN],
            "calls": plan.calls,
        },
        "requests": _requests(plan.requests),
        "jobs": map(_job, plan.jobs) if lazy else [_job(job) for job in plan.jobs],
    }


def _job(job: plans.JobPlan) -> dict[str, Any]:
    return {
        "id": job.job_id,
        "source": job.source,
        "action": str(job.action),
        "destructive": job.destructive,
        "lifecycle": job.lifecycle,
        "name": job.name,
        "reason": job.reason or None,
        "template_id": job.template_id,
        "changes": [_change(change, job.lines) for change in job.changes],
        "calls": [
            {
                "method": call.method,
                "section": call.section,
                "path": call.path,
                "target": call.target,
                "destructive": call.destructive,
                "body": redaction.as_json(call.body),
            }
            for call in job.calls
        ],
        "declared": redaction.as_json(dict(job.declared)),
        "basis": redaction.as_json(dict(job.basis)),
        "sensitive": [list(path) for path in sorted(job.sensitive, key=str)],
        "description": job.description,
        "generation": job.generation,
    }


def _change(change: diffs.Change, lines: Mapping[str, int]) -> dict[str, Any]:
    document: dict[str, Any] = {"path": change.dotted, "segments": list(change.path), "kind": change.kind}
    if change.kind != "add":
        document["before"] = redaction.as_json(change.before)
    if change.kind != "remove":
        document["after"] = redaction.as_json(change.after)
    if change.dotted in lines:
        document["line"] = lines[change.dotted]
    return document


def _requests(counted: plans.Requests) -> dict[str, int]:
    return {"reads": counted.reads, "writes": counted.writes, "retries": counted.retries}


def report_document(report: reports.Report) -> dict[str, Any]:
    counts = report.counts
    return {
        "format_version": FORMAT_VERSION,
        "kind": "report",
        "interrupted": report.interrupted,
        "timed_out": report.timed_out,
        "partial": report.partial,
        "summary": {str(outcome): counts[outcome] for outcome in reports.Outcome},
        "requests": _requests(report.requests),
        "results": [
            {"id": result.job_id, "section": result.section, "outcome": str(result.outcome), "detail": result.detail}
            for result in report.results
        ],
    }


def write(document: Mapping[str, Any], out: TextIO) -> None:
    """One top-level key a line, and one job (or result) a line.

    Indented JSON goes through the pure-Python encoder, ten times slower than the C one that writes each job
    compactly; a line a job also keeps diffs of plan files readable. Written in chunks of about 64 KiB.
    """
    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    chunk: list[str] = ["{"]
    size = 0
    for index, (key, value) in enumerate(document.items()):
        chunk.append(("," if index else "") + f"\n  {encode(key)}: ")
        if isinstance(value, (list, Iterator)):
            position = -1
            for position, item in enumerate(value):
                line = ("[" if position == 0 else ",") + "\n    " + encode(item)
                chunk.append(line)
                size += len(line)
                if size >= 65536:
                    out.write("".join(chunk))
                    chunk, size = [], 0
            chunk.append("\n  ]" if position >= 0 else "[]")
        else:
            chunk.append(encode(value))
    chunk.append("\n}\n")
    out.write("".join(chunk))
