"""How one value reads in a plan: compact JSON, secrets as their fingerprint, absence said in words."""

from __future__ import annotations

import json
import re
from typing import Any, Final

from reconciler.planning import diffs, redaction

MAX_VALUE_CHARS: Final = 160

# What a terminal acts on rather than shows: escape sequences (CSI, OSC, and any other ESC pair; 8-bit CSI
# and OSC too), the remaining C0 and C1 controls, and the bidirectional overrides and isolates that reorder what
# is shown (U+202E makes "enod ✓" read "✓ done"). Server text (names, error messages, values) passes through
# :func:`printable` before any human-readable output; JSON output is left to the encoder, which escapes.
_SEQUENCES: Final = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, up to its terminator
    r"|\x1b[ -/]*[0-~]?"  # any other escape
)
_CONTROLS: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS: Final = re.compile("[\n\r\x85\u2028\u2029]")


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 read``, ``2 reads``: every count a summary shows agrees with its noun (``many`` for irregular ones)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def printable(text: str, *, multiline: bool = False) -> str:
    """``text`` with every escape sequence, control and bidi override removed; a line break becomes a space
    unless ``multiline``, so server text cannot start a line of its own (and forge a "✓ done")."""
    text = _SEQUENCES.sub("", text)
    if not multiline:
        text = _LINE_BREAKS.sub(" ", text)
    return _CONTROLS.sub("", text)


def shown(value: Any, *, limit: int | None = MAX_VALUE_CHARS) -> str:
    """One value as compact JSON, cut at ``limit`` characters (``None``: whole, for ``--full-values``)."""
    if value is diffs.ABSENT:
        return "(absent)"
    if isinstance(value, redaction.Sensitive):
        return str(value)
    text = printable(json.dumps(redaction.as_json(value), ensure_ascii=False, separators=(", ", ": ")))
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def pair(before: Any, after: Any, *, limit: int | None = MAX_VALUE_CHARS) -> tuple[str, str]:
    """Both sides of a change, cut to the same window around their first difference.

    Cutting each side from its start showed two long values that differ late as the same text; the window
    starts a third of ``limit`` before the first differing character, at the same offset on both sides, with
    "…" on each side that was cut.
    """
    whole = shown(before, limit=None), shown(after, limit=None)
    if limit is None or max(map(len, whole)) <= limit:
        return whole
    first = next((i for i, (x, y) in enumerate(zip(*whole, strict=False)) if x != y), min(map(len, whole)))
    start = max(0, first - limit // 3)
    return _window(whole[0], start, limit), _window(whole[1], start, limit)


def _window(text: str, start: int, limit: int) -> str:
    return ("…" if start else "") + text[start : start + limit] + ("…" if start + limit < len(text) else "")


def _print(value: Any) -> str:
    return value.fingerprint if isinstance(value, redaction.Sensitive) else shown(value)


def change_line(change: diffs.Change, *, limit: int | None = MAX_VALUE_CHARS) -> tuple[str, str]:
    """(sign, text) of one change, as a reviewer reads it."""
    sensitive = isinstance(change.before, redaction.Sensitive) or isinstance(change.after, redaction.Sensitive)
    if change.kind == "add":
        return "+", f"{change.dotted}: {shown(change.after, limit=limit)}"
    if change.kind == "remove":
        return "-", f"{change.dotted}: {shown(change.before, limit=limit)}"
    if sensitive:
        return "~", f"{change.dotted}: (sensitive value changed: {_print(change.before)} → {_print(change.after)})"
    before, after = pair(change.before, change.after, limit=limit)
    return "~", f"{change.dotted}: {before} → {after}"
