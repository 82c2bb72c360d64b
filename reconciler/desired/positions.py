"""Positions: the line and column of a value in a manifest, found by reading the file again, only when a problem or a
changed field has to be shown there.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from reconciler import errors
from reconciler.desired import limits, loading, yamlparser
from reconciler.planning import plans, states


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
        text = limits.read_text(Path(file), max_bytes=64 * limits.DEFAULT_MAX_BYTES)
        return dict(enumerate(yamlparser.shared_yaml().compose_all(text)))
    except Exception:  # positions are a courtesy: a file that no longer parses reports at its top
        return {}


SNAKE_SPELLINGS: Final = {camel: snake for snake, camel in states.KNOWN_SOURCE_FIELDS.items()}


def with_lines(plan: plans.Plan, documents: Sequence[loading.Document]) -> plans.Plan:
    """The manifest line of every changed field: only the files with changes are read again, for positions."""

    def located(job: plans.JobPlan, document: loading.Document) -> plans.JobPlan:
        if not job.changes:
            return job
        lines = {
            change.dotted: locate(document.file, document.index, ("spec", *change.path), aliases=SNAKE_SPELLINGS).line
            for change in job.changes
        }
        return replace(job, lines=lines)

    return replace(plan, jobs=tuple(map(located, plan.jobs, documents)))
