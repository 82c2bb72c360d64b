"""What a manifest file may be: its size, its text, how deep it nests, how long its numbers and how far its aliases
expand; and a problem's position in words. A file past any limit is refused before it can cost the run.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from reconciler import errors, settings
from reconciler.desired import yamlparser

DEFAULT_MAX_BYTES: Final = settings.MAX_FILE_BYTES


# An alias expands to a shared object; a "billion laughs" file stays small in memory but would explode in
# every walk over it (validation, diffing, JSON). Bound the size of the expanded tree instead of banning aliases.
MAX_EXPANDED_NODES: Final = 100_000


# Values alone are not the size: one 400 KB string aliased 90,000 times is few values and 36 GB of text that
# validation scans and a plan serialises. Characters of keys and strings count too, expanded at every alias.
MAX_EXPANDED_CHARS: Final = 8 * DEFAULT_MAX_BYTES


def read_text(path: Path, max_bytes: int) -> str:
    """A manifest's text, refusing what no manifest should be: huge, binary or not UTF-8.

    Only what was seen to be a regular file is opened (opening a device can act on it), without blocking and
    once: what was opened is judged again, so a pipe put in the file's place meanwhile cannot block the run,
    and no more than one byte past ``max_bytes`` is ever read, even from a file that grows.
    """
    name = str(path)
    try:
        _refuse_unless_regular(name, os.stat(path), max_bytes)
        descriptor = os.open(path, _READ_FLAGS)
        try:
            status = os.fstat(descriptor)
            _refuse_unless_regular(name, status, max_bytes)
            raw = _read_at_most(descriptor, status.st_size, max_bytes)
        finally:
            os.close(descriptor)
    except OSError as error:
        raise errors_for(name, f"cannot read: {error.strerror}") from None
    if len(raw) > max_bytes:
        raise errors_for(name, f"file grew past the limit of {max_bytes} bytes while read (see --max-file-bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise errors_for(name, "not UTF-8 text", line=line) from None


def _refuse_unless_regular(name: str, status: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(status.st_mode):
        raise errors_for(name, "not a regular file (a pipe or a device would block the run): refused")
    if status.st_size > max_bytes:
        raise errors_for(name, f"file is {status.st_size} bytes, over the limit of {max_bytes} (see --max-file-bytes)")


# Not blocking: opening a pipe for reading otherwise waits for a writer (before its kind can be seen).
# Nor does it make a terminal the process's own (O_NOCTTY).
_READ_FLAGS: Final = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
)


def _read_at_most(descriptor: int, size: int, max_bytes: int) -> bytes:
    """The file's bytes to its end, but never more than one past ``max_bytes`` (so that a file that grew is seen
    to be too large). One read is not trusted to be the whole file, even one as large as the file said it was:
    a read may return less (a signal, some network and FUSE file systems, the 2 GiB cap of a single read)."""
    chunks: list[bytes] = []
    read = 0
    while read <= max_bytes:
        chunk = os.read(descriptor, min(max(size, 1) + 1, max_bytes + 1 - read))
        if not chunk:
            break
        chunks.append(chunk)
        read += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


MAX_DEPTH: Final = 64


MAX_DOCUMENTS: Final = 1000  # a file of jobs, not a dump: past this, every document is one more error line


MAX_DIGITS: Final = 40


# Block collections nest on one line too: ``- - - x`` (and ``? ? x``) opens a level per indicator, with no
# indentation and no bracket to count. 50,000 of them overflow the C composer's stack (a segfault, no message).
_COMPACT_NESTING: Final = re.compile(rf"(?:[-?][ \t]+){{{MAX_DEPTH // 2}}}")


_DEEP_INDENT: Final = " " * 2 * MAX_DEPTH


# A run of ASCII digits (YAML reads only those as a number), found without a pattern: every ASCII digit becomes
# ``0`` (no other byte of UTF-8 does), and a run of digits is then a run of ``0`` that a substring search finds.
# The pattern ``[0-9]{40,}`` tries each position of the text; this costs a seventh of it.
_DIGITS_TO_ZERO: Final = bytes.maketrans(b"123456789", b"0" * 9)
_DIGIT_RUN: Final = b"0" * MAX_DIGITS


def has_long_number(text: str) -> bool:
    """Whether ``text`` holds a run of :data:`MAX_DIGITS` ASCII digits or more."""
    return _DIGIT_RUN in text.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ZERO)


def may_be_hostile(text: str) -> bool:
    """Cheap signs of deep nesting or a huge number, which the parser handles badly (deep recursion in C).

    Each file pays for this, so counting comes before searching: the compact-nesting pattern is tried only
    when the text has enough indicators to match it.
    """
    indicators = text.count("- ") + text.count("-\t") + text.count("? ") + text.count("?\t")
    return (
        text.count("[") + text.count("{") > MAX_DEPTH
        or text.startswith(_DEEP_INDENT)
        or "\n" + _DEEP_INDENT in text
        or (indicators >= MAX_DEPTH // 2 and _COMPACT_NESTING.search(text) is not None)
        or has_long_number(text)
    )


def scan(name: str, text: str) -> None:
    """Walk the parser's events (which do not recurse) and refuse nesting too deep or numbers too long."""
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent, ScalarEvent

    depth = 0
    try:
        for event in yamlparser.shared_yaml().parse(text):
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise errors_at(name, event.start_mark, f"nested more than {MAX_DEPTH} levels deep: refused")
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
            elif isinstance(event, ScalarEvent) and _huge_number(event):
                raise errors_at(name, event.start_mark, f"a number of more than {MAX_DIGITS} digits: quote it")
    except errors.ManifestErrors:
        raise
    except Exception:  # a syntax error: composing reports it with its position
        return


def _huge_number(event: Any) -> bool:
    value = str(event.value)
    return not event.style and len(value) > MAX_DIGITS and value.lstrip("+-").replace("_", "").isdigit()


def errors_at(name: str, mark: Any, message: str) -> errors.ManifestErrors:
    if mark is None:
        return errors_for(name, message)
    return errors.ManifestErrors([problem(name, message, line=mark.line + 1, column=mark.column + 1)])


def yaml_problem(name: str, error: Exception, text: str = "") -> errors.ManifestProblem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    position = getattr(error, "position", None)
    if mark is None and isinstance(position, int) and text:
        # A reader error (a control character) knows only its offset in the text.
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        reason = getattr(error, "reason", None) or "unreadable character"
        return errors.ManifestProblem(errors.Position(name, line, column), f"{reason} (#x{ord(text[position]):04x})")
    problem = getattr(error, "problem", None) or str(error).split("\n", 1)[0]
    context = getattr(error, "context", None)
    message = f"{context}: {problem}" if context and "duplicate" not in str(problem) else str(problem)
    if "duplicate key" in str(problem):
        message = str(problem).split(" with value")[0]
    if "could not determine a constructor" in str(problem):
        message = "YAML tags that construct objects are not allowed: " + str(problem).split("tag ")[-1]
    line = mark.line + 1 if mark is not None else 1
    column = mark.column + 1 if mark is not None else 1
    return errors.ManifestProblem(errors.Position(name, line, column), message)


def check_expansion(name: str, data: Any, line: int) -> None:
    seen: dict[int, tuple[int, int]] = {}
    values, chars = _expanded_size(data, seen, set())
    if values > MAX_EXPANDED_NODES:
        raise errors_for(name, f"aliases expand to over {MAX_EXPANDED_NODES} values: refused", line=line)
    if chars > MAX_EXPANDED_CHARS:
        raise errors_for(name, f"aliases expand to over {MAX_EXPANDED_CHARS} characters of text: refused", line=line)


TOO_BIG: Final = (MAX_EXPANDED_NODES + 1, MAX_EXPANDED_CHARS + 1)


def _expanded_size(value: Any, seen: dict[int, tuple[int, int]], active: set[int]) -> tuple[int, int]:
    """The values and the characters (of strings and keys) the tree holds once every alias is expanded."""
    if not isinstance(value, (dict, list)):
        return 1, len(value) if isinstance(value, (str, bytes)) else 0
    key = id(value)
    if key in active:
        return TOO_BIG  # an alias inside itself: a recursive structure
    if key in seen:
        return seen[key]
    active.add(key)
    total, chars = 1, 0
    if isinstance(value, dict):
        chars = sum(len(name) for name in value if isinstance(name, str))
    items: Iterable[Any] = value.values() if isinstance(value, dict) else value
    for item in items:
        values, text = _expanded_size(item, seen, active)
        total, chars = total + values, chars + text
        if total > MAX_EXPANDED_NODES or chars > MAX_EXPANDED_CHARS:
            break
    active.discard(key)
    seen[key] = (total, chars)
    return total, chars


def problem(name: str, message: str, *, line: int = 1, column: int = 1) -> errors.ManifestProblem:
    """A problem at a position (1-based); the whole file's problems start at its top."""
    return errors.ManifestProblem(errors.Position(name, line, column), message)


def errors_for(name: str, message: str, *, line: int = 1) -> errors.ManifestErrors:
    return errors.ManifestErrors([problem(name, message, line=line)])
