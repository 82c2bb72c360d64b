"""Field-level changes between desired and current state: the only module that imports deepdiff.

Units are compared with plain equality first (milliseconds for thousands of jobs); within a unit that differs,
mappings are walked key by key and deepdiff runs on the lists that differ. Its result objects never leave
this module: callers get :class:`Change` values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from reconciler.planning import states

Path = tuple[str | int, ...]


class _Absent:
    """The side of a change where the value does not exist (an added or removed field)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Final = _Absent()


@dataclass(frozen=True, slots=True)
class Change:
    """One field that differs; ``before`` is the server's value, ``after`` the manifest's."""

    path: Path
    before: Any
    after: Any

    @property
    def kind(self) -> str:
        if self.before is ABSENT:
            return "add"
        if self.after is ABSENT:
            return "remove"
        return "change"

    @property
    def dotted(self) -> str:
        return dotted(self.path)

    @property
    def unit(self) -> str:
        """The unit the change belongs to, which names the call that writes it."""
        head = ".".join(str(part) for part in self.path[:2])
        return head if head in states.SECTION_OF_UNIT else str(self.path[0])


def dotted(path: Path) -> str:
    """``("params", "app", "sizes", 0)`` reads as ``params.app.sizes[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def changed_units(desired: states.Job, current: states.Job) -> list[str]:
    """The declared units whose values differ; undeclared units are never compared."""
    return [unit for unit, wanted in desired.units.items() if not states.equal(wanted, current.units.get(unit))]


def diff(desired: states.Job, current: states.Job) -> tuple[Change, ...]:
    """Every field that differs, in unit order, as our own change values."""
    changes: list[Change] = []
    for unit in states.UNITS:
        if unit in desired.units and not states.equal(desired.units[unit], current.units.get(unit)):
            changes.extend(_unit_changes(states.unit_path(unit), current.units.get(unit), desired.units[unit]))
    return tuple(changes)


def _unit_changes(path: Path, before: Any, after: Any) -> list[Change]:
    if before is None or after is None or not (isinstance(before, dict) and isinstance(after, dict)):
        return [Change(path, ABSENT if before is None else before, ABSENT if after is None else after)]
    return sorted(_mapping_changes(path, before, after), key=lambda change: [str(part) for part in change.path])


def _mapping_changes(path: Path, before: dict[str, Any], after: dict[str, Any]) -> Iterator[Change]:
    """Mappings are walked key by key, which costs little where most keys are equal; deepdiff is kept for
    what it does best, lists (items added, removed or changed in place), and only for the lists that differ.
    """
    for key in before.keys() | after.keys():
        old, new = before.get(key, ABSENT), after.get(key, ABSENT)
        if key in before and key in after and states.equal(old, new):
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            yield from _mapping_changes((*path, key), old, new)
        elif isinstance(old, list) and isinstance(new, list):
            yield from _list_changes((*path, key), old, new)
        else:
            yield Change((*path, key), old, new)


def _list_changes(path: Path, before: list[Any], after: list[Any]) -> Iterator[Change]:
    from deepdiff import DeepDiff
    from deepdiff.helper import notpresent

    tree = DeepDiff(before, after, view="tree", verbose_level=2)
    for levels in tree.values():
        for level in levels:
            sub = tuple(level.path(output_format="list"))
            old = ABSENT if level.t1 is notpresent else level.t1
            new = ABSENT if level.t2 is notpresent else level.t2
            yield Change((*path, *sub), old, new)
