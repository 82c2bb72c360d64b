"""``schemas/job-manifest.schema.json`` is generated from the models, kept in sync, and holds every example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from reconciler.desired import manifests

from .helpers import EXAMPLES, FIXTURES, ROOT

SCHEMA_FILE = ROOT / "schemas" / "job-manifest.schema.json"
REGENERATE = "python -m reconciler.desired.manifests > schemas/job-manifest.schema.json"
EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.yaml"))


def documents(path: Path) -> list[Any]:
    return [document for document in YAML(typ="safe").load_all(path.read_text(encoding="utf-8")) if document]


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_the_schema_file_matches_the_models() -> None:
    assert SCHEMA_FILE.exists(), f"schemas/job-manifest.schema.json is missing: run `{REGENERATE}`"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == manifests.json_schema_text(), (
        f"schemas/job-manifest.schema.json is out of date with reconciler/desired/manifests.py: run `{REGENERATE}`"
    )


def test_the_schema_is_draft_2020_12_with_an_id() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://reconciler.bytenite.io/v1/job"
    assert set(schema["required"]) == {"apiVersion", "kind", "metadata", "spec"}


@pytest.mark.parametrize(
    "path",
    [pytest.param(path, id=path.name) for path in EXAMPLE_FILES],
)
def test_every_example_is_valid_against_the_schema(validator: jsonschema.protocols.Validator, path: Path) -> None:
    for document in documents(path):
        problems = [f"{list(error.absolute_path)}: {error.message[:200]}" for error in validator.iter_errors(document)]
        assert problems == []


@pytest.mark.parametrize(
    "name",
    ["bad-unknown-key.yaml", "bad-wrong-type.yaml", "bad-url-destination.yaml", "bad-bucket-source.yaml",
     "bad-null-section.yaml", "bad-missing-key.yaml"],
)  # fmt: skip
def test_the_schema_refuses_what_validation_refuses(validator: jsonschema.protocols.Validator, name: str) -> None:
    (document,) = documents(FIXTURES / name)
    assert not validator.is_valid(document)


@pytest.mark.parametrize(
    "spelling",
    [
        {"bucketName": "b", "cloudRegion": "r", "secretId": "s"},
        pytest.param({"bucket_name": "b", "cloud_region": "r", "secret_id": "s"}, id="proto"),
    ],
)
def test_the_schema_takes_both_spellings(validator: jsonschema.protocols.Validator, spelling: dict[str, str]) -> None:
    document = {
        "apiVersion": "reconciler.bytenite.io/v1",
        "kind": "Job",
        "metadata": {"id": "job-1"},
        "spec": {"dataSource": {"dataSourceDescriptor": "aws", "params": {"name": "n", **spelling}}},
    }
    manifests.Manifest.model_validate(document)  # the tool accepts it
    assert validator.is_valid(document)
