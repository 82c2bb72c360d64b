"""``import``: manifests written for existing jobs, credentials as references."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.app import EXIT_OK, cli, debug_option, guarded
from reconciler.cli.options import ApiFlags, ProjectFlags, api_options, context_from, project_options, settings_from
from reconciler.cli.running import reading


@cli.command("import")
@click.argument("job_ids", nargs=-1, required=True)
@api_options
@project_options
@click.option("--out", type=click.Path(file_okay=False), help="Folder to write one manifest per job (else stdout).")
@click.option("--mkdir", is_flag=True, help="Create the --out folder (and its parents) when it does not exist.")
@click.option("--force", is_flag=True, help="Overwrite manifests that already exist in the --out folder.")
@debug_option
@guarded
def import_(
    job_ids: tuple[str, ...], out: str | None, mkdir: bool, force: bool, *, api: ApiFlags, project: ProjectFlags
) -> int:
    """Write manifests for existing jobs: managed sections only, credentials as ${env:NAME} references.

    With --out, as ``plan --out`` does, a folder that does not exist is an error (a typo would otherwise
    scatter manifests in a new tree) unless --mkdir asks for it, and an existing file is never overwritten
    without --force (it may hold edits and comments an import would lose).
    """
    from reconciler import files, pipeline
    from reconciler.desired import formatting

    # The project at or above the folder the manifests go to names the environment's API and key.
    context = context_from([out or "."], project)
    config = settings_from(api, context)
    if out:
        _check_folder(Path(out), mkdir=mkdir)  # before the API is read, as plan --out does
    imported = reading(pipeline.import_jobs(job_ids, config, key_prefix=context.key_prefix), config)
    if out:
        targets = [Path(out) / item.file_name for item in imported]
        _refuse_overwrites(targets, force=force)
        if mkdir and not Path(out).is_dir():
            Path(out).mkdir(parents=True)
            click.echo(f"created {out}", err=True)
        for item, target in zip(imported, targets, strict=True):
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


def _check_folder(folder: Path, *, mkdir: bool) -> None:
    from reconciler import errors

    if folder.exists() and not folder.is_dir():
        raise errors.ConfigError(f"--out {folder}: is a file, not a folder")
    if not folder.exists() and not mkdir:
        raise errors.ConfigError(f"--out {folder}: the folder does not exist (pass --mkdir to create it)")


def _refuse_overwrites(targets: list[Path], *, force: bool) -> None:
    """Every file that exists, named at once, before anything is written: no import half done."""
    from reconciler import errors

    existing = [str(target) for target in targets if target.exists()]
    if existing and not force:
        raise errors.ConfigError(f"--out: {', '.join(existing)} already exist{'s' if len(existing) == 1 else ''} "
                                 "(pass --force to overwrite)")  # fmt: skip
