"""Which project and environment a run uses: the project file found (or named), the environment chosen, the
variables' values. The edge where ``reconciler.yaml``, ``--env``, ``BYTENITE_ENV``, ``BYTENITE_VAR_*`` and
``--var`` meet; the resolving itself is :mod:`reconciler.environments`, pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler import environments, errors, loading, projects, variables

ENV_VARIABLE = "BYTENITE_ENV"


def choose(
    paths: Sequence[str],
    *,
    project: str | None = None,
    env: str | None = None,
    given: Sequence[str] = (),
    environ: Mapping[str, str],
    require: bool = True,
    max_bytes: int = loading.DEFAULT_MAX_BYTES,
) -> environments.Context:
    """The run's context. ``require``: a project that defines environments needs one chosen (plan, apply and
    import do; ``fmt`` and ``render`` of no environment do not)."""
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
    if name is None and names and require:
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
    max_bytes: int = loading.DEFAULT_MAX_BYTES,
) -> list[environments.Context]:
    """A context for each environment the project defines (one, unnamed, when it defines none): what
    ``validate`` checks when no environment is chosen."""
    loaded = _loaded(paths, project, max_bytes)
    names: list[str | None] = list(loaded.names) if loaded is not None and loaded.names else [None]
    return [_context(loaded, name, environ, given) for name in names]


def _loaded(paths: Sequence[str], project: str | None, max_bytes: int) -> projects.Loaded | None:
    file = projects.find(paths, project)
    return projects.load(file, max_bytes=max_bytes) if file else None


def _context(
    loaded: projects.Loaded | None, name: str | None, environ: Mapping[str, str], given: Sequence[str]
) -> environments.Context:
    values, problems = projects.values_for(loaded, name, environ, given)
    if problems:
        raise errors.ConfigError("; ".join(problems))
    context, located = environments.context(loaded, name, values)
    if located and loaded is not None:
        document = loading.load_file(loaded.file)[0]
        from reconciler import validation

        label = f"[{name}] " if name else ""
        raise errors.ManifestErrors([validation.at(document, loc, label + message) for loc, message in located])
    return context
