"""A pydantic error in words a manifest's author reads: what is allowed instead, never the machinery's wording, and
never the refused value itself where it may hold a credential."""

from __future__ import annotations

import datetime
import difflib
import math
import re
from typing import Any, Final

from reconciler.desired import manifests
from reconciler.planning import names

Loc = tuple[str | int, ...]  # where in a document: keys and list positions


def loc_of(item: Any) -> Loc:
    loc = tuple(item["loc"])
    return (*loc, "dataSourceDescriptor") if item["type"] == "union_tag_invalid" else loc


KNOWN_KEYS: Final = sorted(manifests.known_keys())


def message(item: Any) -> str:
    kind, loc = item["type"], item["loc"]
    key = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        if key in KNOWN_KEYS:  # a key of another section: suggesting it back ("did you mean 'name'?") helps nobody
            return f"key '{_brief(str(key))}' is not allowed here"
        near = difflib.get_close_matches(str(key)[:100], KNOWN_KEYS, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        return f"unknown key '{_brief(str(key))}'{hint}"
    if kind in IN_WORDS:
        return f"{key}: {IN_WORDS[kind]}" if isinstance(key, str) and key else IN_WORDS[kind]
    if kind == "string_pattern_mismatch":
        # The value itself is not echoed: a URL that fails here may carry user:password@.
        return f"{key}: {PATTERN_WORDS.get(str(key), 'has characters that are not allowed')}"
    if kind == "missing":
        return f"missing required key '{key}'"
    if kind == "union_tag_invalid":  # reported at the descriptor (see loc_of), which the message names
        context = item.get("ctx", {})
        where = "a destination" if "bucket" in str(context.get("expected_tags")) else "a source"
        return (
            f"dataSourceDescriptor '{context.get('tag')}' cannot be {where}; "
            f"expected one of {context.get('expected_tags')}"
        )
    if kind == "union_tag_not_found":
        return "missing required key 'dataSourceDescriptor'"
    message = _in_words(str(item["msg"]).removeprefix("Value error, "))
    if kind.endswith("_type") or kind == "literal_error":
        message = f"{message}, got {kind_of(item.get('input'))}"
        return f"{key}: {message}" if isinstance(key, str) and key else message
    return f"{key}: {message}" if isinstance(key, str) and key else message


# pydantic's wording names its own machinery (regexes, "instance of Spec"); a manifest error says in words what
# is allowed instead.
IN_WORDS: Final = {"string_too_short": "must not be empty"}


PATTERN_WORDS: Final = {
    "id": "must be a ByteNite job id: 1 to 128 ASCII letters, digits and . _ - (starting with a letter or a digit)",
    "key": f"must be {names.KEY_ALPHABET}",
    "url": "must be an http:// or https:// URL without spaces, or a whole ${env:NAME} reference",
}


PYDANTIC_PHRASES: Final = (
    (re.compile(r"^Input should be "), "must be "),
    (re.compile(r"a valid dictionary( or instance of \w+)?"), "a mapping"),
    (re.compile(r"a valid (integer|boolean|string|list|number)"), lambda m: {"integer": "an integer",
     "boolean": "true or false", "string": "a string", "list": "a list", "number": "a number"}[m.group(1)]),
)  # fmt: skip


def _in_words(message: str) -> str:
    for pattern, words in PYDANTIC_PHRASES:
        message = pattern.sub(words, message)
    return message[:1].lower() + message[1:]


def _brief(text: str, limit: int = 60) -> str:
    """A key or value fit for a one-line error, however long the file made it."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) < 40 else f"a string of {len(value):,} characters"
    if isinstance(value, float) and not math.isfinite(value):
        return f"the number {value}"
    kinds = {bool: "a boolean", int: "an integer", float: "a number", dict: "a mapping", list: "a list"}
    kinds |= {bytes: "binary data", set: "a set", datetime.date: "a date", datetime.datetime: "a timestamp"}
    return kinds.get(type(value), f"a {type(value).__name__}")
