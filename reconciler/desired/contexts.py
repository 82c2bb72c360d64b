"""Which project and environment a run uses: the project file found (or named), the environment chosen, the
variables' values. The edge where ``reconciler.yaml``, ``--env``, ``BYTENITE_ENV``, ``BYTENITE_VAR_*`` and
``--var`` meet; the resolving itself is :mod:`reconciler.desired.environments`, pure.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from reconciler import errors
from reconciler.desired import environments, limits, loading, roots, variables

if TYPE_CHECKING:
    from reconciler.desired import projects

ENV_VARIABLE: Final = "BYTENITE_ENV"
FILE_NAME: Final = "reconciler.yaml"


def choose(
    paths: Sequence[str],
    *,
    project: str | None = None,
    env: str | None = None,
    given: Sequence[str] = (),
    environ: Mapping[str, str],
    max_bytes: int = limits.DEFAULT_MAX_BYTES,
) -> environments.Context:
    """The run's context. A project that defines environments needs one chosen: a plan or a render of "no
    environment" would be none of them (``validate`` without one checks them all, through :func:`every`)."""
    loaded = _loaded(paths, project, max_bytes)
    name = env or environ.get(ENV_VARIABLE, "").strip() or None
    names = loaded.names if loaded is not None else []
    source = "--env" if env else ENV_VARIABLE
    if name is not None and not names:
        where = f"the project file {loaded.file}" if loaded is not None else "no project file (reconciler.yaml)"
        raise errors.ConfigError(f"{source} {name}: {where} defines no environments")
    if name is not None and name not in names:
        hint = variables.did_you_mean(name, names)
        raise errors.ConfigError(f"{source} {name}: no such environment{hint}; the project defines {', '.join(names)}")
    if name is None and names:
        raise errors.ConfigError(
            f"the project defines environments {', '.join(names)}: choose one with --env NAME (or {ENV_VARIABLE})"
        )
    return _context(loaded, name, environ, given)


def every(
    paths: Sequence[str],
    *,
    project: str | None = None,
    given: Sequence[str] = (),
    environ: Mapping[str, str],
    max_bytes: int = limits.DEFAULT_MAX_BYTES,
) -> list[environments.Context]:
    """A context for each environment the project defines (one, unnamed, when it defines none): what
    ``validate`` checks when no environment is chosen."""
    loaded = _loaded(paths, project, max_bytes)
    names: list[str | None] = list(loaded.names) if loaded is not None and loaded.names else [None]
    return [_context(loaded, name, environ, given) for name in names]


def _loaded(paths: Sequence[str], project: str | None, max_bytes: int) -> projects.Loaded | None:
    file = find(paths, project)
    if file is None:
        return None  # the models of the project file are not even built: a run without one pays nothing
    from reconciler.desired import projects

    return projects.load(file, max_bytes=max_bytes)


def find(paths: Sequence[str], named: str | None = None) -> str | None:
    """The project file for ``paths``: ``named``, else the nearest ``reconciler.yaml`` at or above them all.

    Paths under two different project files are an error: one run has one set of variables and environments.
    """
    if named:
        if not Path(named).is_file():
            raise errors.ConfigError(f"--project {named}: no such file")
        return named
    folders = {roots.nearest(Path(os.path.abspath(given)), FILE_NAME) for given in paths}
    found = {folder / FILE_NAME if folder is not None else None for folder in folders}
    if len(found) > 1:
        shown = ", ".join(sorted(str(item) if item else "(none)" for item in found))
        raise errors.ConfigError(f"the paths belong to different project files ({shown}): run them separately")
    only = found.pop() if found else None
    return str(only) if only else None


def _context(
    loaded: projects.Loaded | None, name: str | None, environ: Mapping[str, str], given: Sequence[str]
) -> environments.Context:
    if loaded is None:
        if given:
            raise errors.ConfigError("--var needs a project file (reconciler.yaml) that declares the variables")
        return environments.Context(None, name, {})
    from reconciler.desired import projects

    values, problems = projects.values_for(loaded, name, environ, given)
    if problems:
        raise errors.ConfigError("; ".join(problems))
    context, located = environments.context(loaded, name, values)
    if located:
        document = loading.load_file(loaded.file)[0]
        from reconciler.desired import validation

        label = f"[{name}] " if name else ""
        raise errors.ManifestErrors([validation.at(document, loc, label + message) for loc, message in located])
    return context
