"""Plain data from the nodes ruamel.yaml composes: manifests' common shapes built directly, the rest by ruamel.

ruamel's safe constructor serves every YAML feature through one generic path (a dispatch per node, a generator
per collection, bookkeeping for recursion), and that path is half the cost of loading a small manifest.
Manifests are mappings, sequences and plain scalars; those are built here, each scalar converted by ruamel's own
method for its tag, so ``0o17``, ``1_000`` or ``.inf`` mean exactly what ruamel says they mean. Any other
document (a tag, a timestamp, a merge key, a complex key, a duplicate key, a value used twice through an alias,
more values than the limit, a value its tag does not fit) is built by ruamel's constructor instead, which also
raises its errors with their positions.
"""

from __future__ import annotations

import functools
from typing import Any, Final

TAG: Final = "tag:yaml.org,2002:"
STR: Final = TAG + "str"
MAP: Final = TAG + "map"
SEQ: Final = TAG + "seq"
CONVERTED: Final = {
    TAG + "int": "construct_yaml_int",
    TAG + "float": "construct_yaml_float",
    TAG + "bool": "construct_yaml_bool",
    TAG + "null": "construct_yaml_null",
}


class Unusual(Exception):
    """The document uses something this module leaves to ruamel."""


def construct_document(constructor: Any, node: Any, *, limit: int, anchored: bool = True) -> tuple[Any, bool]:
    """The document's data, as ruamel's ``constructor.construct_document(node)`` would build it, and whether it
    is a plain tree of at most ``limit`` values: built here, where no node is visited twice, so it is no larger
    than its text. Otherwise the caller must bound what ruamel built (aliases may expand it).

    ``anchored`` says the text may hold an anchor (it has an ``&``): without one no alias can exist (an alias
    to no anchor is a parse error), so no node can be met twice and none is remembered."""
    try:
        return (_Builder if anchored else _CountingBuilder)(constructor, limit).build(node), True
    except Unusual:
        return constructor.construct_document(node), False


@functools.cache
def _node_classes() -> tuple[type, type, type]:
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    return ScalarNode, MappingNode, SequenceNode


class _Builder:
    """One document's walk. Every node is remembered, so a second visit (an alias) hands the document to ruamel:
    ruamel shares an aliased value, and building it again at each alias could turn a small hostile file into a
    huge tree. Past ``limit`` values the document goes to ruamel too, whose result the caller measures."""

    def __init__(self, constructor: Any, limit: int) -> None:
        self.constructor = constructor
        self.visited: set[int] = set()
        self.left = limit
        self.scalar, self.mapping, self.sequence = _node_classes()

    def build(self, node: Any) -> Any:
        self.visit(node)
        kind = node.__class__
        if kind is self.scalar:
            return self.convert(node)
        tag = str(node.ctag)
        if kind is self.mapping and tag == MAP:
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.__class__ is not self.scalar:
                    raise Unusual  # a complex key
                self.visit(key_node)
                key = self.convert(key_node)  # a merge key (<<) has its own tag: it is not converted here
                if key in result:
                    raise Unusual  # ruamel reports the duplicate at its position
                result[key] = self.build(value_node)
            return result
        if kind is self.sequence and tag == SEQ:
            return [self.build(item) for item in node.value]
        raise Unusual

    def count(self, node: Any) -> None:
        self.left -= 1
        if self.left < 0:
            raise Unusual

    def visit(self, node: Any) -> None:
        key = id(node)
        self.left -= 1
        if key in self.visited or self.left < 0:
            raise Unusual
        self.visited.add(key)

    def convert(self, node: Any) -> Any:
        tag = str(node.ctag)
        if tag == STR:
            return node.value
        method = CONVERTED.get(tag)
        if method is None:
            raise Unusual
        try:
            return getattr(self.constructor, method)(node)
        except Exception:  # a value its tag does not fit: ruamel reports it, in the order it finds problems
            raise Unusual from None


class _CountingBuilder(_Builder):
    """The walk of a text without an anchor, where no alias can exist: nodes are counted, not remembered. (A
    class, not a method set on the instance, which would make each builder a cycle for the collector.)"""

    visit = _Builder.count
