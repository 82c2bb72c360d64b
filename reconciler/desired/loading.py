"""Parsing manifest files: the edge where YAML text becomes plain data, spread over forked processes.

The files come from :mod:`~reconciler.desired.discovery`, each is read within :mod:`~reconciler.desired.limits`
and parsed by ruamel.yaml's safe loader (:mod:`~reconciler.desired.yamlparser`), which builds no object from a
tag. Positions are not kept for every value: a document remembers where it starts, and
:func:`~reconciler.desired.positions.locate` re-reads a file only when something in it has to be reported.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from reconciler import errors
from reconciler.desired import discovery, limits, yamldata, yamlparser

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of a manifest file, as plain data."""

    file: str
    index: int
    line: int
    data: Any

    def without_data(self) -> Document:
        """Where the document was, without its tree: what later reports need of a document once it is validated."""
        return self if self.data is None else Document(self.file, self.index, self.line, None)

    def __reduce__(self) -> tuple[type[Document], tuple[str, int, int, Any]]:
        """Pickled as its fields in order: each crosses from a parsing worker, and the pickling a slotted
        dataclass gets by default looks its fields up again for every document (twice the cost of the tree)."""
        return Document, (self.file, self.index, self.line, self.data)


def load(
    paths: Sequence[str], *, max_bytes: int = limits.DEFAULT_MAX_BYTES
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

    def __init__(self, paths: Sequence[str], *, max_bytes: int = limits.DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        files, self._problems = discovery.find_files(paths)
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
        self._current = _shared_slots(len(self._chunks))
        _current[:] = [self._current]  # inherited by the forked workers, which write to it
        self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=self._context)
        self._futures = [
            self._pool.submit(_load_pickled, chunk, max_bytes, slot) for slot, chunk in enumerate(self._chunks)
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
            while self._futures:  # each share's pickle is let go once it is handed over
                share = self._futures[0].result()
                del self._futures[0]
                yield pickle.loads(share)
        except concurrent.futures.process.BrokenProcessPool:
            # A worker died (the C parser can crash on a file no check foresaw): name the files parsed then.
            busy = [self._chunks[slot][index] for slot, index in enumerate(self._current) if index >= 0]
            crashed = _crashers(busy, self.max_bytes, self._context)
            yield [], [limits.problem(str(path), _CRASHED) for path in crashed]
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
        self._futures = []
        _current.clear()


_CRASHED: Final = "the YAML parser crashed on this file: refused"


def _shared_slots(count: int) -> memoryview:
    """``count`` integers, -1 each, that forked workers write and the parent reads: an anonymous shared mapping
    (``multiprocessing.Array`` would import ctypes first, 15-20 ms before the first worker can start)."""
    import array
    import mmap

    slots = memoryview(mmap.mmap(-1, 8 * count)).cast("q")
    slots[:] = array.array("q", [-1] * count)
    return slots


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


def _load_pickled(files: Sequence[Path], max_bytes: int, slot: int) -> bytes:
    """A worker's share, pickled by the worker itself: the executor unpickles each result as it arrives, and
    shares parsed faster than they are validated would otherwise wait as trees (ten times their pickle's
    size); as bytes, only the share being validated is ever a tree in the parent."""
    return pickle.dumps(_load_chunk(files, max_bytes, slot), protocol=pickle.HIGHEST_PROTOCOL)


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


def load_file(file: str, max_bytes: int = limits.DEFAULT_MAX_BYTES) -> list[Document]:
    """One file's documents (a project file); :class:`errors.ManifestErrors` if it cannot be read or parsed."""
    return _load_file(Path(file), max_bytes)


def _load_file(path: Path, max_bytes: int) -> list[Document]:
    name = str(path)
    text = limits.read_text(path, max_bytes)
    if limits.may_be_hostile(text):
        limits.scan(name, text)
    documents = []
    try:
        anchored = "&" in text  # no anchor, no alias: nodes are counted, not remembered
        loader = yamlparser.loader_class()(text)
        for index, node in enumerate(yamlparser.nodes(loader)):
            if index >= limits.MAX_DOCUMENTS:
                message = f"more than {limits.MAX_DOCUMENTS} documents in one file: split it"
                raise limits.errors_at(name, node.start_mark if node is not None else None, message)
            if node is None:
                continue
            data, tree = yamldata.construct_document(loader, node, limit=limits.MAX_EXPANDED_NODES, anchored=anchored)
            if not tree:
                limits.check_expansion(name, data, node.start_mark.line + 1)
            if data is not None:
                documents.append(Document(name, index, node.start_mark.line + 1, data))
    except errors.ManifestErrors:
        raise
    except Exception as error:  # ruamel raises many unrelated classes; all carry marks or a message
        limits.scan(name, text)  # a clearer problem, at its position, when the events show one
        raise errors.ManifestErrors([limits.yaml_problem(name, error, text)]) from None
    return documents
