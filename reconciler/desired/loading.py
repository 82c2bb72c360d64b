"""Finding and parsing manifest files: the edge where YAML text becomes plain data with positions.

Files are parsed with ruamel.yaml's safe loader (C-accelerated when ``ruamel.yaml.clib`` is installed), which
builds no object from a tag. Positions are not kept for every value: a document remembers where it starts, and
:func:`locate` re-reads a file only when something in it has to be reported, which is rare and cheap.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

from reconciler import errors
from reconciler.desired import yamldata

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES: Final = 1024 * 1024
# An alias expands to a shared object; a "billion laughs" file stays small in memory but would explode in
# every walk over it (validation, diffing, JSON). Bound the size of the expanded tree instead of banning aliases.
MAX_EXPANDED_NODES: Final = 100_000
# Values alone are not the size: one 400 KB string aliased 90,000 times is few values and 36 GB of text that
# validation scans and a plan serialises. Characters of keys and strings count too, expanded at every alias.
MAX_EXPANDED_CHARS: Final = 8 * DEFAULT_MAX_BYTES
# Upper-case extensions (``JOB.YAML``) are manifests too: a file skipped silently would look deleted to --prune.
SUFFIXES: Final = (".yaml", ".yml")


@dataclass(frozen=True)
class Document:
    """One YAML document of a manifest file, as plain data."""

    file: str
    index: int
    line: int
    data: Any


@functools.cache
def _yaml() -> Any:
    """One loader for the run: building one looks for plugins on disk, which costs more than a small file."""
    return _new_yaml()


def _new_yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=False)
    yaml.Resolver = _resolver_class()
    return yaml


RESOLVED_CACHE_LIMIT: Final = 50_000


@functools.cache
def _resolver_class() -> Any:
    """ruamel's resolver, remembering what each plain scalar resolves to.

    Resolving runs in Python for every scalar the C parser meets, and manifests repeat the same keys and
    values file after file. The answers are remembered by ``functools.lru_cache``, whose hits never leave C,
    and the table of implicit resolvers ruamel builds per loader (once per file) is built once. Manifests
    are YAML 1.2; a ``%YAML 1.1`` directive is not honoured (its ``yes`` would be a boolean, here it stays a
    string).
    """
    from ruamel.yaml.resolver import VersionedResolver

    class RememberingResolver(VersionedResolver):
        processing_version: ClassVar[tuple[int, int]] = (1, 2)

        @property
        def versioned_resolver(self) -> Any:
            return table

    # One instance answers for all: with no path resolvers, an answer depends only on the arguments.
    answering = RememberingResolver(version=None, loadumper=None)
    table = VersionedResolver.versioned_resolver.fget(answering)  # type: ignore[attr-defined]
    # Every argument is hashable (the kind is a class, the value a string or None, implicit a tuple of bools).
    RememberingResolver.resolve = staticmethod(  # type: ignore[method-assign]
        functools.lru_cache(maxsize=RESOLVED_CACHE_LIMIT)(functools.partial(VersionedResolver.resolve, answering))
    )
    return RememberingResolver


def find_files(paths: Sequence[str]) -> tuple[list[Path], list[errors.ManifestProblem]]:
    """Every manifest under ``paths`` (files as given, directories searched recursively), sorted per root."""
    found: list[Path] = []
    problems: list[errors.ManifestProblem] = []
    for given in paths:
        root = Path(given)
        if root.is_dir():
            found.extend(_walk(root, problems))
        elif root.is_file():
            found.append(root)
        else:
            problems.append(_problem(given, "no such file or folder", line=0, column=0))
    unique = list(dict.fromkeys(found))
    return unique, problems


def _walk(root: Path, problems: list[errors.ManifestProblem]) -> Iterator[Path]:
    """Manifests under ``root``, as ``os.walk`` would visit them (a folder's files, then its folders, sorted;
    hidden folders such as ``.git`` skipped). Directory entries answer most questions without a system call,
    which counts at thousands of files.

    Whatever the walk cannot read or will not follow is a problem at its path, never a silent skip: a manifest
    left out looks deleted, and ``--prune`` would delete its job. A link to a folder is refused (following it
    could leave the folder the user named, or loop), and ``JOB.YAML`` is read like ``job.yaml``.
    """
    yield from _visit(root, root, root.resolve(), problems)


def _visit(folder: Path, root: Path, real_root: Path, problems: list[errors.ManifestProblem]) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        problems.append(_problem(str(folder), f"cannot read folder: {error.strerror}"))
        return
    folders = []
    for entry in entries:
        try:
            is_folder = entry.is_dir()
        except OSError as error:
            problems.append(_problem(entry.path, f"cannot read: {error.strerror}"))
            continue
        if is_folder:
            if entry.is_symlink():
                problems.append(_problem(entry.path, "symlink to a folder: refused (name the folder itself)"))
            elif not entry.name.startswith("."):
                folders.append(Path(entry.path))
            continue
        if not entry.name.lower().endswith(SUFFIXES):
            continue
        path = Path(entry.path)
        plain = not entry.is_symlink() and entry.is_file(follow_symlinks=False)
        refusal = "" if plain else _refusal(path, root, real_root)
        if refusal:
            problems.append(_problem(str(path), refusal))
            continue
        yield path
    for inner in folders:
        yield from _visit(inner, root, real_root, problems)


def _refusal(path: Path, root: Path, real_root: Path) -> str:
    """Why a file found in a folder must not be read: a link out of the folder, or not a regular file."""
    try:
        # A link may point anywhere: refuse one that leads out of the folder the user named.
        if path.is_symlink() and not path.resolve(strict=True).is_relative_to(real_root):
            return f"symlink leads outside {root}: refused"
        if not stat.S_ISREG(path.stat().st_mode):
            return "not a regular file (a pipe or a device would block the run): refused"
    except (OSError, RuntimeError):
        return "symlink cannot be resolved (a loop, or a missing target): refused"
    return ""


def load(
    paths: Sequence[str], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[list[Document], list[errors.ManifestProblem]]:
    """Parse every manifest under ``paths``: the documents that parsed, and the problems of those that did not.

    Both are returned so that validation still checks the files that parsed, and one run reports everything.
    """
    with Parsing(paths, max_bytes=max_bytes) as parsing:
        return parsing.result()


# Parsing is CPU-bound pure Python past the C scanner: from this many files on, it is spread over forked
# processes, one per core. Forking is done only while the process has a single thread (the CLI at start),
# since a fork copies no other thread and may copy a lock one of them held.
PARALLEL_FROM: Final = 256


CHUNKS_PER_WORKER: Final = 4


class Parsing:
    """The manifests under some paths, being parsed: in forked processes from the moment this is made, so that
    what the caller does meanwhile (importing what it validates and plans with, reading the project file)
    overlaps the parse. :meth:`chunks` hands each share of the files over as soon as it is parsed, so the
    caller validates the first while the last are still parsing; leaving the ``with`` block stops the rest.
    """

    def __init__(self, paths: Sequence[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        files, self._problems = find_files(paths)
        self._chunks: list[Sequence[Path]] = [files]
        self._pool: Any = None
        self._futures: list[Any] = []
        self._current: Any = None
        import multiprocessing

        workers = min(os.cpu_count() or 1, 8)
        forkable = "fork" in multiprocessing.get_all_start_methods()  # not on Windows, nor where a platform lacks it
        if len(files) < PARALLEL_FROM or workers < 2 or threading.active_count() > 1 or not forkable:
            return
        import concurrent.futures

        size = -(-len(files) // (workers * CHUNKS_PER_WORKER))
        self._chunks = [files[start : start + size] for start in range(0, len(files), size)]
        log.debug("loading %d files in %d processes", len(files), workers)
        self._context = multiprocessing.get_context("fork")
        self._current = self._context.Array("l", [-1] * len(self._chunks), lock=False)
        _current[:] = [self._current]  # inherited by the forked workers, which write to it
        self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=self._context)
        self._futures = [
            self._pool.submit(_load_chunk, chunk, max_bytes, slot) for slot, chunk in enumerate(self._chunks)
        ]

    def __enter__(self) -> Parsing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def result(self) -> tuple[list[Document], list[errors.ManifestProblem]]:
        """Every document and every problem, once the whole parse is done."""
        documents: list[Document] = []
        problems: list[errors.ManifestProblem] = []
        for loaded, found in self.chunks():
            documents.extend(loaded)
            problems.extend(found)
        return documents, problems

    def chunks(self) -> Iterator[tuple[list[Document], list[errors.ManifestProblem]]]:
        """The documents and problems share by share, in the files' order (the folders' problems first)."""
        yield [], list(self._problems)
        if self._pool is None:
            yield _load_chunk(self._chunks[0], self.max_bytes)
            return
        import concurrent.futures

        try:
            for future in self._futures:
                yield future.result()
        except concurrent.futures.process.BrokenProcessPool:
            # A worker died (the C parser can crash on a file no check foresaw): name the files parsed then.
            busy = [self._chunks[slot][index] for slot, index in enumerate(self._current) if index >= 0]
            crashed = _crashers(busy, self.max_bytes, self._context)
            yield [], [_problem(str(path), _CRASHED) for path in crashed]
        finally:
            self.close()

    def close(self) -> None:
        """Stop the workers: a run that fails before it needs the manifests does not wait for their parse."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if not all(future.done() for future in self._futures):
            # The shares being parsed cannot be cancelled, only the waiting ones: the workers are stopped instead.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        _current.clear()


_CRASHED: Final = "the YAML parser crashed on this file: refused"
_current: list[Any] = []  # in a worker, which file of its chunk it is parsing, for the parent to name on a crash


def _crashers(busy: Sequence[Path], max_bytes: int, context: Any) -> list[Path]:
    """Which of the files the workers were parsing when one died crashes a parser alone (all of them if none)."""
    crashed = []
    for path in busy:
        process = context.Process(target=_load_chunk, args=([path], max_bytes))
        process.start()
        process.join()
        if process.exitcode != 0:
            crashed.append(path)
    return crashed or list(busy)


def _load_chunk(
    files: Sequence[Path], max_bytes: int, slot: int | None = None
) -> tuple[list[Document], list[errors.ManifestProblem]]:
    documents: list[Document] = []
    problems: list[errors.ManifestProblem] = []
    for index, path in enumerate(files):
        if slot is not None and _current:
            _current[0][slot] = index
        try:
            documents.extend(_load_file(path, max_bytes))
        except errors.ManifestErrors as error:
            problems.extend(error.problems)
    if slot is not None and _current:
        _current[0][slot] = -1
    return documents, problems


def read_text(path: Path, max_bytes: int) -> str:
    """A manifest's text, refusing what no manifest should be: huge, binary or not UTF-8."""
    name = str(path)
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            raise _errors(name, "not a regular file (a pipe or a device would block the run): refused")
        size = status.st_size
        if size > max_bytes:
            raise _errors(name, f"file is {size} bytes, over the limit of {max_bytes} (see --max-file-bytes)")
        raw = path.read_bytes()
    except OSError as error:
        raise _errors(name, f"cannot read: {error.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise _errors(name, "not UTF-8 text", line=line) from None


def load_file(file: str, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Document]:
    """One file's documents (a project file); :class:`errors.ManifestErrors` if it cannot be read or parsed."""
    return _load_file(Path(file), max_bytes)


def _load_file(path: Path, max_bytes: int) -> list[Document]:
    name = str(path)
    text = read_text(path, max_bytes)
    if _may_be_hostile(text):
        _scan(name, text)
    documents = []
    try:
        loader = _loader_class()(text)
        for index, node in enumerate(_nodes(loader)):
            if index >= MAX_DOCUMENTS:
                message = f"more than {MAX_DOCUMENTS} documents in one file: split it"
                raise _errors_at(name, node.start_mark if node is not None else None, message)
            if node is None:
                continue
            data, tree = yamldata.construct_document(loader, node, limit=MAX_EXPANDED_NODES, anchored="&" in text)
            if not tree:
                _check_expansion(name, data, node.start_mark.line + 1)
            if data is not None:
                documents.append(Document(name, index, node.start_mark.line + 1, data))
    except errors.ManifestErrors:
        raise
    except Exception as error:  # ruamel raises many unrelated classes; all carry marks or a message
        _scan(name, text)  # a clearer problem, at its position, when the events show one
        raise errors.ManifestErrors([yaml_problem(name, error, text)]) from None
    return documents


def _nodes(loader: Any) -> Iterator[Any]:
    try:
        while loader.check_node():
            yield loader.get_node()
    finally:
        loader.dispose()


@functools.cache
def _loader_class() -> Any:
    """ruamel's C parser and composer and its safe constructor in one class, as ``YAML.compose_all`` makes it.

    ``compose_all`` builds this class anew for every stream; built once, a small file costs less.
    """
    from ruamel.yaml.constructor import SafeConstructor

    try:
        from _ruamel_yaml import CParser  # type: ignore[import-not-found]
    except ImportError:  # no C extension: ruamel's pure Python classes, through its own API
        return _PureLoader
    resolver = _resolver_class()

    class Loader(CParser, SafeConstructor, resolver):  # type: ignore[misc, valid-type]
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            self._parser = self._composer = self
            SafeConstructor.__init__(self, loader=self)
            self.allow_duplicate_keys = False
            resolver.__init__(self, version=None, loadumper=self)

    return Loader


class _PureLoader:
    """The same interface over ``YAML.compose_all``, where ruamel has no C extension."""

    def __init__(self, text: str) -> None:
        # Its own instance: a file that fails half-way leaves ruamel's constructor with state for the next one.
        self._yaml = _new_yaml()
        self._nodes = iter(self._yaml.compose_all(text))
        self._next: Any = None

    def check_node(self) -> bool:
        self._next = next(self._nodes, StopIteration)
        return self._next is not StopIteration

    def get_node(self) -> Any:
        return self._next

    def dispose(self) -> None:
        self._nodes = iter(())

    def __getattr__(self, name: str) -> Any:  # the constructor's methods
        return getattr(self._yaml.constructor, name)


MAX_DEPTH: Final = 64
MAX_DOCUMENTS: Final = 1000  # a file of jobs, not a dump: past this, every document is one more error line
MAX_DIGITS: Final = 40


# Block collections nest on one line too: ``- - - x`` (and ``? ? x``) opens a level per indicator, with no
# indentation and no bracket to count. 50,000 of them overflow the C composer's stack (a segfault, no message).
_COMPACT_NESTING: Final = re.compile(rf"(?:[-?][ \t]+){{{MAX_DEPTH // 2}}}")
_DEEP_INDENT: Final = " " * 2 * MAX_DEPTH
_LONG_NUMBER: Final = re.compile(rf"[0-9]{{{MAX_DIGITS},}}")  # YAML reads only ASCII digits as a number


def _may_be_hostile(text: str) -> bool:
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
        or _LONG_NUMBER.search(text) is not None
    )


def _scan(name: str, text: str) -> None:
    """Walk the parser's events (which do not recurse) and refuse nesting too deep or numbers too long."""
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent, ScalarEvent

    depth = 0
    try:
        for event in _yaml().parse(text):
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _errors_at(name, event.start_mark, f"nested more than {MAX_DEPTH} levels deep: refused")
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
            elif isinstance(event, ScalarEvent) and _huge_number(event):
                raise _errors_at(name, event.start_mark, f"a number of more than {MAX_DIGITS} digits: quote it")
    except errors.ManifestErrors:
        raise
    except Exception:  # a syntax error: composing reports it with its position
        return


def _huge_number(event: Any) -> bool:
    value = str(event.value)
    return not event.style and len(value) > MAX_DIGITS and value.lstrip("+-").replace("_", "").isdigit()


def _errors_at(name: str, mark: Any, message: str) -> errors.ManifestErrors:
    if mark is None:
        return _errors(name, message)
    return errors.ManifestErrors([_problem(name, message, line=mark.line + 1, column=mark.column + 1)])


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


def _check_expansion(name: str, data: Any, line: int) -> None:
    seen: dict[int, tuple[int, int]] = {}
    values, chars = _expanded_size(data, seen, set())
    if values > MAX_EXPANDED_NODES:
        raise _errors(name, f"aliases expand to over {MAX_EXPANDED_NODES} values: refused", line=line)
    if chars > MAX_EXPANDED_CHARS:
        raise _errors(name, f"aliases expand to over {MAX_EXPANDED_CHARS} characters of text: refused", line=line)


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


def _problem(name: str, message: str, *, line: int = 1, column: int = 1) -> errors.ManifestProblem:
    """A problem at a position (1-based); the whole file's problems start at its top."""
    return errors.ManifestProblem(errors.Position(name, line, column), message)


def _errors(name: str, message: str, *, line: int = 1) -> errors.ManifestErrors:
    return errors.ManifestErrors([_problem(name, message, line=line)])


def locate(
    file: str, index: int, loc: Sequence[str | int], *, aliases: Mapping[str, str] | None = None
) -> errors.Position:
    """The position of the value at ``loc`` in document ``index`` of ``file``, or of its nearest parent.

    Keys in ``loc`` that are not in the document (a union's tag in a pydantic error) are skipped; ``aliases``
    names another spelling to look for (a manifest may write ``secret_id`` where the API says ``secretId``).
    """
    node = _document_nodes(file).get(index)
    if node is None:
        return errors.Position(file, 1, 1)
    mark = node.start_mark
    for part in loc:
        child = _child(node, part)
        if child is None and aliases and isinstance(part, str) and part in aliases:
            child = _child(node, aliases[part])
        if child is None:
            continue
        key_node, node = child
        mark = key_node.start_mark if key_node is not None else node.start_mark
        if not hasattr(node, "value") or not isinstance(node.value, list):
            break
    return errors.Position(file, mark.line + 1, mark.column + 1)


def _child(node: Any, part: str | int) -> tuple[Any, Any] | None:
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == part or (
                isinstance(part, int) and getattr(key_node, "value", None) == str(part)
            ):
                return key_node, value_node
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return None, node.value[part]
    return None


@functools.lru_cache(maxsize=64)
def _document_nodes(file: str) -> dict[int, Any]:
    try:
        text = read_text(Path(file), max_bytes=64 * DEFAULT_MAX_BYTES)
        return dict(enumerate(_yaml().compose_all(text)))
    except Exception:  # positions are a courtesy: a file that no longer parses reports at its top
        return {}
