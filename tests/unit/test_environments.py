"""Variables, defaults and overrides resolve in pure functions: typed, positioned, and never for a credential."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler import errors
from reconciler.desired import contexts, environments, projects, variables

from .helpers import ROOT

PROJECT_SCHEMA = ROOT / "schemas" / "project.schema.json"


def _loaded(**fields: Any) -> projects.Loaded:
    data = {"apiVersion": "reconciler.bytenite.io/v1", "kind": "Project", **fields}
    return projects.Loaded(projects.Project.model_validate(data), "reconciler.yaml")


PROJECT = _loaded(
    variables={
        "rows": {"type": "integer", "default": 10},
        "bucket": {"type": "string"},
        "ratio": {"type": "number", "default": 0.5},
        "loud": {"type": "boolean", "default": False},
    },
    defaults={"templateId": "t", "config": {"taskTimeout": 60, "jobTimeout": 600}, "params": {"app": {"a": [1]}}},
    environments={
        "dev": {"variables": {"bucket": "b-dev"}, "labels": {"stage": "dev"}, "keyPrefix": "dev/"},
        "prod": {"variables": {"bucket": "b-prod", "rows": 500}, "defaults": {"config": {"jobTimeout": 900}}},
    },
)


def _context(
    env: str | None, given: tuple[str, ...] = (), environ: dict[str, str] | None = None
) -> environments.Context:
    values, problems = projects.values_for(PROJECT, env, environ or {}, given)
    assert problems == []
    context, located = environments.context(PROJECT, env, values)
    assert located == []
    return context


def _manifest(spec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    metadata = extra.pop("metadata", {"key": "reports/daily"})
    return {"apiVersion": "reconciler.bytenite.io/v1", "kind": "Job", "metadata": metadata, "spec": spec, **extra}


def test_a_whole_reference_keeps_its_type_and_a_partial_one_interpolates() -> None:
    data = _manifest({"params": {"app": {"rows": "${var:rows}", "out": "s3://${var:bucket}/x", "loud": "${var:loud}"}}})
    resolved, problems = environments.resolve(data, _context("prod"))
    assert problems == []
    assert resolved["spec"]["params"]["app"] == {"rows": 500, "out": "s3://b-prod/x", "loud": False, "a": [1]}


def test_values_layer_default_environment_variable_then_flag() -> None:
    assert _context("dev").values["rows"] == 10
    assert _context("prod").values["rows"] == 500
    assert _context("prod", environ={"BYTENITE_VAR_rows": "700"}).values["rows"] == 700
    assert _context("prod", ("rows=900",), {"BYTENITE_VAR_rows": "700"}).values["rows"] == 900


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (("rows=ten",), "--var rows: 'ten' is not an integer"),
        (("rowz=1",), "--var rowz: variable 'rowz' is not declared in the project (did you mean 'rows'?)"),
        (("loud=maybe",), "--var loud: 'maybe' is not a boolean (true or false)"),
        (("rows",), "--var takes NAME=VALUE, got 'rows'"),
    ],
)
def test_a_value_of_the_wrong_type_or_name_is_refused_with_its_source(given: tuple[str, ...], message: str) -> None:
    _, problems = projects.values_for(PROJECT, "dev", {}, given)
    assert problems == [message]


def test_defaults_merge_deeply_the_manifest_wins_and_lists_are_replaced_whole() -> None:
    data = _manifest(
        {"config": {"taskTimeout": 30}, "params": {"app": {"a": [2, 3]}}}, environments={"prod": {"name": "P"}}
    )
    resolved, _ = environments.resolve(data, _context("prod"))
    spec = resolved["spec"]
    assert spec["config"] == {"taskTimeout": 30, "jobTimeout": 900}  # the manifest, then prod's, then the project's
    assert spec["params"]["app"]["a"] == [2, 3]
    assert spec["name"] == "P"
    assert list(spec)[:2] == ["config", "params"]  # the author's order first, then what defaults add
    assert "environments" not in resolved


def test_an_environment_adds_labels_and_its_key_prefix() -> None:
    data = _manifest({}, metadata={"key": "reports/daily", "labels": {"stage": "mine"}, "environments": ["dev"]})
    resolved, _ = environments.resolve(data, _context("dev"))
    assert resolved["metadata"] == {"key": "dev/reports/daily", "labels": {"stage": "mine"}}
    assert environments.resolve(data, _context("prod"))[0] is environments.EXCLUDED


def test_unknown_environments_and_variables_are_located_with_a_suggestion() -> None:
    data = _manifest(
        {"name": "${var:buckt}"}, metadata={"key": "k", "environments": ["prdo"]}, environments={"stage": {}}
    )
    _, problems = environments.resolve(data, _context("dev"))
    assert (
        ("metadata", "environments", 0),
        "environment 'prdo' is not defined in the project (did you mean 'prod'?)",
    ) in problems
    assert (("environments", "stage"), "environment 'stage' is not defined in the project") in problems
    assert (("spec", "name"), "variable 'buckt' is not declared in the project (did you mean 'bucket'?)") in problems


def test_a_variable_may_not_give_a_credential() -> None:
    data = _manifest({"dataSource": {"params": {"accessKey": "${var:bucket}"}}})
    _, problems = environments.resolve(data, _context("dev"))
    assert problems == [
        (
            ("spec", "dataSource", "params", "accessKey"),
            "accessKey is a credential: a ${var:...} may not give it; use ${env:NAME}",
        )
    ]


def test_a_variable_without_a_value_names_every_way_to_give_one() -> None:
    values, _ = projects.values_for(PROJECT, None, {}, ())
    _, problems = variables.interpolate({"x": "${var:bucket}"}, values, list(PROJECT.project.variables))
    assert problems == [
        (("x",), "variable 'bucket' has no value: give it a default, a value in the environment, "
                 "BYTENITE_VAR_bucket or --var bucket=VALUE")
    ]  # fmt: skip


def test_a_project_default_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ValueError, match="default must be of type integer"):
        _loaded(variables={"rows": {"type": "integer", "default": "ten"}})


def test_a_project_file_error_points_at_its_line(tmp_path: Path) -> None:
    file = tmp_path / contexts.FILE_NAME
    file.write_text(
        "apiVersion: reconciler.bytenite.io/v1\nkind: Project\nvariables:\n  rows: {type: integer}\n"
        "environments:\n  dev:\n    variables: {rowz: 3}\n    apiUrll: x\n"
    )
    with pytest.raises(errors.ManifestErrors) as raised:
        projects.load(str(file))
    shown = [str(problem) for problem in raised.value.problems]
    assert any(line.startswith(f"{file}:8:") and "apiUrll" in line for line in shown), shown


def test_the_project_schema_file_matches_the_models() -> None:
    assert PROJECT_SCHEMA.read_text(encoding="utf-8") == projects.json_schema_text(), (
        "schemas/project.schema.json is out of date with reconciler/desired/projects.py: "
        "run `python -m reconciler.desired.projects > schemas/project.schema.json`"
    )


def test_the_example_project_validates_against_its_schema() -> None:
    import json

    import jsonschema
    from ruamel.yaml import YAML

    schema = json.loads(PROJECT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema).check_schema(schema)
    example = YAML(typ="safe").load((ROOT / "examples" / "project" / "reconciler.yaml").read_text())
    jsonschema.validate(example, schema)


def test_without_a_project_a_variable_reference_is_an_error_not_text(tmp_path: Path) -> None:
    from reconciler.desired import validation

    file = tmp_path / "job.yaml"
    file.write_text(
        "apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata: {key: 'k', labels: {a: '${var:team}'}}\n"
        "spec:\n  name: '${var:name}'\n"
    )
    with pytest.raises(errors.ManifestErrors) as raised:
        validation.load([str(file)])
    shown = sorted(str(problem) for problem in raised.value.problems)
    assert shown == [
        f"{file}:3:31: variable 'team' is not declared: no project file (reconciler.yaml) declares variables",
        f"{file}:5:3: variable 'name' is not declared: no project file (reconciler.yaml) declares variables",
    ]


def test_the_example_project_resolves_in_each_environment() -> None:
    from reconciler.desired import contexts, validation

    jobs = str(ROOT / "examples" / "project" / "jobs")
    every = contexts.every([jobs], environ={})
    found = validation.load_every([jobs], every)
    assert {env: sorted(entry.manifest.metadata.key or "" for entry in entries) for env, entries in found.items()} == {
        "dev": ["dev/reports/daily"],
        "prod": ["prod/reports/daily", "prod/reports/quality-check"],
    }
