"""The manifest format, as pydantic models: the contract users write against and CI depends on.

Field names follow the API (camelCase) so users can paste from ByteNite's documentation; data-source params
also accept the proto spelling (``secret_id``), as the API does. Every model forbids unknown keys: the API
silently drops a misspelt field, so the manifest is where a typo must be caught. ``schemas/job-manifest.schema.json``
is generated from these models (``python -m reconciler.desired.manifests``).
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from reconciler.planning.names import ENVIRONMENT_PATTERN, JOB_ID_PATTERN, KEY_ALPHABET, KEY_NAMESPACE, KEY_PATTERN


class Strict(BaseModel):
    """Unknown keys are errors, and no value is coerced: ``"3600"`` is not a number in a manifest."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=False)


NonEmpty = Annotated[str, Field(min_length=1)]
TypeUrl = Annotated[str | None, Field(default=None, alias="@type")]


def _spelling(camel: str, snake: str) -> Any:
    return Field(validation_alias=AliasChoices(camel, snake))


def _optional_spelling(camel: str, snake: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(camel, snake))


class S3Params(Strict):
    """Params of the S3-compatible descriptors (``aws``/``s3``, ``gcp``, ``storj``)."""

    type_url: TypeUrl
    name: NonEmpty
    bucketName: NonEmpty = _spelling("bucketName", "bucket_name")
    cloudRegion: NonEmpty = _spelling("cloudRegion", "cloud_region")
    secretId: NonEmpty | None = _optional_spelling("secretId", "secret_id")
    # Jobs that predate ByteNite's secrets API carry inline keys; a manifest may only reference them.
    accessKey: NonEmpty | None = _optional_spelling("accessKey", "access_key")
    secretKey: NonEmpty | None = _optional_spelling("secretKey", "secret_key")

    @model_validator(mode="after")
    def _needs_credentials(self) -> S3Params:
        if self.secretId is None and (self.accessKey is None or self.secretKey is None):
            raise ValueError("needs secretId (or, for jobs that predate secrets, both accessKey and secretKey)")
        return self


class UrlParams(Strict):
    type_url: TypeUrl
    url: Annotated[str, Field(pattern=r"^(https?://\S+|\$\{env:[A-Za-z_][A-Za-z0-9_]*(:-)?\})$")]
    # HTTP basic auth, as older jobs carry it: import writes both, so validate must accept both.
    username: NonEmpty | None = None
    password: NonEmpty | None = None


class NoParams(Strict):
    """Descriptors whose params the server fills in (``file``: ``tempUrl``) or that take none at all."""

    type_url: TypeUrl


class S3Source(Strict):
    dataSourceDescriptor: Literal["aws", "s3", "gcp", "storj"]
    params: S3Params


class UrlSource(Strict):
    dataSourceDescriptor: Literal["url"]
    params: UrlParams


class FileSource(Strict):
    dataSourceDescriptor: Literal["file"]
    params: NoParams | None = None


class BucketDestination(Strict):
    dataSourceDescriptor: Literal["bucket"]
    params: NoParams | None = None


class Bypass(Strict):
    dataSourceDescriptor: Literal["bypass"]
    params: NoParams | None = None


# url and file are inputs only, bucket an output only: the unions say so, so the schema does too.
DataSource = Annotated[S3Source | UrlSource | FileSource | Bypass, Field(discriminator="dataSourceDescriptor")]
DataDestination = Annotated[S3Source | BucketDestination | Bypass, Field(discriminator="dataSourceDescriptor")]
Struct = dict[str, Any]


class Params(Strict):
    """``PATCH /params`` replaces the section: an undeclared engine is re-sent as the server has it."""

    partitioner: Struct | None = None
    assembler: Struct | None = None
    app: Struct | None = None


Seconds = Annotated[StrictInt, Field(gt=0, le=2**63 - 1)]  # int64 on the wire


class Config(Strict):
    taskTimeout: Seconds | None = None
    jobTimeout: Seconds | None = None
    isTestJob: StrictBool | None = None


class Spec(Strict):
    templateId: NonEmpty | None = None
    name: NonEmpty | None = None
    description: str | None = None
    dataSource: DataSource | None = None
    dataDestination: DataDestination | None = None
    params: Params | None = None
    config: Config | None = None
    run: StrictBool = False


class Metadata(Strict):
    id: Annotated[str, Field(pattern=JOB_ID_PATTERN)] | None = None
    key: (
        Annotated[str, Field(pattern=KEY_PATTERN, description=f"Names the job; its id is derived. {KEY_ALPHABET}")]
        | None
    ) = None
    labels: dict[str, str] = Field(default_factory=dict)
    environments: list[Annotated[str, Field(pattern=ENVIRONMENT_PATTERN)]] | None = Field(
        default=None, description="The project environments this job exists in (default: all of them)."
    )

    @model_validator(mode="after")
    def _one_identity(self) -> Metadata:
        if (self.id is None) == (self.key is None):
            raise ValueError("give exactly one of id (a ByteNite job id) or key (an id is derived from it)")
        return self

    @property
    def job_id(self) -> str:
        return self.id if self.id is not None else str(uuid.uuid5(KEY_NAMESPACE, self.key or ""))


class Manifest(Strict):
    """One YAML document: one job."""

    model_config = ConfigDict(
        json_schema_extra={"title": "ByteNite job manifest", "$id": "https://reconciler.bytenite.io/v1/job"}
    )

    apiVersion: Literal["reconciler.bytenite.io/v1"]
    kind: Literal["Job"]
    metadata: Metadata
    spec: Spec
    environments: dict[Annotated[str, Field(pattern=ENVIRONMENT_PATTERN)], dict[str, Any]] | None = Field(
        default=None,
        description="Per project environment, a partial spec merged over this one (mappings deeply, lists whole).",
    )


def known_keys() -> frozenset[str]:
    """Every key a manifest may hold, in either spelling: the candidates for "did you mean" hints."""
    models: tuple[type[BaseModel], ...] = (
        Manifest, Metadata, Spec, Params, Config, S3Source, S3Params, UrlSource, UrlParams, FileSource,
        BucketDestination, Bypass, NoParams,
    )  # fmt: skip
    names: set[str] = set()
    for model in models:
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
            if isinstance(info.validation_alias, AliasChoices):
                names.update(choice for choice in info.validation_alias.choices if isinstance(choice, str))
    return frozenset(names)


def json_schema() -> dict[str, Any]:
    """The manifest's JSON Schema, for editors (yaml-language-server) and for CI outside this tool."""
    schema = Manifest.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    for model in (S3Params,):
        _both_spellings(schema["$defs"][model.__name__], model)
    return schema


def _both_spellings(definition: dict[str, Any], model: type[BaseModel]) -> None:
    """pydantic lists only the first spelling of a field; the tool takes both, and so must the schema.

    Each other spelling becomes a property of its own, and a required field is required in either spelling.
    """
    required = set(definition.get("required", []))
    either: list[dict[str, Any]] = []
    for info in model.model_fields.values():
        if not isinstance(info.validation_alias, AliasChoices):
            continue
        first, *others = [choice for choice in info.validation_alias.choices if isinstance(choice, str)]
        for other in others:
            definition["properties"][other] = definition["properties"][first]
        if first in required:
            required.discard(first)
            either.append({"anyOf": [{"required": [name]} for name in (first, *others)]})
    definition["required"] = sorted(required)
    if either:
        definition["allOf"] = either


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(json_schema_text(), end="")
