"""ruamel.yaml as manifests need it: one safe loader a run, its C parser and composer with a resolver that remembers
its answers, and ruamel's own pure-Python path where the C extension is missing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, ClassVar, Final


@functools.cache
def shared_yaml() -> Any:
    """One loader for the run: building one looks for plugins on disk, which costs more than a small file."""
    return new_yaml()


def new_yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=False)
    yaml.Resolver = resolver_class()
    return yaml


RESOLVED_CACHE_LIMIT: Final = 50_000


@functools.cache
def resolver_class() -> Any:
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


def nodes(loader: Any) -> Iterator[Any]:
    try:
        while loader.check_node():
            yield loader.get_node()
    finally:
        loader.dispose()


@functools.cache
def loader_class() -> Any:
    """ruamel's C parser and composer and its safe constructor in one class, as ``YAML.compose_all`` makes it.

    ``compose_all`` builds this class anew for every stream; built once, a small file costs less.
    """
    from ruamel.yaml.constructor import SafeConstructor

    try:
        from _ruamel_yaml import CParser  # type: ignore[import-not-found]
    except ImportError:  # no C extension: ruamel's pure Python classes, through its own API
        return _PureLoader
    resolver = resolver_class()

    class Loader(CParser, SafeConstructor, resolver):  # type: ignore[misc, valid-type]
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            self._parser = self._composer = self
            SafeConstructor.__init__(self, loader=self)
            self.allow_duplicate_keys = False
            resolver.__init__(self, version=None, loadumper=self)

        def dispose(self) -> None:
            """Done with: the loader refers to itself (as ruamel's parser, composer, constructor and resolver at
            once), a cycle only the collector would free, and a run may parse with the collector off. Those
            references are dropped, so its count of references frees it."""
            CParser.dispose(self)
            self.__dict__.clear()

    return Loader


class _PureLoader:
    """The same interface over ``YAML.compose_all``, where ruamel has no C extension."""

    def __init__(self, text: str) -> None:
        # Its own instance: a file that fails half-way leaves ruamel's constructor with state for the next one.
        self._yaml = new_yaml()
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
