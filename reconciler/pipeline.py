"""The pipeline, end to end: paths → desired state; API → current state; both → plan; plan → report.

This is the one place that knows the order of the steps; the CLI calls it and renders what it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from reconciler import errors, settings
from reconciler.api import auth, endpoints, fetching
from reconciler.applying import sending
from reconciler.desired import environments, imports, limits, loading, positions, roots
from reconciler.desired import validation as validating
from reconciler.desired.selection import Answers, Building, Prepared, Selection
from reconciler.planning import (
    markers,
    masking,
    orphans,
    planner,
    plans,
    redaction,
    reports,
    staleness,
    states,
)

if TYPE_CHECKING:
    import httpx

    from reconciler.planning import planfiles

Progress = Callable[[int], None]


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
    selection = replace(selection, key_prefix=context.key_prefix)
    keys = context.key_variables
    usable = {name: value for name, value in environ.items() if name not in keys} if keys else environ
    building = Building(usable, keys)
    answers = Answers()
    # Each share's desired states are built as soon as it is validated, while later shares still parse; the
    # validation problems of every file are raised once the last share is in, before anything built is used.
    for share in validating.shares(paths, max_bytes=max_bytes, context=context, parsing=parsing, keep_data=False):
        for entry in share:
            answers.add(selection, entry)
            if selection.keeps(entry):
                building.add(entry)
    unmatched = selection.unanswered(answers)
    if unmatched:
        raise errors.ConfigError("no manifest matches " + ", ".join(unmatched))
    if not building.managed and (selection.targets or selection.selectors):
        raise errors.ConfigError("the selection (--target, --exclude, --selector) leaves no manifest to plan")
    if building.problems:
        raise errors.ManifestErrors(building.problems)
    managed = building.managed
    anchor = context.project.folder if context.project is not None else None
    given = [roots.label(path, anchor) for path in paths]
    root_of = roots.finder(paths, given)
    found_under = {entry.job_id: root_of(entry.document.file) for entry in managed}
    scope = markers.Scope.of(given, context.env)
    return Prepared(
        entries=tuple(managed),
        desired=building.desired,
        sensitive=building.sensitive,
        declared=building.declared,
        scope=scope,
        roots=found_under,
        exposures=building.exposures,
    )


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
    claimed = orphans.claimed_elsewhere(current, prepared.scope)
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
        managed = positions.with_lines(managed, [entry.document for entry in prepared.entries])
    found, wider = ([], {}) if partial else orphans.orphans(fetched.listing or [], identities.values(), prepared.scope)
    unclaimed = [(planner.orphan(job, marker, prune=options.prune), job) for marker, job in found]
    managed = replace(managed, scope=prepared.scope, unjudged=tuple(sorted(wider.items())))
    desired: dict[str, states.Job] = {}
    current_by_job = {job.job_id: state for job, state in unclaimed}
    for entry, job in zip(prepared.entries, managed.jobs, strict=True):
        desired[job.job_id] = prepared.desired[entry.job_id]
        if entry.job_id in current:
            current_by_job[job.job_id] = current[entry.job_id]
    plan = replace(managed, jobs=(*managed.jobs, *(job for job, _ in unclaimed)))
    return Planned(plan, prepared, desired, current_by_job)


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
    """Every secret the manifests hold, by value, from what preparing found: scrubbed from API error messages."""
    return {secret for exposure in prepared.exposures.values() for secret in exposure.secrets}


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
    from reconciler.planning import (  # their models cost a few ms to build; only this path needs them
        planchecks,
        planfiles,
    )

    planfiles.check_env(document, env)
    if not document.api_url or document.api_url.rstrip("/") != config.api_url.rstrip("/"):
        raise errors.ConfigError(f"the plan was made against {document.api_url}, this run targets {config.api_url}")

    plan = planfiles.to_plan(document)
    writes = [job for job in plan.jobs if job.calls]
    pruning = any(job.action is plans.Action.PRUNE for job in writes)
    # The variable holding the key is never a value a job field may take, whatever the file declares.
    environ = {name: value for name, value in environ.items() if name != config.key_variable}
    desired = planfiles.desired_of_plan([job for job in writes if job.action is not plans.Action.PRUNE], environ)
    key = redaction.fingerprint_key(config.api_key.reveal())
    targets = {target for job in writes for target in (job.job_id, *(call.target for call in job.calls))}
    expected = fetching.expected_requests(len(targets), list_all=pruning) + plan.calls
    async with endpoints.Client(config, transport=transport, expected_requests=expected, stopping=stopping) as api:
        api.secrets.update(masking.secrets_of(desired, {job.job_id: job.sensitive for job in writes}))
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
        elsewhere = orphans.claimed_elsewhere(current, plan.scope)
        for job in writes:
            refusal = staleness.refusal(job, desired.get(job.job_id), current, fetched.failures, key)
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
