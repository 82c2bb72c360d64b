"""What the command line shows: plans and reports on stdout, progress and prompts on stderr, plan files saved."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:
    from reconciler import settings
    from reconciler.planning import plans, reports


full_values_option = click.option(
    "--full-values", is_flag=True, help="Show long values whole (else a window around where they differ)."
)


def style(out: TextIO) -> Callable[[str, str], str]:
    if out.isatty() and not os.environ.get("NO_COLOR"):
        return lambda text, colour: click.style(text, fg=colour)
    return lambda text, colour: text


# Options shared by plan and apply -------------------------------------------------------------------


def show_plan(
    plan: plans.Plan,
    output: str,
    *,
    partial: bool,
    drift: bool = False,
    meta: dict[str, Any] | None = None,
    full: bool = False,
) -> None:
    """The plan on stdout; ``full`` (``--full-values``) shows long values whole instead of a window of them."""
    if output == "json":
        from reconciler.rendering import document

        document.write(document.plan_document(plan, partial=partial, drift=drift, meta=meta, lazy=True), sys.stdout)
    elif output == "markdown":
        from reconciler.rendering import markdown

        cell = None if full else markdown.CELL_CHARS
        markdown.render_plan(plan, sys.stdout, link=github_link(), partial=partial, drift=drift, cell=cell)
    else:
        from reconciler.rendering import text, values

        limit = None if full else values.MAX_VALUE_CHARS
        text.render_plan(plan, sys.stdout, style=style(sys.stdout), partial=partial, drift=drift, limit=limit)


def plan_meta(config: settings.Settings) -> dict[str, Any]:
    """Where and when a plan was made: a plan file without its API URL could be applied anywhere."""
    import datetime

    return {
        "api_url": config.api_url,
        "jobs_prefix": config.jobs_prefix,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def check_out(path: str) -> None:
    """Refuse a ``--out`` that cannot be written before anything is read, rather than after the plan is shown."""
    from pathlib import Path

    from reconciler import errors

    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise errors.ConfigError(f"--out {path}: the folder {folder} does not exist")
    if target.is_dir():
        raise errors.ConfigError(f"--out {path}: is a folder, not a file")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise errors.ConfigError(f"--out {path}: the folder {folder} is not writable")


def save_plan(plan: plans.Plan, path: str, meta: dict[str, Any], *, partial: bool, drift: bool = False) -> None:
    """The plan as a plan file; a drift report is saved as ``kind: drift``, which apply refuses."""
    import io
    from pathlib import Path

    from reconciler import errors, files
    from reconciler.rendering import document

    out = io.StringIO()
    document.write(document.plan_document(plan, partial=partial, drift=drift, meta=meta, lazy=True), out)
    try:
        files.write_atomically(Path(path), out.getvalue())
    except OSError as error:
        raise errors.ConfigError(f"--out {path}: cannot write the plan file: {error.strerror}") from None
    if drift:
        click.echo(f"Drift report saved to {path} (a report: apply refuses it)", err=True)
    else:
        click.echo(f"Plan saved to {path}; apply it with: reconciler apply {path}", err=True)


def github_link() -> Callable[[str, int | None], str | None]:
    """Links to the manifest lines at the commit under review, when CI says which commit that is."""
    import urllib.parse
    from pathlib import Path

    server, repository, sha = (
        os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA")
    )
    root = repository_root(Path.cwd())

    def link(file: str, line: int | None) -> str | None:
        if not (server and repository and sha):
            return None
        try:
            relative = Path(file).resolve().relative_to(root).as_posix()
        except ValueError:
            return None
        # Percent-encoded: a space or a `#` in a folder name would otherwise end the path part of the URL.
        path = urllib.parse.quote(relative)
        return f"{server}/{repository}/blob/{sha}/{path}" + (f"#L{line}" if line else "")

    return link


def repository_root(start: Any) -> Any:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def progress_bar(verb: str, total: int) -> contextlib.AbstractContextManager[Callable[[int], None] | None]:
    """A progress bar on a terminal's stderr for long runs; nothing at all in CI logs."""
    if total < 200 or not sys.stderr.isatty() or os.environ.get("CI"):
        return contextlib.nullcontext()
    from reconciler.rendering import progress

    return progress.bar(verb, total)


def confirmed(plan: plans.Plan) -> bool:
    if not sys.stdin.isatty():
        click.echo(
            "Not applying: standard input is not a terminal, so nobody can confirm. "
            "Review the plan and pass --auto-approve.",
            err=True,
        )
        return False
    destructive = f", {plan.destructive} destructive" if plan.destructive else ""
    answer = click.prompt(
        f"\nApply {plan.calls} call{'s' if plan.calls != 1 else ''}{destructive}? Only 'yes' will be accepted",
        default="",
        show_default=False,
        err=True,
    )
    if answer.strip() != "yes":
        click.echo("Apply cancelled; nothing was written.", err=True)
        return False
    return True


def show_report(report: reports.Report, output: str) -> None:
    if output == "json":
        from reconciler.rendering import document

        document.write(document.report_document(report), sys.stdout)
    else:
        from reconciler.rendering import text

        click.echo()
        text.render_report(report, sys.stdout, style=style(sys.stdout))
