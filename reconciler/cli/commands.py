"""The commands: each wires the pipeline in order, renders what it returns and picks the exit code.

The only modules that print or exit are this package's. Nothing heavy is imported at module level:
``--help`` must not pay for httpx, pydantic or deepdiff, so every command imports its work when it runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import click

from reconciler.cli.app import (
    EXIT_BLOCKED,
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    cli,
    debug_option,
    guarded,
)
from reconciler.cli.options import (
    api_options,
    lifecycle_from,
    manifest_options,
    max_bytes_option,
    prepare,
    settings_from,
)
from reconciler.cli.output import check_out, confirmed, plan_meta, progress_bar, save_plan, show_plan, show_report
from reconciler.cli.running import interruptibly, reading, run_async

if TYPE_CHECKING:
    from reconciler import plans, reports


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@max_bytes_option
@debug_option
@guarded
def validate(paths: tuple[str, ...], max_file_bytes: int) -> int:
    """Check manifests offline: shapes, types, duplicate ids, references (no API call, no secret needed)."""
    from reconciler import validation

    entries = validation.load(paths, max_bytes=max_file_bytes)
    click.echo(f"{len(entries)} manifest{'s' if len(entries) != 1 else ''} valid.")
    return EXIT_OK


FORMATS: Final = click.Choice(["text", "json", "markdown"])


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@api_options
@manifest_options
@click.option("--format", "output", type=FORMATS, default="text", show_default=True, help="How stdout shows the plan.")
@click.option("--out", type=click.Path(dir_okay=False), help="Also save the plan as a JSON plan file, for apply.")
@click.option("--drift", is_flag=True, help="Only report fields changed on the server; propose no writes.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when changes are pending, 3 when items are blocked.")
@debug_option
@guarded
def plan(
    paths: tuple[str, ...], output: str, out: str | None, drift: bool, detailed_exitcode: bool, **options: Any
) -> int:
    """Show what apply would change, field by field, and the calls it would make. Never writes."""

    from reconciler import runs

    if out:
        check_out(out)  # before the API is read: a plan shown but not saved would be lost work
    prepared, config, selection = prepare(paths, options)
    with progress_bar("Reading", len(prepared.entries)) as progress:
        lifecycle = lifecycle_from(options)
        located = output == "markdown"
        work = runs.plan(
            prepared, config, options=lifecycle, partial=selection.partial, locate=located, progress=progress
        )
        planned = reading(work, config)
    meta = plan_meta(config)  # one document: --format json prints what --out saves, api_url included
    show_plan(planned.plan, output, partial=selection.partial, drift=drift, meta=meta)
    if out:
        save_plan(planned.plan, out, meta, partial=selection.partial)
    return _plan_exit(planned.plan, detailed_exitcode)


def _plan_exit(plan: plans.Plan, detailed: bool) -> int:
    if plan.has_errors:
        return EXIT_ERROR
    if detailed and plan.has_blocked:
        return EXIT_BLOCKED
    if detailed and plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@api_options
@manifest_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking (required outside a terminal).")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 3 when items are blocked.")
@debug_option
@guarded
def apply(paths: tuple[str, ...], auto_approve: bool, output: str, detailed_exitcode: bool, **options: Any) -> int:
    """Plan, show the plan, ask, then send only the PATCH calls needed.

    Given a plan file (plan --out) instead, apply exactly that reviewed plan without asking: each job is
    re-read first, and a job that moved on the server since the plan is refused as stale; the others proceed.
    """
    from reconciler import client, planfiles, runs

    if len(paths) == 1 and planfiles.is_plan_file(paths[0]):
        return _apply_planfile(paths[0], output, options)
    prepared, config, selection = prepare(paths, options)
    token = client.Token()  # one key exchange for the run: the plan's client hands its token to apply's
    with progress_bar("Reading", len(prepared.entries)) as progress:
        lifecycle = lifecycle_from(options)
        work = runs.plan(prepared, config, options=lifecycle, partial=selection.partial, token=token, progress=progress)
        planned = reading(work, config)
    plan = planned.plan
    if output == "text":
        show_plan(plan, output, partial=selection.partial)
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
                lambda stopping: runs.apply(planned, config, token=token, stopping=stopping, progress=progress),
                config,
            )
        )
    report = _with_plan_requests(report, plan)
    show_report(report, output)
    return _apply_exit(report, blocked=detailed_exitcode and plan.has_blocked)


def _apply_planfile(path: str, output: str, options: dict[str, Any]) -> int:

    from reconciler import planfiles, runs

    document = planfiles.read(path)
    config = settings_from(options)
    click.echo(f"Applying the reviewed plan {path} ({document.summary.calls} calls)", err=True)
    report = run_async(
        interruptibly(lambda stopping: runs.apply_planfile(document, os.environ, config, stopping=stopping), config)
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

    from reconciler import plans as plan_values

    total = plan_values.Requests(
        report.requests.reads + plan.requests.reads,
        report.requests.writes + plan.requests.writes,
        report.requests.retries + plan.requests.retries,
    )
    return replace(report, requests=total)


def _empty_report(plan: plans.Plan) -> reports.Report:
    from reconciler import reports

    return reports.Report((), plan.requests)


@cli.command("import")
@click.argument("job_ids", nargs=-1, required=True)
@api_options
@click.option("--out", type=click.Path(file_okay=False), help="Folder to write one manifest per job (else stdout).")
@debug_option
@guarded
def import_(job_ids: tuple[str, ...], out: str | None, **options: Any) -> int:
    """Write manifests for existing jobs: managed sections only, credentials as ${env:NAME} references."""
    from pathlib import Path

    from reconciler import files, formatting, runs

    config = settings_from(options)
    imported = reading(runs.import_jobs(job_ids, config), config)
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        for item in imported:
            target = Path(out) / item.file_name
            files.write_atomically(target, formatting.dump([item.document]))
            click.echo(f"wrote {target}", err=True)
    else:
        click.echo(formatting.dump([item.document for item in imported]), nl=False)
    variables = sorted({name for item in imported for name in item.variables})
    if variables:
        click.echo("Inline credentials were replaced by references; set these before planning:", err=True)
        for name in variables:
            click.echo(f"  {name}", err=True)
    return EXIT_OK


@cli.command("fmt")
@click.argument("paths", nargs=-1, required=True)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when a file would be reformatted.")
@max_bytes_option
@debug_option
@guarded
def fmt(paths: tuple[str, ...], check: bool, max_file_bytes: int) -> int:
    """Rewrite manifests in the canonical layout, keeping comments and key order."""
    from reconciler import formatting

    results = formatting.format_files(paths, check=check, max_bytes=max_file_bytes)
    changed = [result.path for result in results if result.changed]
    for path in changed:
        click.echo(f"{'would reformat' if check else 'reformatted'} {path}")
    click.echo(f"{len(changed)} of {len(results)} file{'s' if len(results) != 1 else ''} "
               f"{'would be ' if check else ''}reformatted.", err=True)  # fmt: skip
    return EXIT_ERROR if check and changed else EXIT_OK


@cli.command("schema")
def schema() -> None:
    """Print the manifest's JSON Schema (for editors and external CI)."""
    from reconciler import manifests

    click.echo(manifests.json_schema_text(), nl=False)


# The cyclic garbage collector's default (a young collection every 700 allocations) is tuned for long-lived
# programs with small heaps. A run allocates millions of objects that live until it ends (parsed manifests, jobs,
# plans), each young collection promotes them, and older collections walk them again: a third of a 10,000-job
# plan went there. Rarer young collections keep memory the same here (the data has few cycles to reclaim).
GC_THRESHOLDS: Final = (50_000, 10, 10)


def main(argv: Sequence[str] | None = None) -> None:
    """The process's entry point (the ``reconciler`` script, ``python -m reconciler``): it tunes the collector
    for one run and freezes the heap when the run ends. A program that embeds the tool calls ``cli`` instead."""
    import gc

    gc.set_threshold(*GC_THRESHOLDS)
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="reconciler")
    finally:
        # The run is over: at exit the collector would walk every object left, only for them to be freed
        # anyway (60-100 ms after a plan of 1,000 jobs). Frozen objects are skipped; they are still freed.
        gc.freeze()
