"""The pipeline, end to end: paths → desired state; API → current state; both → plan; plan → report.

This is the one place that knows the order of the steps; the CLI calls it and renders what it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from reconciler import (
    applying,
    client,
    errors,
    fetching,
    loading,
    plans,
    redaction,
    references,
    reports,
    settings,
    states,
)
from reconciler import validation as validating

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Selection:
    """Which manifests a run covers; a partial run says so in every format."""

    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    selectors: tuple[tuple[str, str], ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.targets or self.excludes or self.selectors)

    def keeps(self, entry: validating.Entry) -> bool:
        job_id, labels = entry.job_id, entry.manifest.metadata.labels
        key = entry.manifest.metadata.key
        if self.targets and job_id not in self.targets and key not in self.targets:
            return False
        if job_id in self.excludes or (key is not None and key in self.excludes):
            return False
        return all(labels.get(name) == value for name, value in self.selectors)


@dataclass(frozen=True)
class Prepared:
    """Valid manifests, their desired state with references resolved, and the paths that are sensitive."""

    entries: tuple[validating.Entry, ...]
    desired: Mapping[str, states.Job]
    sensitive: Mapping[str, frozenset[redaction.Path]]


def validate(paths: Sequence[str], *, max_bytes: int = loading.DEFAULT_MAX_BYTES) -> list[validating.Entry]:
    """Offline: every manifest, or every problem at once. References are checked for form, not resolved."""
    return validating.load(paths, max_bytes=max_bytes)


def prepare(
    paths: Sequence[str],
    environ: Mapping[str, str],
    *,
    selection: Selection = Selection(),
    max_bytes: int = loading.DEFAULT_MAX_BYTES,
) -> Prepared:
    """Validate, select and resolve references; an unset variable is a manifest error at its position."""
    entries = [entry for entry in validate(paths, max_bytes=max_bytes) if selection.keeps(entry)]
    desired: dict[str, states.Job] = {}
    sensitive: dict[str, frozenset[redaction.Path]] = {}
    problems: list[errors.ManifestProblem] = []
    for entry in entries:
        wanted = states.from_manifest(entry.manifest)
        resolved, missing = references.resolve(wanted, environ)
        for item in missing:
            where = loading.locate(entry.document.file, entry.document.index, ("spec", *item.path))
            problems.append(errors.ManifestProblem(where, f"environment variable {item.variable} is not set"))
        desired[entry.job_id] = resolved
        sensitive[entry.job_id] = references.sensitive_paths(wanted)
    if problems:
        raise errors.ManifestErrors(problems)
    return Prepared(tuple(entries), desired, sensitive)


@dataclass(frozen=True)
class Planned:
    """A plan, and what apply needs besides it: the real desired state and the current state it was read from."""

    plan: plans.Plan
    prepared: Prepared
    current: Mapping[str, states.Job]


async def plan(
    prepared: Prepared,
    config: settings.Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: Progress | None = None,
) -> Planned:
    """Read every managed job through a read-only client, and plan."""
    async with client.Client(config, transport=transport, read_only=True) as api:
        api.secrets.update(_secret_values(prepared))
        fetched = await fetching.fetch(api, list(prepared.desired), concurrency=config.concurrency, progress=progress)
        counters = api.counters
    current = {job_id: states.from_api(raw) for job_id, raw in fetched.jobs.items()}
    inputs = [
        plans.Inputs(
            desired=prepared.desired[entry.job_id],
            current=current.get(entry.job_id),
            source=entry.source,
            sensitive=prepared.sensitive[entry.job_id],
            error=fetched.failures.get(entry.job_id, ""),
        )
        for entry in prepared.entries
    ]
    key = redaction.fingerprint_key(config.api_key.reveal())
    requests = plans.Requests(counters.reads, counters.writes, counters.retries)
    return Planned(plans.build(inputs, key, requests), prepared, current)


async def apply(
    planned: Planned,
    config: settings.Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    stopping: asyncio.Event | None = None,
    progress: Progress | None = None,
) -> reports.Report:
    """Send the plan's calls; bodies come from the real desired state and the state the plan read."""
    async with client.Client(config, transport=transport) as api:
        api.secrets.update(_secret_values(planned.prepared))
        return await applying.apply(
            api,
            planned.plan,
            planned.prepared.desired,
            planned.current,
            concurrency=config.concurrency,
            stopping=stopping,
            progress=progress,
        )


def _secret_values(prepared: Prepared) -> set[str]:
    """Every string value at a sensitive or credential path: scrubbed from API error messages."""
    values: set[str] = set()
    for job_id, job in prepared.desired.items():
        paths = prepared.sensitive.get(job_id, frozenset())
        for unit, value in job.units.items():
            masked = redaction.mask(value, states.unit_path(unit), paths, b"")
            _collect(value, masked, values)
    return values


def _collect(value: object, masked: object, into: set[str]) -> None:
    if isinstance(masked, redaction.Sensitive) and isinstance(value, str):
        into.add(value)
    elif isinstance(value, dict) and isinstance(masked, dict):
        for key, item in value.items():
            _collect(item, masked.get(key), into)
    elif isinstance(value, list) and isinstance(masked, list):
        for item, shown in zip(value, masked, strict=False):
            _collect(item, shown, into)
