"""Plans as a pull-request comment: counts first, blocked and failing jobs on top, one collapsible block a job.

The comment starts with a fixed marker line so CI can find and update its own comment in place, and stays under
GitHub's 65,536-character limit: when the plan is longer, whole job blocks are left out and a note says how
many, rather than cutting one in half. GitHub counts the characters of the Markdown it is sent, so that is what
is measured.

Names, keys and values come from manifests and from the server, so none may change the comment's structure:
values sit in code spans fenced longer than any backtick run they hold, pipes are escaped in table cells, text
inside HTML is escaped for HTML, and link destinations are percent-encoded. ``tests/test_markdown_plans.py``
renders comments as GitHub does (cmark-gfm and its extensions) to hold this.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Final, TextIO

from reconciler.planning import diffs, plans
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
    label = _code(f"{file}:{line}" if line else file, cell=False)
    url = link(file, line)
    return f"[{label}]({_destination(url)})" if url else label


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
    # The counts are the heading: the one line a reviewer reads when the comment is folded in a long thread.
    lines = [marker(drift=drift, env=env), f"### {title}: {' · '.join(text.counted(plan, drift=drift))}", ""]
    if plan.destructive:
        items = f"{plan.destructive} destructive item{'s' if plan.destructive != 1 else ''}"
        lines += [f"> ⚠️ **{items}** (prune, abort, replace).", ""]
    lines += [f"> {note}\n" for note in text.unjudged(plan, code=lambda value: _code(value, cell=False))]
    if partial:
        lines += ["> **Partial plan:** only the selected manifests (`--target`/`--exclude`/`--selector`).", ""]
    lines += [f"<sub>{text.requests(plan.requests)}</sub>", ""]
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
    target = f" (job {_code(call.target, cell=False)})" if call.path == "/jobs" else ""
    call_code = _code(f"{call.method} {call.path}", cell=False)
    return call_code + target + (" **[destructive]**" if call.destructive else "")


def _row(change: diffs.Change, job: plans.JobPlan, file: str, link: Link, cell: int | None) -> str:
    sign, _ = values.change_line(change)
    line = job.lines.get(change.dotted)
    url = link(file, line)
    shown = _code(change.dotted)
    field = f"[{shown}]({_destination(url)})" if url else shown + (f" (line {line})" if line else "")
    before, after = values.pair(change.before, change.after, limit=cell)
    before = "" if change.before is diffs.ABSENT else _code(before)
    after = "" if change.after is diffs.ABSENT else _code(after)
    return f"| {sign} | {field} | {before} | {after} |"


def _line(source: str) -> int | None:
    tail = source.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _code(value: str, *, cell: bool = True) -> str:
    """``value`` as inline code, exactly: server text is made printable first (no escapes, controls or bidi).

    The fence is one backtick longer than the longest run inside, and a value that starts or ends with a
    backtick (or with a space at both ends) is padded with one space, which CommonMark strips: replacing
    backticks instead showed ``"``"`` and ``"''"`` alike. In a table ``cell`` a pipe would end the cell even
    inside code, so it is escaped; GFM removes that backslash again.
    """
    text = printable(value)
    if cell:
        text = text.replace("|", "\\|")
    fence = "`" * (max(map(len, _BACKTICK_RUNS.findall(text)), default=0) + 1)
    padded = text[:1] == "`" or text[-1:] == "`" or (text[:1] == text[-1:] == " " and text.strip() != "")
    return f"{fence} {text} {fence}" if padded else f"{fence}{text}{fence}"


_BACKTICK_RUNS: Final = re.compile("`+")


def _destination(url: str) -> str:
    """A link destination that no character of a path can end early or split a table cell with: spaces,
    brackets, pipes, backticks and the rest are percent-encoded (what is already encoded stays as it is)."""
    return urllib.parse.quote(printable(url), safe=":/?#@!$&'*+,;=%~")


def _escape(value: str) -> str:
    """Text inside HTML (a summary line): markdown is not rendered there, so escape for HTML."""
    text = printable(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "&#124;")
