"""A manifest as the desired state of its job: the units it declares, normalised as the API's answers are, so
the two sides meet in one shape (:mod:`reconciler.planning.states`)."""

from __future__ import annotations

from typing import Any

from reconciler.desired import manifests
from reconciler.planning import states


def from_manifest(manifest: manifests.Manifest) -> states.Job:
    """The desired state: only the units the manifest declares, normalised like the wire's.

    An engine or Struct declared empty (``app: {}``) is declared *unset*: it is compared, and the section's
    body then leaves it out, which clears it.
    """
    spec = manifest.spec
    units: dict[str, Any] = {}
    if spec.name is not None:
        units["name"] = spec.name
    for unit, source in (("dataSource", spec.dataSource), ("dataDestination", spec.dataDestination)):
        if source is not None:
            units[unit] = states.normalise_source(source.model_dump(by_alias=True, exclude_none=True))
    if spec.params is not None:
        for engine in sorted(spec.params.model_fields_set):
            units[f"params.{engine}"] = states.normalise_struct(getattr(spec.params, engine))
    if spec.config is not None:
        for name in sorted(spec.config.model_fields_set):
            units[f"config.{name}"] = getattr(spec.config, name)
    return states.Job(
        id=manifest.metadata.job_id,
        units=units,
        template_id=spec.templateId,
        description=spec.description or "",
    )
