"""How one value reads in a plan: compact JSON, secrets as their fingerprint, absence said in words."""

from __future__ import annotations

import json
from typing import Any, Final

from reconciler import diffs, redaction

MAX_VALUE_CHARS: Final = 160


def shown(value: Any, *, limit: int = MAX_VALUE_CHARS) -> str:
    if value is diffs.ABSENT:
        return "(absent)"
    if isinstance(value, redaction.Sensitive):
        return str(value)
    text = json.dumps(redaction.as_json(value), ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _print(value: Any) -> str:
    return value.fingerprint if isinstance(value, redaction.Sensitive) else shown(value)


def change_line(change: diffs.Change) -> tuple[str, str]:
    """(sign, text) of one change, as a reviewer reads it."""
    sensitive = isinstance(change.before, redaction.Sensitive) or isinstance(change.after, redaction.Sensitive)
    if change.kind == "add":
        return "+", f"{change.dotted}: {shown(change.after)}"
    if change.kind == "remove":
        return "-", f"{change.dotted}: {shown(change.before)}"
    if sensitive:
        return "~", f"{change.dotted}: (sensitive value changed: {_print(change.before)} → {_print(change.after)})"
    return "~", f"{change.dotted}: {shown(change.before)} → {shown(change.after)}"
