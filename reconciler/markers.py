"""The ownership marker: how a job says it was created by this tool, for which manifest, at which generation.

``description`` is the one free-text field of a job; it is set at creation and no PATCH changes it, so the
marker written there at creation stays true for the job's life. Ownership is read from it and nowhere else:
prune deletes only marked drafts, and a key's generations are told apart by it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Final

from reconciler import manifests

PREFIX: Final = "managed-by: reconciler"
# The whole line, with the name in the alphabets keys and ids are held to (manifests.KEY_PATTERN, JOB_ID_PATTERN).
_LINE: Final = re.compile(
    r"managed-by: reconciler; (key|id)=([A-Za-z0-9][A-Za-z0-9_.:/-]*); generation=(0|[1-9]\d{0,8})"
)


@dataclass(frozen=True)
class Marker:
    """Whose job this is: a manifest's key (or fixed id) and the generation created for it."""

    kind: str  # "key" or "id"
    name: str
    generation: int = 0

    @property
    def claim(self) -> tuple[str, str]:
        return (self.kind, self.name)

    def line(self) -> str:
        return f"{PREFIX}; {self.kind}={self.name}; generation={self.generation}"


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
    if match is None:
        return None
    return Marker(match.group(1), match.group(2), int(match.group(3)))


def generation_id(key: str, generation: int) -> str:
    """Generation 0 of a key is UUIDv5(key); generation N (a replacement) is UUIDv5(``KEY#N``)."""
    name = key if generation == 0 else f"{key}#{generation}"
    return str(uuid.uuid5(manifests.KEY_NAMESPACE, name))


@dataclass(frozen=True)
class Identity:
    """How a manifest names its job: a fixed id, or a key whose generations have derived ids."""

    base_id: str
    key: str | None = None

    def generation_id(self, generation: int) -> str:
        if self.key is None:
            return self.base_id
        return generation_id(self.key, generation)

    def marker(self, generation: int) -> Marker:
        return Marker("key", self.key, generation) if self.key is not None else Marker("id", self.base_id, 0)

    @property
    def claim(self) -> tuple[str, str]:
        """What a marker written for this manifest says: ``("key", KEY)`` or ``("id", ID)``."""
        return ("key", self.key) if self.key is not None else ("id", self.base_id)


def of(metadata: manifests.Metadata) -> Identity:
    return Identity(metadata.job_id, metadata.key)
