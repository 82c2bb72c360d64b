"""``plan``: the pipeline read-only, the plan rendered and saved, and its exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import click

from reconciler.cli.app import (
    EXIT_BLOCKED,
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
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
    lifecycle_from,
    manifest_options,
    prepare,
    project_options,
)
from reconciler.cli.output import check_out, full_values_option, plan_meta, progress_bar, save_plan, show_plan
from reconciler.cli.running import reading

if TYPE_CHECKING:
    from reconciler.desired import loading
    from reconciler.planning import plans

FORMATS: Final = click.Choice(["text", "json", "markdown"])


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@api_options
@project_options
@manifest_options
@click.option("--format", "output", type=FORMATS, default="text", show_default=True, help="How stdout shows the plan.")
@click.option("--out", type=click.Path(dir_okay=False), help="Also save the plan as a JSON plan file, for apply.")
@click.option("--drift", is_flag=True, help="Only report fields changed on the server; propose no writes.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when changes are pending, 3 when items are blocked.")
@full_values_option
@debug_option
@guarded
@parsing_first
def plan(
    paths: tuple[str, ...],
    output: str,
    *,
    out: str | None,
    drift: bool,
    detailed_exitcode: bool,
    full_values: bool,
    api: ApiFlags,
    project: ProjectFlags,
    manifest: ManifestFlags,
    parsing: loading.Parsing,
) -> int:
    """Show what apply would change, field by field, and the calls it would make. Never writes."""
    from reconciler import pipeline
    from reconciler.planning import plans

    if out:
        check_out(out)  # before the API is read: a plan shown but not saved would be lost work
    lifecycle = lifecycle_from(manifest)
    if drift:
        _refuse_writing_flags(manifest)
    prepared, config, selection = prepare(paths, api, project, manifest, parsing)
    with progress_bar("Reading", len(prepared.entries)) as progress:
        located = output == "markdown" or out is not None  # a saved plan keeps its lines, for `show`
        work = pipeline.plan(
            prepared, config, options=lifecycle, partial=selection.partial, locate=located, progress=progress
        )
        planned = reading(work, config)
    shown = plans.drift(planned.plan) if drift else planned.plan
    meta = plan_meta(config)  # one document: --format json prints what --out saves, api_url included
    show_plan(shown, output, partial=selection.partial, drift=drift, meta=meta, full=full_values)
    if out:
        save_plan(shown, out, meta, partial=selection.partial, drift=drift)
    return _plan_exit(shown, detailed_exitcode)


def _refuse_writing_flags(manifest: ManifestFlags) -> None:
    """A drift report proposes nothing, so the flags that allow destructive proposals have nothing to shape."""
    from reconciler import errors

    given = [flag for flag, on in (("--replace", manifest.replace), ("--abort-running", manifest.abort_running),
                                   ("--prune", manifest.prune)) if on]  # fmt: skip
    if given:
        raise errors.ConfigError(f"--drift proposes no writes: {', '.join(given)} cannot be used with it")


def _plan_exit(plan: plans.Plan, detailed: bool) -> int:
    if plan.has_errors:
        return EXIT_ERROR
    if detailed and plan.has_blocked:
        return EXIT_BLOCKED
    if detailed and plan.has_changes:
        return EXIT_CHANGES
    return EXIT_OK
