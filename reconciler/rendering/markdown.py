"""Plans as a pull-request comment: counts first, blocked and failing jobs on top, one collapsible block a job.

The comment starts with a fixed marker line so CI can find and update its own comment in place, and stays under
GitHub's 65,536-character limit: when the plan is longer, whole job blocks are left out and a note says how
many, rather than cutting one in half.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TextIO

from reconciler import diffs, plans
from reconciler.rendering import text, values
from reconciler.rendering.values import printable

MARKER: Final = "<!-- bytenite-reconciler:plan -->"
# A drift report has its own marker: CI that updates "its" plan comment in place must not overwrite it.
DRIFT_MARKER: Final = "<!-- bytenite-reconciler:drift -->"
LIMIT: Final = 65_000
CELL_CHARS: Final = 80  # a table cell; --full-values shows values whole
Link = Callable[[str, int | None], str | None]
TITLES: Final = {
    plans.Action.ERROR: "Errors",
    plans.Action.BLOCKED: "Blocked",
    plans.Action.PRUNE: "To prune (destructive)",
    plans.Action.REPLACE: "To replace (destructive)",
    plans.Action.CREATE: "To create",
    plans.Action.UPDATE: "To update",
    plans.Action.LAUNCH: "To launch",
    plans.Action.ORPHAN: "Orphaned drafts (information: --prune deletes them)",
}
ICONS: Final = {
    plans.Action.ERROR: "❌",
    plans.Action.BLOCKED: "⛔",
    plans.Action.PRUNE: "🗑️",
    plans.Action.REPLACE: "♻️",
    plans.Action.CREATE: "🆕",
    plans.Action.UPDATE: "✏️",
    plans.Action.LAUNCH: "🚀",
    plans.Action.ORPHAN: "❔",
}


def no_link(file: str, line: int | None) -> str | None:
    """Outside a CI that names its commit there is nothing to link to: positions are shown as text."""
    return None


def _where(file: str, line: int | None, link: Link) -> str:
    label = f"{file}:{line}" if line else file
    url = link(file, line)
    return f"[{label}]({url})" if url else f"`{label}`"


def marker(*, drift: bool = False, env: str | None = None) -> str:
    """The comment's first line, by which CI finds the one comment to update: one per environment (the name is
    held to ``[a-z0-9_-]``, so it cannot end the HTML comment)."""
    base = DRIFT_MARKER if drift else MARKER
    return base.replace(" -->", f" env={env} -->") if env else base


def render_plan(
    plan: plans.Plan,
    out: TextIO,
    *,
    link: Link = no_link,
    partial: bool = False,
    drift: bool = False,
    limit: int = LIMIT,
    cell: int | None = CELL_CHARS,
) -> None:
    head = _head(plan, partial=partial, drift=drift)
    blocks = [
        (job.action, _job(job, link, cell))
        for action in TITLES
        for job in sorted(plan.jobs, key=lambda job: job.source)
        if job.action is action
    ]
    body, shown = _fit(head, blocks, limit)
    left_out = len(blocks) - shown
    if left_out:
        body += (
            f"\n> **Truncated:** {left_out} more job{'s' if left_out != 1 else ''} not shown: this comment stays under "
            f"GitHub's size limit. The full plan is in the JSON plan file (`plan --out`).\n"
        )
    out.write(body)


def _head(plan: plans.Plan, *, partial: bool, drift: bool) -> str:
    title = "ByteNite drift report" if drift else "ByteNite plan"
    env = plan.scope.env
    title += f" for environment `{env}`" if env else ""
    summary = " · ".join(text.counted(plan, drift=drift))
    if plan.destructive:
        items = f"{plan.destructive} destructive item{'s' if plan.destructive != 1 else ''}"
        summary += f"\n\n> ⚠️ **{items}** (prune, abort, replace)."
    lines = [
        marker(drift=drift, env=env),
        f"### {title}",
        "",
        summary,
        "",
        f"<sub>{text.requests(plan.requests)}</sub>",
        "",
    ]
    if partial:
        lines[4:4] = ["> **Partial plan:** only the selected manifests (`--target`/`--exclude`/`--selector`).", ""]
    lines[4:4] = [f"> {note}\n" for note in text.unjudged(plan, code=_code)]
    if not any(job.action is not plans.Action.UNCHANGED for job in plan.jobs):
        lines.append("No changes. The jobs match their manifests.\n")
    return "\n".join(lines) + "\n"


def _fit(head: str, blocks: list[tuple[plans.Action, str]], limit: int) -> tuple[str, int]:
    reserve = 400  # the section titles and the truncation note
    body, size, shown, section = head, len(head), 0, None
    for action, block in blocks:
        title = f"\n#### {ICONS[action]} {TITLES[action]}\n\n" if action is not section else ""
        if size + len(title) + len(block) > limit - reserve:
            break
        body += title + block
        size += len(title) + len(block)
        section = action
        shown += 1
    return body, shown


def _job(job: plans.JobPlan, link: Link, cell: int | None) -> str:
    file = job.source.rsplit(":", 1)[0]
    name = f" <code>{_escape(values.shown(job.name))}</code>" if job.name else ""
    name += " <b>[destructive]</b>" if job.destructive else ""
    reason = f" — {_escape(job.reason)}" if job.reason else ""
    parts = [
        f"<details><summary><code>{_escape(job.job_id)}</code>{name}{reason}</summary>\n",
        f"Manifest: {_where(file, _line(job.source), link)}\n",
    ]
    if job.changes:
        parts.append("| | field | server | manifest |\n|---|---|---|---|")
        parts.extend(_row(change, job, file, link, cell) for change in job.changes)
        parts.append("")
    if job.calls:
        parts.append("Calls: " + ", ".join(_call(call) for call in job.calls) + "\n")
    parts.append("</details>\n")
    return "\n".join(parts) + "\n"


def _call(call: plans.Call) -> str:
    target = f" (job {_code(call.target)})" if call.path == "/jobs" else ""
    return _code(f"{call.method} {call.path}") + target + (" **[destructive]**" if call.destructive else "")


def _row(change: diffs.Change, job: plans.JobPlan, file: str, link: Link, cell: int | None) -> str:
    sign, _ = values.change_line(change)
    line = job.lines.get(change.dotted)
    url = link(file, line)
    field = f"[{_code(change.dotted)}]({url})" if url else _code(change.dotted) + (f" (line {line})" if line else "")
    before, after = values.pair(change.before, change.after, limit=cell)
    before = "" if change.before is diffs.ABSENT else _code(before)
    after = "" if change.after is diffs.ABSENT else _code(after)
    return f"| {sign} | {field} | {before} | {after} |"


def _line(source: str) -> int | None:
    tail = source.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _code(value: str) -> str:
    """Inline code in a table cell; server text is made printable first (no escapes, controls or bidi)."""
    return "`" + printable(value).replace("`", "'").replace("|", "\\|") + "`"


def _escape(value: str) -> str:
    """Text inside HTML (a summary line): markdown is not rendered there, so escape for HTML."""
    text = printable(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "&#124;")
