"""The pipeline, end to end: paths → desired state; API → current state; both → plan; plan → report.

This is the one place that knows the order of the steps; the CLI calls it and renders what it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from reconciler import errors, settings
from reconciler.api import auth, endpoints, fetching
from reconciler.applying import sending
from reconciler.desired import environments, imports, jobs, limits, loading, manifests, positions, roots
from reconciler.desired import validation as validating
from reconciler.planning import markers, masking, planner, plans, redaction, references, reports, staleness, states

if TYPE_CHECKING:
    import httpx

    from reconciler.planning import planfiles

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Selection:
    """Which manifests a run covers; a partial run says so in every format."""

    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    selectors: tuple[tuple[str, str], ...] = ()
    key_prefix: str = ""  # the environment's keyPrefix: a key is named with or without it

    @property
    def partial(self) -> bool:
        return bool(self.targets or self.excludes or self.selectors)

    def names(self, entry: validating.Entry) -> set[str | None]:
        key = entry.manifest.metadata.key
        short = key.removeprefix(self.key_prefix) if key is not None and self.key_prefix else None
        return {entry.job_id, key, short} - {None}

    def keeps(self, entry: validating.Entry) -> bool:
        labels, names = entry.manifest.metadata.labels, self.names(entry)
        if self.targets and not names & set(self.targets):
            return False
        if names & set(self.excludes):
            return False
        return all(labels.get(name) == value for name, value in self.selectors)

    def unmatched(self, entries: Sequence[validating.Entry]) -> list[str]:
        """Each ``--target`` and ``--selector`` that no manifest answers to: a typo there would otherwise plan
        nothing and exit 0, reading as "in sync"."""
        names = {name for entry in entries for name in self.names(entry)}
        labels = {item for entry in entries for item in entry.manifest.metadata.labels.items()}
        missing = [f"--target {target}" for target in self.targets if target not in names]
        return missing + [f"--selector {name}={value}" for name, value in self.selectors if (name, value) not in labels]


@dataclass(frozen=True)
class Managed:
    """A valid manifest as planning needs it once its desired state is built: where it was found, how its job
    is named, and whether it asks for a launch. The rest of the manifest lives on in the desired state; its
    parsed tree and validated model are let go (at 10,000 manifests, a third of a plan's memory)."""

    document: loading.Document  # its position; the data is dropped
    metadata: manifests.Metadata
    job_id: str
    run: bool = False

    @classmethod
    def of(cls, entry: validating.Entry) -> Managed:
        document = replace(entry.document, data=None)
        return cls(document, entry.manifest.metadata, entry.job_id, entry.manifest.spec.run)

    @property
    def source(self) -> str:
        return f"{self.document.file}:{self.document.line}"


@dataclass(frozen=True)
class Prepared:
    """Valid manifests, their desired state with references resolved, and the paths that are sensitive."""

    entries: tuple[Managed, ...]
    desired: Mapping[str, states.Job]
    sensitive: Mapping[str, frozenset[redaction.Path]]
    declared: Mapping[str, states.Job]
    scope: markers.Scope = field(default_factory=markers.Scope)
    roots: Mapping[str, str] = field(default_factory=dict)  # job id -> the root its manifest was found under
    exposures: Mapping[str, masking.Exposure] = field(default_factory=dict)  # the desired side's secrets, by job

    def identity(self, entry: Managed) -> markers.Identity:
        """How the entry's job is named, and the root and environment a job created for it records."""
        root = self.roots.get(entry.job_id, markers.ANCHOR)
        return markers.Identity(entry.job_id, entry.metadata.key, root, self.scope.env)


def prepare(
    paths: Sequence[str],
    environ: Mapping[str, str],
    *,
    selection: Selection = Selection(),
    max_bytes: int = limits.DEFAULT_MAX_BYTES,
    context: environments.Context | None = None,
    parsing: loading.Parsing | None = None,
) -> Prepared:
    """Validate (as ``context``'s environment gets the manifests), select and resolve references; an unset
    variable is a manifest error at its position. ``parsing`` is the parse of ``paths``, if begun already."""
    context = context or environments.Context()
    loaded = validating.load(paths, max_bytes=max_bytes, context=context, parsing=parsing)
    selection = replace(selection, key_prefix=context.key_prefix)
    entries = [entry for entry in loaded if selection.keeps(entry)]
    unmatched = selection.unmatched(loaded)
    if unmatched:
        raise errors.ConfigError("no manifest matches " + ", ".join(unmatched))
    if not entries and (selection.targets or selection.selectors):
        raise errors.ConfigError("the selection (--target, --exclude, --selector) leaves no manifest to plan")
    desired: dict[str, states.Job] = {}
    declared: dict[str, states.Job] = {}
    sensitive: dict[str, frozenset[redaction.Path]] = {}
    exposures: dict[str, masking.Exposure] = {}
    problems: list[errors.ManifestProblem] = []
    keys = context.key_variables
    usable = {name: value for name, value in environ.items() if name not in keys} if keys else environ
    for entry in entries:
        wanted = jobs.from_manifest(entry.manifest)
        resolved, missing = references.resolve(wanted, usable)
        for item in missing:
            where = positions.locate(entry.document.file, entry.document.index, ("spec", *item.path))
            reason = "holds a project environment's API key: a manifest may not reference it"
            reason = reason if item.variable in keys else item.reason
            problems.append(errors.ManifestProblem(where, f"environment variable {item.variable} {reason}"))
        desired[entry.job_id] = resolved
        declared[entry.job_id] = wanted
        sensitive[entry.job_id] = found = references.sensitive_paths(wanted)
        exposures[entry.job_id] = masking.exposure_of(resolved, found, desired=True)
    if problems:
        raise errors.ManifestErrors(problems)
    anchor = context.project.folder if context.project is not None else None
    given = [roots.label(path, anchor) for path in paths]
    root_of = roots.finder(paths, given)
    found_under = {entry.job_id: root_of(entry.document.file) for entry in entries}
    scope = markers.Scope.of(given, context.env)
    managed = tuple(map(Managed.of, entries))
    return Prepared(managed, desired, sensitive, declared, scope, found_under, exposures)


@dataclass(frozen=True)
class Planned:
    """A plan, and what apply needs besides it: desired and current state, keyed by the plan's job ids."""

    plan: plans.Plan
    prepared: Prepared
    desired: Mapping[str, states.Job]
    current: Mapping[str, states.Job]


async def plan(
    prepared: Prepared,
    config: settings.Settings,
    *,
    options: plans.Options | None = None,
    partial: bool = False,
    locate: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    token: auth.Token | None = None,
    progress: Progress | None = None,
) -> Planned:
    """Read every managed job (and, to prune, every job) through a read-only client, and plan.

    ``locate`` finds the manifest line of every changed field (for Markdown links); it re-reads the files
    with changes, so it is asked for only where it is shown.
    """
    options = options or plans.Options()
    if options.prune and partial:
        raise errors.ConfigError("--prune needs every manifest: it is refused with --target, --exclude or --selector")
    identities = {entry.job_id: prepared.identity(entry) for entry in prepared.entries}
    expected = fetching.expected_requests(len(identities), list_all=options.prune)
    async with endpoints.Client(
        config, transport=transport, read_only=True, token=token, expected_requests=expected
    ) as api:
        api.secrets.update(_secret_values(prepared))
        fetched = await fetching.fetch(
            api, list(identities.values()), concurrency=config.concurrency, list_all=options.prune, progress=progress
        )
        counters = api.counters
    current = {base_id: states.from_api(raw) for base_id, raw in fetched.jobs.items()}
    claimed = _claimed_elsewhere(current, prepared.scope)
    inputs = [
        plans.Inputs(
            desired=prepared.desired[entry.job_id],
            current=current.get(entry.job_id),
            source=entry.source,
            sensitive=prepared.sensitive[entry.job_id],
            error=fetched.failures.get(entry.job_id) or claimed.get(entry.job_id, ""),
            declared=prepared.declared[entry.job_id].units,
            declared_template=prepared.declared[entry.job_id].template_id,
            identity=identities[entry.job_id],
            generation=fetched.generations.get(entry.job_id, 0),
            run=entry.run,
            options=options,
            exposure=prepared.exposures.get(entry.job_id),
        )
        for entry in prepared.entries
    ]
    key = redaction.fingerprint_key(config.api_key.reveal())
    requests = plans.Requests(counters.reads, counters.writes, counters.retries)
    managed = planner.build(inputs, key, requests)
    if locate:
        managed = _with_lines(managed, prepared)
    found, wider = ([], {}) if partial else _orphans(fetched.listing or [], identities.values(), prepared.scope)
    orphans = [(planner.orphan(job, marker, prune=options.prune), job) for marker, job in found]
    managed = replace(managed, scope=prepared.scope, unjudged=tuple(sorted(wider.items())))
    desired: dict[str, states.Job] = {}
    current_by_job = {job.job_id: state for job, state in orphans}
    for entry, job in zip(prepared.entries, managed.jobs, strict=True):
        desired[job.job_id] = prepared.desired[entry.job_id]
        if entry.job_id in current:
            current_by_job[job.job_id] = current[entry.job_id]
    plan = replace(managed, jobs=(*managed.jobs, *(job for job, _ in orphans)))
    return Planned(plan, prepared, desired, current_by_job)


def _claimed_elsewhere(current: Mapping[str, states.Job], scope: markers.Scope) -> dict[str, str]:
    """Jobs another environment created: never written from this one. Two environments sharing an account and
    the same keys would otherwise take turns rewriting one job. (A run with no environment, such as rendered
    manifests applied as they are, is no environment's: it may manage them, as before projects existed.)"""
    found: dict[str, str] = {}
    if scope.env is None:
        return found  # no environment's run: nothing to read the markers for
    for base_id, job in current.items():
        marker = markers.read(job.description)
        if marker is not None and marker.env is not None and marker.env != scope.env:
            found[base_id] = (
                f"job {job.id} was created by environment {marker.env}, not {scope.env}: environments that "
                "share an account need different keyPrefix values in the project file"
            )
    return found


def _orphans(
    listing: Sequence[dict[str, Any]], identities: Iterable[markers.Identity], scope: markers.Scope
) -> tuple[list[tuple[markers.Marker, states.Job]], dict[str, int]]:
    """Marked drafts that no manifest claims, created from the run's own roots and environment; and how many
    marked drafts, per root, were created from a root that holds the run's (other manifests of that root may
    claim them, so they are counted and never judged).

    Never a started job, never an unmarked one, never one a manifest names by its id (whatever its marker says:
    a key moved to ``metadata.id`` still manages its job), never another folder's or environment's.
    """
    identities = list(identities)
    claimed = {identity.claim for identity in identities}
    managed = {identity.base_id for identity in identities}
    found = []
    wider: dict[str, int] = {}
    for raw in listing:
        marker = markers.read(str(raw.get("description") or ""))
        if marker is None or marker.claim in claimed or raw.get("state", states.DRAFT) != states.DRAFT:
            continue
        if str(raw.get("id")) in managed:
            continue
        standing = scope.standing(marker)
        if standing is markers.Standing.WIDER:
            root = marker.root or markers.ANCHOR
            wider[root] = wider.get(root, 0) + 1
        elif standing is markers.Standing.OWN:
            found.append((marker, states.from_api(raw)))
    return found, wider


SNAKE_SPELLINGS: Final = {camel: snake for snake, camel in states.KNOWN_SOURCE_FIELDS.items()}


def _with_lines(plan: plans.Plan, prepared: Prepared) -> plans.Plan:
    """The manifest line of every changed field: only the files with changes are read again, for positions."""

    def located(job: plans.JobPlan, document: loading.Document) -> plans.JobPlan:
        if not job.changes:
            return job
        lines = {
            change.dotted: positions.locate(
                document.file, document.index, ("spec", *change.path), aliases=SNAKE_SPELLINGS
            ).line
            for change in job.changes
        }
        return replace(job, lines=lines)

    documents = [entry.document for entry in prepared.entries]
    return replace(plan, jobs=tuple(map(located, plan.jobs, documents)))


async def apply(
    planned: Planned,
    config: settings.Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    token: auth.Token | None = None,
    stopping: asyncio.Event | None = None,
    progress: Progress | None = None,
) -> reports.Report:
    """Send the plan's calls; bodies come from the real desired state and the state the plan read."""
    async with endpoints.Client(
        config, transport=transport, token=token, expected_requests=planned.plan.calls, stopping=stopping
    ) as api:
        api.secrets.update(_secret_values(planned.prepared))
        return await sending.apply(
            api,
            planned.plan,
            planned.desired,
            planned.current,
            concurrency=config.concurrency,
            stopping=stopping,
            progress=progress,
        )


def _secret_values(prepared: Prepared) -> set[str]:
    if prepared.exposures.keys() != prepared.desired.keys():
        return _secret_values_in(prepared.desired, prepared.sensitive)
    return {secret for exposure in prepared.exposures.values() for secret in exposure.secrets}


def _secret_values_in(
    desired: Mapping[str, states.Job], sensitive: Mapping[str, frozenset[redaction.Path]]
) -> set[str]:
    """Every secret the manifests hold, by value (a referenced templateId, a credential holding a list or a
    mapping): scrubbed from API error messages.
    """
    values: set[str] = set()
    for job_id, job in desired.items():
        values.update(masking.secret_values(job, None, sensitive.get(job_id, frozenset())))
    return values


def check_env(document: planfiles.PlanDoc, env: str | None) -> None:
    """A plan file made for one environment is applied in that one only: its calls were planned against the
    other's jobs, and its ids may carry the other's keyPrefix."""
    if document.scope.env != env:
        made = f"environment {document.scope.env}" if document.scope.env else "no environment"
        given = f"environment {env}" if env else "no environment (no --env)"
        raise errors.ConfigError(f"the plan file was made for {made}; this run is for {given}: refused")


async def apply_planfile(
    document: planfiles.PlanDoc,
    environ: Mapping[str, str],
    config: settings.Settings,
    *,
    env: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    stopping: asyncio.Event | None = None,
    progress: Progress | None = None,
) -> reports.Report:
    """Apply a reviewed plan: re-read each job, refuse only the ones that moved, build bodies from the fresh read.

    A plan file is untrusted, so no call is taken from it on its word: each job's calls are planned again from
    the file's desired state and the fresh read (:mod:`reconciler.planning.planchecks`), and a prune deletes only an
    orphan the fresh listing shows. Refusing per job, where Terraform refuses the whole plan, is sound because
    every job is independent.
    """
    check_env(document, env)
    if not document.api_url or document.api_url.rstrip("/") != config.api_url.rstrip("/"):
        raise errors.ConfigError(f"the plan was made against {document.api_url}, this run targets {config.api_url}")
    from reconciler.planning import (  # their models cost a few ms to build; only this path needs them
        planchecks,
        planfiles,
    )

    plan = planfiles.to_plan(document)
    writes = [job for job in plan.jobs if job.calls]
    pruning = any(job.action is plans.Action.PRUNE for job in writes)
    # The variable holding the key is never a value a job field may take, whatever the file declares.
    environ = {name: value for name, value in environ.items() if name != config.key_variable}
    desired = _desired_from_plan([job for job in writes if job.action is not plans.Action.PRUNE], environ)
    key = redaction.fingerprint_key(config.api_key.reveal())
    targets = {target for job in writes for target in (job.job_id, *(call.target for call in job.calls))}
    expected = fetching.expected_requests(len(targets), list_all=pruning) + plan.calls
    async with endpoints.Client(config, transport=transport, expected_requests=expected, stopping=stopping) as api:
        api.secrets.update(_secret_values_in(desired, {job.job_id: job.sensitive for job in writes}))
        fetched = await fetching.fetch(
            api,
            [markers.Identity(target) for target in sorted(targets)],
            concurrency=config.concurrency,
            list_all=pruning,
        )
        current = {job_id: states.from_api(raw) for job_id, raw in fetched.jobs.items()}
        listed = {str(raw.get("id")): raw for raw in fetched.listing or ()}
        managed = [job for job in plan.jobs if job.action is not plans.Action.PRUNE]
        refused: list[reports.Result] = []
        fresh: list[plans.JobPlan] = []
        elsewhere = _claimed_elsewhere(current, plan.scope)
        for job in writes:
            refusal = _refusal(job, desired.get(job.job_id), current, fetched.failures, key)
            if refusal is None and job.job_id in elsewhere:
                refusal = (reports.Outcome.REFUSED, elsewhere[job.job_id])
            if refusal is None and job.action is plans.Action.PRUNE:
                reason = planchecks.prune_refusal(job, listed.get(job.job_id), managed, plan.scope)
                refusal = (reports.Outcome.REFUSED, reason) if reason else None
                chosen: plans.JobPlan | None = job
            elif refusal is None:
                verdict = planchecks.rederive(job, desired[job.job_id], current.get(job.job_id), key)
                refusal = (verdict.outcome, verdict.reason) if verdict.job is None else None
                chosen = verdict.job
            if refusal or chosen is None:
                outcome, reason = refusal or (reports.Outcome.REFUSED, "not re-derived")
                refused.extend(reports.Result(call.target, call.section, outcome, reason) for call in job.calls)
            else:
                fresh.append(chosen)
        blocked = [job for job in plan.jobs if job.action is plans.Action.BLOCKED]
        report = await sending.apply(
            api,
            plans.Plan((*blocked, *fresh)),
            desired,
            current,
            concurrency=config.concurrency,
            stopping=stopping,
            progress=progress,
        )
    return reports.Report((*refused, *report.results), report.requests, report.interrupted)


def _refusal(
    job: plans.JobPlan,
    desired: states.Job | None,
    current: Mapping[str, states.Job],
    failures: Mapping[str, str],
    key: bytes,
) -> tuple[reports.Outcome, str] | None:
    """Why a planned job must not be written now because the server moved, if it must not."""
    failure = failures.get(job.job_id)
    if failure:
        return reports.Outcome.FAILED, f"could not re-read the job: {failure}"
    now = current.get(job.job_id)
    moved = staleness.stale(job, now, key, masking.secret_values(desired, now, job.sensitive))
    created = [call.target for call in job.calls if call.section == "create" and call.target != job.job_id]
    moved += [f"generation {job.generation} ({target}) was created" for target in created if target in current]
    return (reports.Outcome.STALE, "; ".join(moved) + " since the plan") if moved else None


def _desired_from_plan(jobs: Sequence[plans.JobPlan], environ: Mapping[str, str]) -> dict[str, states.Job]:
    desired: dict[str, states.Job] = {}
    missing: list[str] = []
    for job in jobs:
        wanted = states.Job(job.job_id, job.declared, job.template_id, description=job.description)
        resolved, unset = references.resolve(wanted, environ)
        missing.extend(f"{item.variable} {item.reason} (needed by {job.source})" for item in unset)
        desired[job.job_id] = resolved
    if missing:
        raise errors.ConfigError("environment variables not usable: " + "; ".join(sorted(set(missing))))
    return desired


async def import_jobs(
    job_ids: Sequence[str],
    config: settings.Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    key_prefix: str = "",
) -> list[imports.Imported]:
    """Read each job (read-only) and turn it into the manifest that manages it."""
    identities = [markers.Identity(job_id) for job_id in job_ids]
    expected = fetching.expected_requests(len(set(job_ids)))
    async with endpoints.Client(config, transport=transport, read_only=True, expected_requests=expected) as api:
        fetched = await fetching.fetch(api, identities, concurrency=config.concurrency)
    failures = [f"{job_id}: {reason}" for job_id, reason in fetched.failures.items()]
    failures += [
        f"{job_id}: no such job" for job_id in job_ids if job_id not in fetched.jobs and job_id not in fetched.failures
    ]
    if failures:
        raise errors.ApiError("cannot import " + "; ".join(failures))
    return [imports.manifest_of(fetched.jobs[job_id], key_prefix) for job_id in dict.fromkeys(job_ids)]
