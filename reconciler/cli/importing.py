"""``import``: manifests written for existing jobs, credentials as references."""

from __future__ import annotations

from typing import Any

import click

from reconciler.cli.app import EXIT_OK, cli, debug_option, guarded
from reconciler.cli.options import api_options, settings_from
from reconciler.cli.running import reading


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
