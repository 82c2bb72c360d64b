"""The ownership marker: how a job says it was created by this tool, for which manifest, at which generation.

``description`` is the one free-text field of a job; it is set at creation and no PATCH changes it, so the
marker written there at creation stays true for the job's life. Ownership is read from it and nowhere else:
prune deletes only marked drafts, and a key's generations are told apart by it.

The marker also records where the job was created from: the environment (when a project names one) and the
*root*, the path the run was given, relative to the tree's anchor. A run prunes only what its own roots and
environment created, so ``plan jobs/ml --prune`` never judges the drafts that ``jobs/cv`` made. Markers written
before roots were recorded carry neither, and read as created from the anchor itself (``.``).
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from reconciler.planning import names

PREFIX: Final = "managed-by: reconciler"
# The whole line, with the name in the alphabets keys and ids are held to (names.KEY_PATTERN, JOB_ID_PATTERN).
# A root is a relative posix path (or ".", or an absolute one outside any anchor) with every other character
# percent-quoted (roots.label), so neither "; " nor a line break can appear in it.
_LINE: Final = re.compile(
    r"managed-by: reconciler; (key|id)=([A-Za-z0-9][A-Za-z0-9_.:/-]*); generation=(0|[1-9]\d{0,8})"
    r"(?:; env=([a-z0-9][a-z0-9_-]{0,62}))?(?:; root=(\.|/?[A-Za-z0-9_.~%+@-][A-Za-z0-9_.~%+@/-]{0,511}))?"
)
ANCHOR: Final = "."


@dataclass(frozen=True, slots=True)
class Marker:
    """Whose job this is: a manifest's key (or fixed id) and the generation created for it."""

    kind: str  # "key" or "id"
    name: str
    generation: int = 0
    root: str | None = None  # None: written before roots were recorded, read as the anchor
    env: str | None = None

    @property
    def claim(self) -> tuple[str, str]:
        return (self.kind, self.name)

    def line(self) -> str:
        env = f"; env={self.env}" if self.env else ""
        root = f"; root={self.root}" if self.root else ""
        return f"{PREFIX}; {self.kind}={self.name}; generation={self.generation}{env}{root}"

    @property
    def origin(self) -> str:
        """Where the job was created from, in words for a plan."""
        where = f"created from {self.root or ANCHOR}"
        return f"{where} in environment {self.env}" if self.env else where


def describe(description: str | None, marker: Marker) -> str:
    """The description a created job carries: the manifest's own text, then the marker line."""
    own = (description or "").rstrip()
    return f"{own}\n{marker.line()}" if own else marker.line()


def read(description: str) -> Marker | None:
    """The job's marker, or None when it has none that is certain: not ours, so never pruned.

    Strict on purpose: a description with two marker lines (one forged through a key or the manifest's own text)
    or a malformed one is not read as either claim, since a wrong claim makes a job look orphaned.
    """
    lines = [line for line in (description or "").splitlines() if line.startswith("managed-by:")]
    if len(lines) != 1:
        return None
    match = _LINE.fullmatch(lines[0])
    if match is None or not _plain_root(match.group(5)):
        return None
    return Marker(match.group(1), match.group(2), int(match.group(3)), match.group(5), match.group(4))


def _plain_root(root: str | None) -> bool:
    """A root with ``..`` or an empty step could name one folder as another: no claim that is certain."""
    if root is None or root == ANCHOR:
        return True
    return all(step not in ("", ".", "..") for step in root.removeprefix("/").split("/"))


class Standing(enum.Enum):
    """How a run stands to a marked job no manifest of the run claims."""

    OWN = "own"  # created from one of the run's roots (or below one): the run judges it
    WIDER = "wider"  # created from a root that holds the run's: other manifests may claim it, so not judged
    OTHER = "other"  # another folder or environment: not the run's business, not even listed


@dataclass(frozen=True)
class Scope:
    """What a run owns: the roots it was given and its environment."""

    roots: tuple[str, ...] = (ANCHOR,)
    env: str | None = None

    def standing(self, marker: Marker) -> Standing:
        if marker.env != self.env:
            return Standing.OTHER
        root = marker.root or ANCHOR
        if any(_within(root, mine) for mine in self.roots):
            return Standing.OWN
        if any(_within(mine, root) for mine in self.roots):
            return Standing.WIDER
        return Standing.OTHER

    @classmethod
    def of(cls, roots: Iterable[str], env: str | None = None) -> Scope:
        return cls(tuple(dict.fromkeys(roots)) or (ANCHOR,), env)


def _within(root: str, outer: str) -> bool:
    """``root`` is ``outer`` or lies below it (``.`` holds every relative root)."""
    if root == outer:
        return True
    if outer == ANCHOR:
        return not root.startswith("/")
    return root.startswith(outer.rstrip("/") + "/")


def generation_id(key: str, generation: int) -> str:
    """Generation 0 of a key is UUIDv5(key); generation N (a replacement) is UUIDv5(``KEY#N``)."""
    name = key if generation == 0 else f"{key}#{generation}"
    return str(uuid.uuid5(names.KEY_NAMESPACE, name))


@dataclass(frozen=True, slots=True)
class Identity:
    """How a manifest names its job: a fixed id, or a key whose generations have derived ids."""

    base_id: str
    key: str | None = None
    root: str | None = None
    env: str | None = None

    def generation_id(self, generation: int) -> str:
        if self.key is None:
            return self.base_id
        return generation_id(self.key, generation)

    def marker(self, generation: int) -> Marker:
        if self.key is not None:
            return Marker("key", self.key, generation, self.root, self.env)
        return Marker("id", self.base_id, 0, self.root, self.env)

    @property
    def claim(self) -> tuple[str, str]:
        """What a marker written for this manifest says: ``("key", KEY)`` or ``("id", ID)``."""
        return ("key", self.key) if self.key is not None else ("id", self.base_id)
