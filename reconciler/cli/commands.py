"""The small commands (``validate``, ``fmt``, ``schema``) and the entry point; the others live one family a
module along the data flow: ``planning`` (plan), ``showing`` (show), ``applying`` (apply, plan files),
``importing`` (import).

The only modules that print or exit are this package's. Nothing heavy is imported at module level:
``--help`` must not pay for httpx, pydantic or deepdiff, so every command imports its work when it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import click

from reconciler.cli import (  # noqa: F401  (registering their commands on the group)
    applying,
    importing,
    planning,
    resolving,
    showing,
)
from reconciler.cli.app import EXIT_ERROR, EXIT_OK, cli, debug_option, guarded
from reconciler.cli.options import ProjectFlags, context_from, max_bytes_option, project_options


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@project_options
@max_bytes_option
@debug_option
@guarded
def validate(paths: tuple[str, ...], max_file_bytes: int, *, project: ProjectFlags) -> int:
    """Check manifests offline: shapes, types, duplicate ids, references (no API call, no secret needed).

    In a project with environments and no --env, every environment is resolved and checked, and a problem
    found in only some of them is labelled with their names.
    """
    import os

    from reconciler.desired import loading

    # Begun first: the manifests are parsed in other processes while this one imports what validates them.
    with loading.Parsing(paths, max_bytes=max_file_bytes) as parsing:
        from reconciler.desired import contexts, validation

        if project.env or os.environ.get(contexts.ENV_VARIABLE):
            context = context_from(paths, project, max_file_bytes)
            entries = validation.load(
                paths, max_bytes=max_file_bytes, context=context, parsing=parsing, keep_data=False
            )
            click.echo(f"{_manifests(len(entries))} valid in environment {context.env}.")
            return EXIT_OK
        every = contexts.every(
            paths,
            project=project.project,
            given=project.variables,
            environ=os.environ,
            max_bytes=max_file_bytes,
        )
        found = validation.load_every(paths, every, max_bytes=max_file_bytes, parsing=parsing)
    if list(found) == [None]:
        click.echo(f"{_manifests(len(found[None]))} valid.")
    else:
        click.echo(", ".join(f"{_manifests(len(entries))} valid in {env}" for env, entries in found.items()) + ".")
    return EXIT_OK


def _manifests(count: int) -> str:
    return f"{count} manifest{'s' if count != 1 else ''}"


@cli.command("fmt")
@click.argument("paths", nargs=-1, required=True)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when a file would be reformatted.")
@project_options
@max_bytes_option
@debug_option
@guarded
def fmt(paths: tuple[str, ...], check: bool, max_file_bytes: int, *, project: ProjectFlags) -> int:
    """Rewrite manifests in the canonical layout, keeping comments and key order. The layout is the same in
    every environment, so --env, --project and --var are accepted and change nothing."""
    from reconciler.desired import formatting

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
    from reconciler.desired import manifests

    click.echo(manifests.json_schema_text(), nl=False)


# The cyclic garbage collector's default (a young collection every 700 allocations) is tuned for long-lived
# programs with small heaps. A run allocates millions of objects that live until it ends (parsed manifests, jobs,
# plans), each young collection promotes them, and older collections walk them again: a third of a 10,000-job
# plan went there. Rarer young collections keep memory the same here (the data has few cycles to reclaim).
GC_THRESHOLDS: Final = (50_000, 10, 10)


PYDANTIC_PLUGINS: Final = "PYDANTIC_DISABLE_PLUGINS"


def main(argv: Sequence[str] | None = None) -> None:
    """The process's entry point (the ``reconciler`` script, ``python -m reconciler``): it tunes the collector
    for one run (not for the emulator, a long-lived server) and freezes the heap when the run ends. A program
    that embeds the tool calls ``cli`` instead."""
    import gc
    import os
    import sys

    from reconciler.cli import running

    args = list(argv) if argv is not None else sys.argv[1:]
    command = next((arg for arg in args if not arg.startswith("-")), "")
    plugins_unset = False
    if command != "emulator":  # a server lives long and frees as it goes: the default suits it
        gc.set_threshold(*GC_THRESHOLDS)
        # pydantic looks for plugins in the entry points of every installed distribution whenever it builds a
        # model's validator (15-30 ms in this project's own environment, more in a larger one), and a plugin
        # found there would be handed every value validated. The run's validators are all built while this is
        # set (the API answers' when their first answer comes). The tool needs none; set it to have them.
        plugins_unset = PYDANTIC_PLUGINS not in os.environ
        if plugins_unset:
            os.environ[PYDANTIC_PLUGINS] = "__all__"
        running.owns_process = True  # and the prepared manifests may be frozen out of the collector's walks
    try:
        cli.main(args=args, prog_name="reconciler")
    finally:
        running.owns_process = False  # a caller that went on (a test calling main) owns it again
        if plugins_unset:  # a caller that goes on gets its environment back, and pydantic its plugins
            os.environ.pop(PYDANTIC_PLUGINS, None)
        # The run is over: at exit the collector would walk every object left, only for them to be freed
        # anyway (60-100 ms after a plan of 1,000 jobs). Frozen objects are skipped; they are still freed.
        gc.freeze()
