"""Finding manifest files: every YAML file under the paths given, and a problem for whatever cannot or must not be
read, never a silent skip (a manifest left out looks deleted to --prune).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from reconciler import errors
from reconciler.desired import limits

# Upper-case extensions (``JOB.YAML``) are manifests too: a file skipped silently would look deleted to --prune.
SUFFIXES: Final = (".yaml", ".yml")


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
            problems.append(limits.problem(given, "no such file or folder", line=0, column=0))
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
        problems.append(limits.problem(str(folder), f"cannot read folder: {error.strerror}"))
        return
    folders = []
    for entry in entries:
        try:
            is_folder = entry.is_dir()
        except OSError as error:
            problems.append(limits.problem(entry.path, f"cannot read: {error.strerror}"))
            continue
        if is_folder:
            if entry.is_symlink():
                problems.append(limits.problem(entry.path, "symlink to a folder: refused (name the folder itself)"))
            elif not entry.name.startswith("."):
                folders.append(Path(entry.path))
            continue
        if not entry.name.lower().endswith(SUFFIXES):
            continue
        path = Path(entry.path)
        plain = not entry.is_symlink() and entry.is_file(follow_symlinks=False)
        refusal = "" if plain else _refusal(path, root, real_root)
        if refusal:
            problems.append(limits.problem(str(path), refusal))
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
