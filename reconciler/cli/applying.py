"""``apply``: a plan made here and confirmed, or a reviewed plan file applied exactly; the report and its exit code."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

import click

from reconciler.cli.app import (
    EXIT_BLOCKED,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    cli,
    debug_option,
    guarded,
    parsing_first,
)
from reconciler.cli.options import (
    ApiFlags,
    ManifestFlags,
    ProjectFlags,
    api_options,
    context_from,
    lifecycle_from,
    manifest_options,
    prepare,
    project_options,
    settings_from,
)
from reconciler.cli.output import confirmed, full_values_option, progress_bar, show_plan, show_report
from reconciler.cli.running import interruptibly, reading, run_async

if TYPE_CHECKING:
    from reconciler.desired import loading
    from reconciler.planning import plans, reports


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@api_options
@project_options
@manifest_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking (required outside a terminal).")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 3 when items are blocked.")
@full_values_option
@debug_option
@guarded
@parsing_first
def apply(
    paths: tuple[str, ...],
    auto_approve: bool,
    output: str,
    detailed_exitcode: bool,
    full_values: bool,
    *,
    api: ApiFlags,
    project: ProjectFlags,
    manifest: ManifestFlags,
    parsing: loading.Parsing,
) -> int:
    """Plan, show the plan, ask, then send only the PATCH calls needed.

    Given a plan file (plan --out) instead, apply exactly that reviewed plan without asking: each job is
    re-read first, and a job that moved on the server since the plan is refused as stale; the others proceed.
    """
    from reconciler import pipeline
    from reconciler.api import auth
    from reconciler.planning import planfiles

    if len(paths) == 1 and planfiles.is_plan_file(paths[0]):
        _refuse_planning_flags(paths[0], manifest, detailed_exitcode=detailed_exitcode)
        return _apply_planfile(paths[0], output, api, project, manifest.max_file_bytes)
    prepared, config, selection = prepare(paths, api, project, manifest, parsing)
    token = auth.Token()  # one key exchange for the run: the plan's client hands its token to apply's
    with progress_bar("Reading", len(prepared.entries)) as progress:
        lifecycle = lifecycle_from(manifest)
        work = pipeline.plan(
            prepared, config, options=lifecycle, partial=selection.partial, token=token, progress=progress
        )
        planned = reading(work, config)
    plan = planned.plan
    if output == "text":
        show_plan(plan, output, partial=selection.partial, full=full_values)
    if plan.has_errors:
        if output == "json":
            show_plan(plan, output, partial=selection.partial)  # the reasons, for the pipeline reading stdout
        click.echo("Not applying: the plan has errors; nothing was written.", err=True)
        return EXIT_ERROR
    if not plan.has_changes:
        if output == "json":
            show_report(_empty_report(plan), output)
        else:
            click.echo("Nothing to do.")
        return EXIT_BLOCKED if detailed_exitcode and plan.has_blocked else EXIT_OK
    if not auto_approve and not confirmed(plan):
        return EXIT_ERROR
    with progress_bar("Writing", plan.calls) as progress:
        report = run_async(
            interruptibly(
                lambda stopping: pipeline.apply(planned, config, token=token, stopping=stopping, progress=progress),
                config,
            )
        )
    report = _with_plan_requests(report, plan)
    show_report(report, output)
    return _apply_exit(report, blocked=detailed_exitcode and plan.has_blocked)


# Flags that shape a plan: a plan file was shaped when it was made and reviewed, so with one they would be
# ignored in silence (a --target read as "only this job" while the whole file is applied).
PLANNING_FLAGS: Final = {
    "targets": "--target",
    "excludes": "--exclude",
    "selectors": "--selector",
    "prune": "--prune",
    "replace": "--replace",
    "abort_running": "--abort-running",
}


def _refuse_planning_flags(path: str, manifest: ManifestFlags, *, detailed_exitcode: bool) -> None:
    from reconciler import errors

    given = [flag for name, flag in PLANNING_FLAGS.items() if getattr(manifest, name)]
    given += ["--detailed-exitcode"] if detailed_exitcode else []
    if given:
        raise errors.ConfigError(
            f"{', '.join(given)} cannot be used with the plan file {path}: a plan file is applied exactly as it "
            "was reviewed; pass the flag to `reconciler plan ... --out` instead"
        )


def _apply_planfile(path: str, output: str, api: ApiFlags, project: ProjectFlags, max_bytes: int) -> int:
    from reconciler import pipeline
    from reconciler.planning import planfiles

    document = planfiles.read(path)
    env = project.env or os.environ.get("BYTENITE_ENV") or None
    if env:
        planfiles.check_env(document, env)  # before the project is looked for: the clearest reason first
    context = None
    if env or document.scope.env:
        # The API and the key variable come from the project (in git), never from the plan file: a file edited
        # to name another URL must not receive the key. The name picks the project's environment.
        context = context_from(["."], project._replace(env=env or document.scope.env), max_bytes)
    config = settings_from(api, context)
    calls = document.summary.calls
    click.echo(f"Applying the reviewed plan {path} ({calls} call{'s' if calls != 1 else ''})", err=True)
    report = run_async(
        interruptibly(
            lambda stopping: pipeline.apply_planfile(
                document, os.environ, config, env=env or document.scope.env, stopping=stopping
            ),
            config,
        )
    )
    show_report(report, output)
    return _apply_exit(report, blocked=False)


def _apply_exit(report: reports.Report, *, blocked: bool) -> int:
    if report.interrupted:
        return EXIT_INTERRUPTED
    if report.partial:
        return EXIT_PARTIAL
    return EXIT_BLOCKED if blocked else EXIT_OK


def _with_plan_requests(report: reports.Report, plan: plans.Plan) -> reports.Report:
    """What the whole run cost: the plan's reads and the apply's writes."""
    from dataclasses import replace

    from reconciler.planning import plans as plan_values

    total = plan_values.Requests(
        report.requests.reads + plan.requests.reads,
        report.requests.writes + plan.requests.writes,
        report.requests.retries + plan.requests.retries,
    )
    return replace(report, requests=total)


def _empty_report(plan: plans.Plan) -> reports.Report:
    from reconciler.planning import reports

    return reports.Report((), plan.requests)
