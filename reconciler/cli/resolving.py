"""``render``: the manifests as one environment gets them, printed; no API key, no request.

What a reviewer diffs to see a promotion: ``diff <(reconciler render --env dev jobs) <(reconciler render --env
prod jobs)``. Defaults, overrides and variables are applied; ``${env:...}`` references are left as written,
since they are where secrets come in and render must never print one.
"""

from __future__ import annotations

import click

from reconciler.cli.app import EXIT_OK, cli, debug_option, guarded
from reconciler.cli.options import ProjectFlags, context_from, max_bytes_option, project_options


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@project_options
@click.option("--format", "output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@max_bytes_option
@debug_option
@guarded
def render(paths: tuple[str, ...], output: str, max_file_bytes: int, *, project: ProjectFlags) -> int:
    """Print the fully resolved manifests of one environment (offline; ${env:...} left unresolved)."""
    import json

    from reconciler.desired import formatting, validation

    context = context_from(paths, project, max_file_bytes)
    entries = validation.load(paths, max_bytes=max_file_bytes, context=context)
    documents = [entry.document.data for entry in entries]
    if output == "json":
        click.echo(json.dumps(documents, indent=2, ensure_ascii=False))
    else:
        click.echo(formatting.dump(documents), nl=False)
    return EXIT_OK
