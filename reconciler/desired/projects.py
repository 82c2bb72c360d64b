"""The project file, ``reconciler.yaml``: variables, shared defaults and environments for a tree of manifests.

Found as ruff and pytest find theirs (the nearest folder at or above the given paths that holds one), or named
with ``--project``. Without one, everything works as it did: no variables, no defaults, one unnamed
environment. The models here also generate ``schemas/project.schema.json`` (``python -m reconciler.desired.projects``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from reconciler import errors
from reconciler.desired import limits, loading, variables
from reconciler.planning import names

DEFAULT_KEY_VARIABLE: Final = "BYTENITE_API_KEY"
EnvironmentName = Annotated[str, Field(pattern=names.ENVIRONMENT_PATTERN)]
VariableName = Annotated[str, Field(pattern="^" + variables.NAME + "$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Variable(_Strict):
    type: Literal["string", "integer", "number", "boolean"]
    default: str | int | float | bool | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _default_fits(self) -> Variable:
        if self.default is not None and not variables.fits(self.type, self.default):
            raise ValueError(f"default must be of type {self.type}")
        return self


class Environment(_Strict):
    """One place the jobs run: its API, its key's variable, and what it changes in every job."""

    apiUrl: str | None = Field(default=None, description="API root for this environment (else BYTENITE_API_URL).")
    jobsPrefix: str | None = Field(default=None, description="Jobs routes under the root (else /customer).")
    apiKeyEnv: Annotated[str, Field(pattern="^[A-Za-z_][A-Za-z0-9_]*$")] = Field(
        default=DEFAULT_KEY_VARIABLE, description="The environment variable that holds this environment's API key."
    )
    variables: dict[VariableName, str | int | float | bool] = Field(default_factory=dict)
    defaults: dict[str, Any] = Field(default_factory=dict, description="A partial spec, merged over the project's.")
    labels: dict[str, str] = Field(default_factory=dict, description="Added to every job (a manifest's own win).")
    keyPrefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:/-]{1,40}$")] | None = Field(
        default=None,
        description="Put before every metadata.key, so two environments sharing one account derive different ids.",
    )


class Project(_Strict):
    """``reconciler.yaml``: one per tree of manifests."""

    model_config = ConfigDict(
        json_schema_extra={"title": "ByteNite reconciler project", "$id": "https://reconciler.bytenite.io/v1/project"}
    )

    apiVersion: Literal["reconciler.bytenite.io/v1"]
    kind: Literal["Project"]
    variables: dict[VariableName, Variable] = Field(default_factory=dict)
    defaults: dict[str, Any] = Field(default_factory=dict, description="A partial spec merged under every job.")
    environments: dict[EnvironmentName, Environment] = Field(default_factory=dict)


@dataclass(frozen=True)
class Loaded:
    """A project and the file it came from (for positions, and as the anchor of root labels)."""

    project: Project
    file: str

    @property
    def folder(self) -> Path:
        return Path(os.path.abspath(self.file)).parent

    @property
    def names(self) -> list[str]:
        return list(self.project.environments)

    def environment(self, name: str | None) -> Environment | None:
        return self.project.environments.get(name) if name is not None else None


def load(file: str, *, max_bytes: int = limits.DEFAULT_MAX_BYTES) -> Loaded:
    """The project at ``file``, or :class:`errors.ManifestErrors` with every problem at its position."""
    documents = loading.load_file(file, max_bytes)
    if len(documents) != 1:
        raise errors.ManifestErrors(
            [errors.ManifestProblem(errors.Position(file, 1, 1), "a project file holds one YAML document")]
        )
    document = documents[0]
    from reconciler.desired import validation

    problems = []
    try:
        project = Project.model_validate(document.data)
    except ValidationError as error:
        problems = [validation.problem(document, item) for item in error.errors()]
        raise errors.ManifestErrors(problems) from None
    problems = [validation.at(document, loc, message) for loc, message in _value_problems(project)]
    if problems:
        raise errors.ManifestErrors(problems)
    return Loaded(project, file)


def _value_problems(project: Project) -> list[tuple[tuple[str | int, ...], str]]:
    """Each environment's values must be declared and of the declared type."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    declared = list(project.variables)
    for env_name, environment in project.environments.items():
        for name, value in environment.variables.items():
            loc = ("environments", env_name, "variables", name)
            if name not in project.variables:
                found.append((loc, variables.unknown(name, declared)))
            elif not variables.fits(project.variables[name].type, value):
                found.append((loc, f"variable '{name}' is of type {project.variables[name].type}"))
    return found


def values_for(
    loaded: Loaded, env: str | None, environ: Mapping[str, str], given: Sequence[str]
) -> tuple[dict[str, Any], list[str]]:
    """Each variable's value, last wins: its default, the environment's, ``BYTENITE_VAR_<NAME>``, ``--var``.

    Returns the values and the problems with ``--var`` and ``BYTENITE_VAR_*`` (which have no file position).
    """
    problems: list[str] = []
    project = loaded.project
    declared = list(project.variables)
    values: dict[str, Any] = {
        name: variable.default for name, variable in project.variables.items() if variable.default is not None
    }
    environment = loaded.environment(env)
    if environment is not None:
        values.update(environment.variables)
    for name, variable in project.variables.items():
        text = environ.get(variables.ENVIRONMENT_PREFIX + name)
        if text is not None:
            try:
                values[name] = variables.parse(variable.type, text)
            except ValueError as error:
                problems.append(f"{variables.ENVIRONMENT_PREFIX}{name}: {error}")
    for item in given:
        name, sep, text = item.partition("=")
        if not sep:
            problems.append(f"--var takes NAME=VALUE, got {item[:40]!r}")
        elif name not in project.variables:
            problems.append(f"--var {name}: {variables.unknown(name, declared)}")
        else:
            try:
                values[name] = variables.parse(project.variables[name].type, text)
            except ValueError as error:
                problems.append(f"--var {name}: {error}")
    return values, problems


def json_schema() -> dict[str, Any]:
    schema = Project.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(json_schema_text(), end="")
