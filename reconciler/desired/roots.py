"""Where a run's paths sit in their tree: the root labels written into ownership markers.

A label must not depend on the machine or the working directory, or a job created from CI would look like
another root's on a laptop. So a path is named relative to its *anchor*: the project file's folder when a
project is in use, else the nearest folder at or above it that holds ``.git`` (the repository's top).
``plan jobs/ml`` from the top and ``plan ml`` from ``jobs/`` name the same root, ``jobs/ml``. A path in
neither is named by its absolute path, the same from any working directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from reconciler.planning import markers

# Characters a label keeps as they are; every other one is percent-quoted, so a label never holds "; ".
_SAFE = "/._-~+@"


def nearest(path: Path, name: str) -> Path | None:
    """The nearest folder at or above ``path`` that holds ``name`` (``.git``, ``reconciler.yaml``), or None."""
    start = path if path.is_dir() else path.parent
    for folder in (start, *start.parents):
        if (folder / name).exists():
            return folder
    return None


def anchor(path: Path) -> Path | None:
    """The top of the repository ``path`` is in, or None outside any."""
    return nearest(path, ".git")


def label(given: str, project: Path | None = None) -> str:
    """The root label of one path argument: relative to its anchor (the project file's folder when there is
    one, else the repository's top), or absolute outside both; posix, quoted."""
    path = Path(os.path.abspath(given))
    base = project if project is not None and path.is_relative_to(project) else anchor(path)
    text = path.as_posix() if base is None else path.relative_to(base).as_posix()
    return markers.ANCHOR if text in ("", ".") else quote(text, safe=_SAFE)


def finder(paths: Sequence[str], given_labels: Sequence[str]) -> Callable[[str], str]:
    """For a file, the label of the first path argument it was found under (the one ``find_files`` kept it
    for); the arguments are made absolute once, not once per file."""
    folders = [(_absolute(given), name) for given, name in zip(paths, given_labels, strict=True)]
    fallback = given_labels[0] if given_labels else markers.ANCHOR

    def root_of(file: str) -> str:
        # Asked once per manifest: absolute, normalised paths compared as strings, at a separator, as
        # Path.is_relative_to compares them, without building two paths a file.
        target = _absolute(file)
        for root, name in folders:
            if target == root or target.startswith(root.rstrip(os.sep) + os.sep):
                return name
        return fallback

    return root_of


def _absolute(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))
