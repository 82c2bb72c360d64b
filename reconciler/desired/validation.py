"""Documents to manifests, or every problem at once, each with the position the user has to fix.

Pydantic checks each document's shape; the checks that need more than one document (duplicate job ids) or
that pydantic cannot express well (credentials written in plain text, malformed references) run here too.
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import functools
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from reconciler import errors
from reconciler.desired import environments, loading, manifests
from reconciler.desired import variables as variables_module
from reconciler.planning import names

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Entry:
    """A valid manifest and the document it came from (for positions in later reports)."""

    document: loading.Document
    manifest: manifests.Manifest

    @functools.cached_property
    def job_id(self) -> str:
        """Derived from a key by a hash, and asked for many times per run: computed once."""
        return self.manifest.metadata.job_id

    @property
    def source(self) -> str:
        return f"{self.document.file}:{self.document.line}"


def load(
    paths: Sequence[str],
    *,
    max_bytes: int = loading.DEFAULT_MAX_BYTES,
    context: environments.Context | None = None,
    parsing: loading.Parsing | None = None,
) -> list[Entry]:
    """Every manifest under ``paths``, as ``context``'s environment gets it; raises :class:`errors.ManifestErrors`
    with all problems of all files. ``parsing`` is the parse of ``paths`` if the caller began it already.

    Each share of the files is validated as soon as it is parsed, while the next shares are still parsing.
    """
    context = context or environments.Context()
    entries: list[Entry] = []
    problems: list[errors.ManifestProblem] = []
    with contextlib.nullcontext(parsing) if parsing is not None else loading.Parsing(paths, max_bytes=max_bytes) as run:
        for documents, found in run.chunks():
            problems += found
            valid, invalid = _entries(_manifests_only(documents, context), context)
            entries += valid
            problems += invalid
    problems.extend(_duplicate_ids(entries))
    if problems:
        raise errors.ManifestErrors(_unique(problems))
    return entries


def load_every(
    paths: Sequence[str],
    contexts: Sequence[environments.Context],
    *,
    max_bytes: int = loading.DEFAULT_MAX_BYTES,
    parsing: loading.Parsing | None = None,
) -> dict[str | None, list[Entry]]:
    """The manifests as each environment gets them, parsed once. A problem found in every environment is
    reported once; one found in some is labelled with them (``[prod]``), since a fix must go where it applies."""
    context = contexts[0] if contexts else None
    documents, problems = documents_of(paths, max_bytes=max_bytes, context=context, parsing=parsing)
    found: dict[errors.ManifestProblem, list[str]] = {}
    entries: dict[str | None, list[Entry]] = {}
    for context in contexts:
        entries[context.env], problems_here = entries_of(documents, context)
        for item in _unique(problems_here):
            found.setdefault(item, []).append(context.env or "")
    everywhere = len(contexts)
    for item, envs in found.items():
        label = "" if len(envs) == everywhere else "[" + ", ".join(envs) + "] "
        problems.append(errors.ManifestProblem(item.position, label + item.message))
    if problems:
        raise errors.ManifestErrors(_unique(problems))
    return entries


def documents_of(
    paths: Sequence[str],
    *,
    max_bytes: int,
    context: environments.Context | None,
    parsing: loading.Parsing | None = None,
) -> tuple[list[loading.Document], list[errors.ManifestProblem]]:
    """The documents under ``paths``, the project file's own left out (it is no manifest)."""
    documents, problems = parsing.result() if parsing is not None else loading.load(paths, max_bytes=max_bytes)
    return _manifests_only(documents, context), problems


def _manifests_only(documents: list[loading.Document], context: environments.Context | None) -> list[loading.Document]:
    project = context.project if context is not None else None
    if project is None:
        return documents
    own = Path(os.path.abspath(project.file))
    return [document for document in documents if Path(os.path.abspath(document.file)) != own]


def entries_of(
    documents: Sequence[loading.Document], context: environments.Context
) -> tuple[list[Entry], list[errors.ManifestProblem]]:
    """Each document resolved for the context's environment and validated; the ones it leaves out dropped."""
    entries, problems = _entries(documents, context)
    return entries, [*problems, *_duplicate_ids(entries)]


def _entries(
    documents: Sequence[loading.Document], context: environments.Context
) -> tuple[list[Entry], list[errors.ManifestProblem]]:
    entries = []
    problems: list[errors.ManifestProblem] = []
    for document in documents:
        data, found = environments.resolve(document.data, context)
        problems.extend(at(document, loc, message) for loc, message in found)
        if data is environments.EXCLUDED:
            continue
        resolved = document if data is document.data else replace(document, data=data)
        entry, invalid = validate(resolved, variables=context.project is not None)
        problems.extend(invalid)
        if entry is not None and not found:
            entries.append(entry)
    return entries, problems


def validate(
    document: loading.Document, *, variables: bool = False
) -> tuple[Entry | None, list[errors.ManifestProblem]]:
    """One document against the model, plus the checks on credentials and references. ``variables`` says the
    variables were filled in already (a project exists); without a project a ``${var:...}`` is an error."""
    problems = [at(document, loc, message) for loc, message in _plain_checks(document.data, variables=variables)]
    try:
        manifest = manifests.Manifest.model_validate(document.data)
    except ValidationError as error:
        problems.extend(problem(document, item) for item in error.errors())
        return None, problems
    return (None if problems else Entry(document, manifest)), problems


def problem(document: loading.Document, item: Any) -> errors.ManifestProblem:
    """One pydantic error, in words, at its position."""
    return at(document, _loc(item), _message(item))


def at(document: loading.Document, loc: Loc, message: str) -> errors.ManifestProblem:
    where = loading.locate(document.file, document.index, loc)
    return errors.ManifestProblem(where, message)


def _loc(item: Any) -> Loc:
    loc = tuple(item["loc"])
    return (*loc, "dataSourceDescriptor") if item["type"] == "union_tag_invalid" else loc


KNOWN_KEYS: Final = sorted(manifests.known_keys())


def _message(item: Any) -> str:
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
    if kind == "union_tag_invalid":  # reported at the descriptor (see _loc), which the message names
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
        message = f"{message}, got {_kind_of(item.get('input'))}"
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


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) < 40 else f"a string of {len(value):,} characters"
    if isinstance(value, float) and not math.isfinite(value):
        return f"the number {value}"
    kinds = {bool: "a boolean", int: "an integer", float: "a number", dict: "a mapping", list: "a list"}
    kinds |= {bytes: "binary data", set: "a set", datetime.date: "a date", datetime.datetime: "a timestamp"}
    return kinds.get(type(value), f"a {type(value).__name__}")


MAX_EXACT_DOUBLE: Final = 2**53
JSON_SCALARS: Final = (str, int, float, bool, type(None))


def _plain_checks(data: Any, *, variables: bool = False) -> Iterator[tuple[Loc, str]]:
    """What pydantic cannot see: values that are not JSON, nulls, literal credentials, malformed references.

    Manifests live in git, so a credential written in plain text is refused with the way out; a reference must
    be the whole value, so ``Bearer ${env:X}`` is refused rather than sent with the text ``${env:X}`` in it.
    """
    spec = data.get("spec") if isinstance(data, dict) else None
    if not variables and isinstance(data, dict):
        yield from _unresolved(data.get("metadata"))
    if isinstance(spec, dict):
        if _suspect(spec, 1, params=False, credential=False):
            yield from _check(spec, ("spec",), credential=None, variables=variables)
        description = spec.get("description")
        if isinstance(description, str) and "${env:" in description:
            yield ("spec", "description"), "description is written once, at creation: it cannot be a reference"
        if isinstance(description, str) and any(line.startswith("managed-by:") for line in description.splitlines()):
            yield ("spec", "description"), "a line starting 'managed-by:' is the tool's ownership marker: reword it"


def _unresolved(metadata: Any) -> Iterator[tuple[Loc, str]]:
    """Without a project no variable is declared: a ``${var:...}`` would otherwise reach the API as text. The spec's
    scalars are checked in :func:`_check_scalar`, which walks them anyway; here the metadata's."""
    if not isinstance(metadata, dict):
        return
    labels = metadata.get("labels")
    items: list[tuple[Loc, Any]] = [(("metadata", "key"), metadata.get("key"))]
    if isinstance(labels, dict):
        items += [(("metadata", "labels", name), value) for name, value in labels.items()]
    for loc, value in items:
        if isinstance(value, str) and variables_module.STARTED in value:
            yield loc, _undeclared(value)


def _undeclared(value: str) -> str:
    name = value.split(variables_module.STARTED, 1)[1].split("}", 1)[0]
    return variables_module.unknown(name, [])


def _suspect(value: Any, depth: int, *, params: bool, credential: bool) -> bool:
    """Whether :func:`_check` could find anything in ``value`` (at ``depth`` in the document, under
    ``spec.params`` or not, inside a credential field or not). Every manifest's every value passes here, and
    almost none holds a problem: this walk builds no location and no generator, and errs towards yes (any
    ``$`` or ``@`` in a string), leaving the exact problem and its position to :func:`_check`.
    """
    if isinstance(value, str):
        return credential or "$" in value or "@" in value
    if isinstance(value, bool):
        return credential
    if isinstance(value, int):
        return credential or (params and depth > 3 and abs(value) > MAX_EXACT_DOUBLE)
    if isinstance(value, float):
        return credential or not math.isfinite(value)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return True
            inner = credential or names.is_credential_name(key)
            if _suspect(item, depth + 1, params=params or (depth == 1 and key == "params"), credential=inner):
                return True
        return False
    if isinstance(value, list):
        for item in value:  # a loop, not any(): no generator per level  # noqa: SIM110
            if _suspect(item, depth + 1, params=params, credential=credential):
                return True
        return False
    return True  # null (refused outside params' Structs) and every kind JSON does not have


def _check(value: Any, loc: Loc, *, credential: str | None, variables: bool) -> Iterator[tuple[Loc, str]]:
    struct = len(loc) > 3 and loc[1] == "params"  # inside params.<engine>: a free-form protobuf Struct
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield (*loc, key), f"keys must be strings, got {_kind_of(key)}: quote it"
                continue
            inner = key if names.is_credential_name(key) else credential
            yield from _check(item, (*loc, key), credential=inner, variables=variables)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _check(item, (*loc, index), credential=credential, variables=variables)
        return
    yield from _check_scalar(value, loc, credential=credential, struct=struct, variables=variables)


def _check_scalar(
    value: Any, loc: Loc, *, credential: str | None, struct: bool, variables: bool
) -> Iterator[tuple[Loc, str]]:
    if not isinstance(value, JSON_SCALARS) or (isinstance(value, float) and not math.isfinite(value)):
        yield loc, f"{_kind_of(value)} is not a JSON value: quote it to make it a string"
    elif value is None and not struct:
        yield loc, "null is not allowed here: remove the key to leave it unmanaged, or give {} to clear it"
    elif struct and isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_EXACT_DOUBLE:
        yield loc, "params numbers travel as doubles: integers beyond 2^53 would change; quote it"
    elif not variables and isinstance(value, str) and variables_module.STARTED in value:
        yield loc, _undeclared(value)
    elif isinstance(value, str) and "${env:" in value and not names.REFERENCE.match(value):
        yield loc, "a reference must be the whole value, as ${env:NAME} (NAME: letters, digits, _)"
    elif isinstance(value, str) and value.startswith("${env:" + names.RESERVED_PREFIX):
        yield loc, f"{names.RESERVED_PREFIX}* variables are this tool's own settings: a manifest may not use them"
    elif credential is not None and not (isinstance(value, str) and names.REFERENCE.match(value)):
        yield loc, f"{credential} holds a literal credential: reference it instead, as ${{env:NAME}}"
    elif isinstance(value, str) and names.has_userinfo(value):
        yield loc, "a URL with user:password@ holds a literal credential: reference it instead, as ${env:NAME}"


def _duplicate_ids(entries: list[Entry]) -> Iterator[errors.ManifestProblem]:
    """Two manifests for one job would fight over it forever: each is reported, naming the other's position."""
    first: dict[str, Entry] = {}
    for entry in entries:
        seen = first.setdefault(entry.job_id, entry)
        if seen is not entry:
            here, there = _identity_at(entry), _identity_at(seen)
            yield errors.ManifestProblem(here.position, f"job {entry.job_id} is already managed by {there.position}")
            yield errors.ManifestProblem(there.position, f"job {entry.job_id} is also managed by {here.position}")


def _identity_at(entry: Entry) -> errors.ManifestProblem:
    loc: Loc = ("metadata", "id" if entry.manifest.metadata.id else "key")
    return at(entry.document, loc, "")


def _unique(problems: list[errors.ManifestProblem]) -> list[errors.ManifestProblem]:
    return list(dict.fromkeys(problems))
