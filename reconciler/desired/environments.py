"""One manifest as one environment gets it: variables filled in, defaults and overrides merged. Pure.

The order, last wins: the project's ``defaults``, the environment's ``defaults``, the manifest's ``spec``, the
manifest's own ``environments.<name>`` block. Mappings merge key by key; a list (or any other value) is replaced
whole, as kustomize and Helm do, since merging two lists of steps has no answer everyone expects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from reconciler.desired import variables

if TYPE_CHECKING:
    from reconciler.desired import projects

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]
# A manifest left out of this environment by its metadata.environments.
EXCLUDED: Final = object()


@dataclass(frozen=True)
class Context:
    """What one run resolves every manifest with: the project (if any), the environment and the values."""

    project: projects.Loaded | None = None
    env: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # project's and environment's, variables filled in

    @property
    def names(self) -> list[str]:
        return self.project.names if self.project is not None else []

    @property
    def known(self) -> list[str]:
        return list(self.project.project.variables) if self.project is not None else []

    @property
    def environment(self) -> projects.Environment | None:
        return self.project.environment(self.env) if self.project is not None else None

    @property
    def key_prefix(self) -> str:
        environment = self.environment
        return (environment.keyPrefix or "") if environment is not None else ""

    @property
    def key_variables(self) -> frozenset[str]:
        """The variables that hold the environments' API keys: no manifest may send one to a job field."""
        if self.project is None:
            return frozenset()
        return frozenset(environment.apiKeyEnv for environment in self.project.project.environments.values())

    @property
    def labels(self) -> Mapping[str, str]:
        environment = self.environment
        return environment.labels if environment is not None else {}


def context(
    project: projects.Loaded | None, env: str | None, values: Mapping[str, Any]
) -> tuple[Context, list[Problem]]:
    """The run's context, and the problems in the project's defaults (located in the project file)."""
    if project is None:
        return Context(None, env, values), []
    known = list(project.project.variables)
    merged, problems = variables.interpolate(project.project.defaults, values, known, ("defaults",))
    environment = project.environment(env)
    if environment is not None:
        overrides, found = variables.interpolate(
            environment.defaults, values, known, ("environments", env or "", "defaults")
        )
        problems += found
        merged = merge(merged, overrides)
    return Context(project, env, values, merged), problems


def merge(base: Any, over: Any) -> Any:
    """``over`` on top of ``base``: mappings key by key, anything else replaced whole."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    return over


def under(defaults: Any, data: Any) -> Any:
    """``data`` over ``defaults``, as :func:`merge`, in ``data``'s key order (then the keys only defaults give):
    a rendered manifest reads in the order its author wrote it."""
    if isinstance(defaults, dict) and isinstance(data, dict):
        out = {key: under(defaults[key], value) if key in defaults else value for key, value in data.items()}
        out.update((key, value) for key, value in defaults.items() if key not in data)
        return out
    return data


def resolve(data: Any, context: Context) -> tuple[Any, list[Problem]]:
    """The document as this environment gets it (or :data:`EXCLUDED`), and its problems at their locations."""
    if not isinstance(data, dict):
        return data, []
    problems = list(_name_problems(data, context))
    if context.project is None:
        return data, problems  # nothing to merge; a ${var:...} is reported by validation, which walks anyway
    data, found = variables.interpolate(data, context.values, context.known)
    problems += found
    metadata = data.get("metadata")
    wanted = metadata.get("environments") if isinstance(metadata, dict) else None
    if context.env is not None and isinstance(wanted, list) and context.env not in wanted:
        return EXCLUDED, problems
    out = {key: value for key, value in data.items() if key != "environments"}
    spec = data.get("spec")
    if isinstance(spec, dict):
        spec = under(dict(context.defaults), spec)
        overrides = data.get("environments")
        own = overrides.get(context.env) if isinstance(overrides, dict) and context.env is not None else None
        if isinstance(own, dict):
            spec = merge(spec, own)
        out["spec"] = spec
    if isinstance(metadata, dict):
        out["metadata"] = _metadata(metadata, context)
    return out, problems


def _metadata(metadata: Mapping[str, Any], context: Context) -> dict[str, Any]:
    """The environment's labels and key prefix applied; ``environments`` has been answered, so it goes (a
    rendered manifest must validate without the project)."""
    out = {key: value for key, value in metadata.items() if key != "environments"}
    labels = metadata.get("labels")
    if context.labels and (labels is None or isinstance(labels, dict)):
        out["labels"] = {**context.labels, **(labels or {})}
    key = metadata.get("key")
    if context.key_prefix and isinstance(key, str):
        out["key"] = context.key_prefix + key
    return out


def _name_problems(data: Mapping[str, Any], context: Context) -> list[Problem]:
    """Every environment a manifest names must be one the project defines."""
    found: list[Problem] = []
    names = context.names

    def unknown(name: Any) -> str:
        return _unknown(name, names, has_project=context.project is not None)

    metadata = data.get("metadata")
    listed = metadata.get("environments") if isinstance(metadata, dict) else None
    if listed is not None and not (isinstance(listed, list) and all(isinstance(name, str) for name in listed)):
        found.append((("metadata", "environments"), "environments must be a list of environment names"))
    elif isinstance(listed, list):
        found += [(("metadata", "environments", index), unknown(name))
                  for index, name in enumerate(listed) if name not in names]  # fmt: skip
    overrides = data.get("environments")
    if isinstance(overrides, dict):
        found += [(("environments", name), unknown(name)) for name in overrides if name not in names]
        found += [(("environments", name), "an environment's overrides are a partial spec: a mapping")
                  for name, value in overrides.items() if name in names and not isinstance(value, dict)]  # fmt: skip
    return found


def _unknown(name: Any, names: Sequence[str], *, has_project: bool) -> str:
    if not names:
        where = "the project file defines none" if has_project else "no project file (reconciler.yaml) defines any"
        return f"environment '{name}' is not defined: {where}"
    return f"environment '{name}' is not defined in the project{variables.did_you_mean(str(name), names)}"
