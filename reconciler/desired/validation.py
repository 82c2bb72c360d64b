"""Documents to manifests, or every problem at once, each with the position the user has to fix.

Pydantic checks each document's shape, :mod:`~reconciler.desired.checks` what pydantic cannot express well
(credentials written in plain text, malformed references), and this module what needs more than one document
(duplicate job ids); :mod:`~reconciler.desired.wording` says each problem in words.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler import errors
from reconciler.desired import checks, environments, limits, loading, manifests, positions, wording

Loc = wording.Loc


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
    max_bytes: int = limits.DEFAULT_MAX_BYTES,
    context: environments.Context | None = None,
    parsing: loading.Parsing | None = None,
    keep_data: bool = True,
) -> list[Entry]:
    """Every manifest under ``paths``, as ``context``'s environment gets it; raises :class:`errors.ManifestErrors`
    with all problems of all files. ``parsing`` is the parse of ``paths`` if the caller began it already.

    Without ``keep_data`` an entry keeps where its document was, not its parsed tree: a caller that needs only
    the manifests lets 10,000 trees go as they are validated instead of holding them all at once.
    """
    found = shares(paths, max_bytes=max_bytes, context=context, parsing=parsing, keep_data=keep_data)
    return [entry for share in found for entry in share]


def shares(
    paths: Sequence[str],
    *,
    max_bytes: int = limits.DEFAULT_MAX_BYTES,
    context: environments.Context | None = None,
    parsing: loading.Parsing | None = None,
    keep_data: bool = True,
) -> Iterator[list[Entry]]:
    """:func:`load`, a share of the files at a time: each share is validated as soon as it is parsed, while the
    next ones are still parsing, and handed over at once, so the caller's work on it overlaps the parse too.

    The valid entries of every share come first; :class:`errors.ManifestErrors`, with all problems of all
    files (a job managed twice among them), is raised once the last share is handed over. A caller must
    therefore treat what it built from the shares as provisional until the iteration ends.
    """
    context = context or environments.Context()
    identities: list[_Identity] = []
    problems: list[errors.ManifestProblem] = []
    with contextlib.nullcontext(parsing) if parsing is not None else loading.Parsing(paths, max_bytes=max_bytes) as run:
        for documents, found in run.chunks():
            problems += found
            valid, invalid = _entries(_manifests_only(documents, context), context)
            problems += invalid
            if not keep_data:
                valid = [Entry(entry.document.without_data(), entry.manifest) for entry in valid]
            identities += map(_Identity.of, valid)  # the id, derived by a hash, is kept by the entry handed over
            yield valid
    problems.extend(_duplicate_ids(identities))
    if problems:
        raise errors.ManifestErrors(_unique(problems))


def load_every(
    paths: Sequence[str],
    contexts: Sequence[environments.Context],
    *,
    max_bytes: int = limits.DEFAULT_MAX_BYTES,
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
    return entries, [*problems, *_duplicate_ids(list(map(_Identity.of, entries)))]


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
    problems = [at(document, loc, message) for loc, message in checks.plain_checks(document.data, variables=variables)]
    try:
        manifest = manifests.Manifest.model_validate(document.data)
    except ValidationError as error:
        problems.extend(problem(document, item) for item in error.errors())
        return None, problems
    return (None if problems else Entry(document, manifest)), problems


def problem(document: loading.Document, item: Any) -> errors.ManifestProblem:
    """One pydantic error, in words, at its position."""
    return at(document, wording.loc_of(item), wording.message(item))


def at(document: loading.Document, loc: Loc, message: str) -> errors.ManifestProblem:
    where = positions.locate(document.file, document.index, loc)
    return errors.ManifestProblem(where, message)


@dataclass(frozen=True, slots=True)
class _Identity:
    """What the check for a job managed twice needs of an entry: its id and where it was, not its model or its
    parsed tree, which are let go as the shares are handed over."""

    job_id: str
    document: loading.Document
    by_id: bool  # named by metadata.id (else by its key)

    @classmethod
    def of(cls, entry: Entry) -> _Identity:
        return cls(entry.job_id, entry.document.without_data(), bool(entry.manifest.metadata.id))

    def position(self) -> errors.Position:
        return at(self.document, ("metadata", "id" if self.by_id else "key"), "").position


def _duplicate_ids(identities: list[_Identity]) -> Iterator[errors.ManifestProblem]:
    """Two manifests for one job would fight over it forever: each is reported, naming the other's position."""
    first: dict[str, _Identity] = {}
    for identity in identities:
        seen = first.setdefault(identity.job_id, identity)
        if seen is not identity:
            here, there = identity.position(), seen.position()
            yield errors.ManifestProblem(here, f"job {identity.job_id} is already managed by {there}")
            yield errors.ManifestProblem(there, f"job {identity.job_id} is also managed by {here}")


def _unique(problems: list[errors.ManifestProblem]) -> list[errors.ManifestProblem]:
    return list(dict.fromkeys(problems))
