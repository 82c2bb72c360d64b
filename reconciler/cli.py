"""The command line: wires the pipeline, picks a renderer, maps errors to exit codes.

The only module that prints or exits. It imports click and nothing heavy at module level: ``--help`` must
not pay for httpx, pydantic or deepdiff, so every command imports its work when it runs.

Exit codes, one table for ``plan`` and ``apply``:

====  ==========================================================================================
0     success: nothing to do, or everything done
1     error: invalid manifests, a job that does not exist, the API unreachable, a refused key
2     changes pending (``plan --detailed-exitcode``)
3     blocked items present (``--detailed-exitcode``; outranks 2)
4     partial or stale (``apply``): something failed, was refused as stale, or was not attempted
130   interrupted
====  ==========================================================================================
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Final, NoReturn, TextIO, TypeVar

import click

if TYPE_CHECKING:
    import asyncio

    from reconciler import plans, reports, runs, settings

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_CHANGES: Final = 2
EXIT_BLOCKED: Final = 3
EXIT_PARTIAL: Final = 4
EXIT_INTERRUPTED: Final = 130
MAX_PROBLEMS_SHOWN: Final = 40  # a screenful: a file with 10,000 broken documents must not flood the log
QUIET_LOGGERS: Final = ("httpx", "httpcore", "aiohttp", "hpack", "asyncio", "uvicorn")

log = logging.getLogger("reconciler")
Result = TypeVar("Result")


class LazyGroup(click.Group):
    """Subcommands that live in other packages are imported only when they are run or asked for help."""

    lazy: Final = {"emulator": "reconciler.emulator.command:command"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attribute = self.lazy[name].split(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, name)


def _debug_callback(ctx: click.Context, _: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta["reconciler.debug"] = True
    return value


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_debug_callback,
    help="Log requests (never headers or secrets) and show tracebacks.",
)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="bytenite-reconciler", prog_name="reconciler")
@debug_option
def cli() -> None:
    """Declarative job configs for ByteNite: validate, plan and apply YAML manifests.

    \b
    Exit codes (plan and apply):
      0 nothing to do, or all done     1 error
      2 changes pending (--detailed-exitcode)
      3 blocked items (--detailed-exitcode; outranks 2)
      4 partial or stale apply         130 interrupted
    """


def _debugging() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool((ctx and ctx.find_root().meta.get("reconciler.debug")) or (ctx and ctx.meta.get("reconciler.debug")))


def _setup_logging() -> None:
    level = logging.DEBUG if _debugging() else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("reconciler")
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party HTTP loggers may print headers (the token is one): keep them quiet even under --debug.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Each retry is counted in the summary; stamina's own line for it is shown under --debug only.
    retries = logging.getLogger("stamina")
    retries.handlers[:] = [handler]
    retries.propagate = False
    retries.setLevel(logging.DEBUG if _debugging() else logging.ERROR)


def guarded(command: Callable[..., int]) -> Callable[..., None]:
    """Every error becomes one line on stderr and an exit code; a traceback only with ``--debug``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        _setup_logging()
        from reconciler import errors

        try:
            code = command(*args, **kwargs)
        except errors.ManifestErrors as error:
            for problem in error.problems[:MAX_PROBLEMS_SHOWN]:
                click.echo(f"error: {problem}", err=True)
            if len(error.problems) > MAX_PROBLEMS_SHOWN:
                click.echo(f"… and {len(error.problems) - MAX_PROBLEMS_SHOWN} more problems", err=True)
            click.echo(f"{error}; nothing was sent to the API.", err=True)
            _exit(EXIT_ERROR, error)
        except errors.ReconcilerError as error:
            click.echo(f"error: {error}", err=True)
            _exit(EXIT_ERROR, error)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code)

    return wrapper


def _exit(code: int, error: BaseException) -> NoReturn:
    if _debugging():
        import traceback

        traceback.print_exception(error, file=sys.stderr)
    sys.exit(code)


def _style(out: TextIO) -> Callable[[str, str], str]:
    if out.isatty() and not os.environ.get("NO_COLOR"):
        return lambda text, colour: click.style(text, fg=colour)
    return lambda text, colour: text


# Options shared by plan and apply -------------------------------------------------------------------


max_bytes_option = click.option(
    "--max-file-bytes",
    type=click.IntRange(min=1),
    default=1024 * 1024,
    show_default=True,
    help="Refuse manifest files larger than this.",
)


def api_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--api-url", help="API root (env BYTENITE_API_URL) [default: https://api.bytenite.com/v1]."),
            click.option(
                "--jobs-prefix", help="Jobs routes under the root (env BYTENITE_JOBS_PREFIX) [default: /customer]."
            ),
            click.option(
                "--api-key-file",
                type=click.Path(dir_okay=False),
                help="File holding the API key (else env BYTENITE_API_KEY); never pass a key as an argument.",
            ),
            click.option(
                "--concurrency",
                type=click.IntRange(min=1),
                help="Requests in flight (env BYTENITE_CONCURRENCY) [default: 16].",
            ),
            click.option(
                "--retry-attempts",
                type=click.IntRange(min=1),
                help="Attempts per request on transient failures (env BYTENITE_RETRY_ATTEMPTS) [default: 8].",
            ),
            click.option(
                "--retry-budget",
                type=click.FloatRange(min=0, min_open=True),
                help="Seconds one request may spend retrying (env BYTENITE_RETRY_BUDGET) [default: 120].",
            ),
            click.option(
                "--run-timeout",
                type=click.FloatRange(min=0, min_open=True),
                help="Seconds reading, then writing, may take; past it no new write starts (env BYTENITE_RUN_TIMEOUT).",
            ),
            click.option(
                "--rate-limit",
                type=click.FloatRange(min=0, min_open=True),
                help="Requests per second at most (env BYTENITE_RATE_LIMIT).",
            ),
        ]
    ):
        command = option(command)
    return command


def manifest_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option(
                "--replace",
                is_flag=True,
                help="Give a started job whose manifest changed a new generation (needs metadata.key).",
            ),
            click.option(
                "--abort-running", is_flag=True, help="With --replace: abort a job that is still running first."
            ),
            click.option(
                "--prune",
                is_flag=True,
                help="Delete drafts this tool created that no manifest claims (refused on a partial selection).",
            ),
            click.option(
                "--target", "targets", multiple=True, metavar="ID", help="Only this job id or key (repeatable)."
            ),
            click.option(
                "--exclude", "excludes", multiple=True, metavar="ID", help="Leave this job id or key out (repeatable)."
            ),
            click.option(
                "--selector",
                "selectors",
                multiple=True,
                metavar="KEY=VALUE",
                help="Only manifests with this label (repeatable).",
            ),
            max_bytes_option,
        ]
    ):
        command = option(command)
    return command


def _settings(options: dict[str, Any]) -> settings.Settings:
    from reconciler import settings

    return settings.from_environment(
        api_url=options.get("api_url"),
        jobs_prefix=options.get("jobs_prefix"),
        key_file=options.get("api_key_file"),
        concurrency=options.get("concurrency"),
        rate_limit=options.get("rate_limit"),
        retry_attempts=options.get("retry_attempts"),
        retry_budget=options.get("retry_budget"),
        run_timeout=options.get("run_timeout"),
    )


def _selection(options: dict[str, Any]) -> runs.Selection:
    from reconciler import errors, runs

    selectors = []
    for item in options.get("selectors") or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise errors.ConfigError(f"--selector takes KEY=VALUE, got {item!r}")
        selectors.append((name, value))
    return runs.Selection(tuple(options.get("targets") or ()), tuple(options.get("excludes") or ()), tuple(selectors))


def _lifecycle(options: dict[str, Any]) -> plans.Options:
    from reconciler import plans

    if options.get("abort_running") and not options.get("replace"):
        from reconciler import errors

        raise errors.ConfigError("--abort-running only makes sense with --replace")
    return plans.Options(
        replace=bool(options.get("replace")),
        abort_running=bool(options.get("abort_running")),
        prune=bool(options.get("prune")),
    )


def _prepare(paths: Sequence[str], options: dict[str, Any]) -> tuple[runs.Prepared, settings.Settings, runs.Selection]:
    from reconciler import runs

    selection = _selection(options)
    prepared = runs.prepare(paths, os.environ, selection=selection, max_bytes=options["max_file_bytes"])
    return prepared, _settings(options), selection


# Commands ------------------------------------------------------------------------------------------------


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

    prepared, config, selection = _prepare(paths, options)
    with _progress("Reading", len(prepared.entries)) as progress:
        lifecycle = _lifecycle(options)
        located = output == "markdown"
        work = runs.plan(
            prepared, config, options=lifecycle, partial=selection.partial, locate=located, progress=progress
        )
        planned = _reading(work, config)
    _show_plan(planned.plan, output, partial=selection.partial, drift=drift)
    if out:
        _save_plan(planned.plan, out, config, partial=selection.partial)
    return _plan_exit(planned.plan, detailed_exitcode)


def _show_plan(plan: plans.Plan, output: str, *, partial: bool, drift: bool = False) -> None:
    if output == "json":
        from reconciler.rendering import document

        document.write(document.plan_document(plan, partial=partial, drift=drift), sys.stdout)
    elif output == "markdown":
        from reconciler.rendering import markdown

        markdown.render_plan(plan, sys.stdout, link=_github_link(), partial=partial, drift=drift)
    else:
        from reconciler.rendering import text

        text.render_plan(plan, sys.stdout, style=_style(sys.stdout), partial=partial, drift=drift)


def _save_plan(plan: plans.Plan, path: str, config: settings.Settings, *, partial: bool) -> None:
    import datetime
    import io
    from pathlib import Path

    from reconciler import files
    from reconciler.rendering import document

    meta = {
        "api_url": config.api_url,
        "jobs_prefix": config.jobs_prefix,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    out = io.StringIO()
    document.write(document.plan_document(plan, partial=partial, meta=meta), out)
    files.write_atomically(Path(path), out.getvalue())
    click.echo(f"Plan saved to {path}; apply it with: reconciler apply {path}", err=True)


def _github_link() -> Callable[[str, int | None], str | None]:
    """Links to the manifest lines at the commit under review, when CI says which commit that is."""
    from pathlib import Path

    server, repository, sha = (
        os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA")
    )
    root = _repository_root(Path.cwd())

    def link(file: str, line: int | None) -> str | None:
        if not (server and repository and sha):
            return None
        try:
            relative = Path(file).resolve().relative_to(root).as_posix()
        except ValueError:
            return None
        return f"{server}/{repository}/blob/{sha}/{relative}" + (f"#L{line}" if line else "")

    return link


def _repository_root(start: Any) -> Any:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def _progress(verb: str, total: int) -> contextlib.AbstractContextManager[Callable[[int], None] | None]:
    """A progress bar on a terminal's stderr for long runs; nothing at all in CI logs."""
    if total < 200 or not sys.stderr.isatty() or os.environ.get("CI"):
        return contextlib.nullcontext()
    from reconciler.rendering import progress

    return progress.bar(verb, total)


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
    prepared, config, selection = _prepare(paths, options)
    token = client.Token()  # one key exchange for the run: the plan's client hands its token to apply's
    with _progress("Reading", len(prepared.entries)) as progress:
        lifecycle = _lifecycle(options)
        work = runs.plan(prepared, config, options=lifecycle, partial=selection.partial, token=token, progress=progress)
        planned = _reading(work, config)
    plan = planned.plan
    if output == "text":
        _show_plan(plan, output, partial=selection.partial)
    if plan.has_errors:
        if output == "json":
            _show_plan(plan, output, partial=selection.partial)  # the reasons, for the pipeline reading stdout
        click.echo("Not applying: the plan has errors; nothing was written.", err=True)
        return EXIT_ERROR
    if not plan.has_changes:
        if output == "json":
            _show_report(_empty_report(plan), output)
        else:
            click.echo("Nothing to do.")
        return EXIT_BLOCKED if detailed_exitcode and plan.has_blocked else EXIT_OK
    if not auto_approve and not _confirmed(plan):
        return EXIT_ERROR
    with _progress("Writing", plan.calls) as progress:
        report = _run(
            _apply_interruptibly(
                lambda stopping: runs.apply(planned, config, token=token, stopping=stopping, progress=progress),
                config,
            )
        )
    report = _with_plan_requests(report, plan)
    _show_report(report, output)
    return _apply_exit(report, blocked=detailed_exitcode and plan.has_blocked)


def _apply_planfile(path: str, output: str, options: dict[str, Any]) -> int:

    from reconciler import planfiles, runs

    document = planfiles.read(path)
    config = _settings(options)
    click.echo(f"Applying the reviewed plan {path} ({document.summary.calls} calls)", err=True)
    report = _run(
        _apply_interruptibly(
            lambda stopping: runs.apply_planfile(document, os.environ, config, stopping=stopping), config
        )
    )
    _show_report(report, output)
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


def _confirmed(plan: plans.Plan) -> bool:
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


def _run(work: Coroutine[Any, Any, Result]) -> Result:
    """``asyncio.run``, handing the result back outside the task.

    On Python 3.11 ``asyncio.run`` builds the ``repr`` of its finished main task (result included) while
    restoring the SIGINT handler; a plan over thousands of jobs made that cost seconds and a hundred MB.
    """
    import asyncio

    box: list[Result] = []

    async def main() -> None:
        box.append(await work)

    asyncio.run(main())
    return box[0]


def _reading(work: Coroutine[Any, Any, Result], config: settings.Settings) -> Result:
    """Run a read-only phase within the run's time budget."""
    import asyncio

    from reconciler import errors

    async def bounded() -> Result:
        try:
            return await asyncio.wait_for(work, config.run_timeout)
        except TimeoutError:
            raise errors.ApiError(f"the run took longer than --run-timeout {config.run_timeout:g} s") from None

    return _run(bounded())


async def _apply_interruptibly(
    work: Callable[[asyncio.Event], Awaitable[reports.Report]], config: settings.Settings
) -> reports.Report:
    """SIGINT, SIGTERM or the run's timeout stop new writes; calls in flight finish, and the report says so."""
    import asyncio
    import signal

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop(why: str = "Interrupted") -> None:
        if not stopping.is_set():
            click.echo(f"{why}: finishing the calls in flight, starting no new ones.", err=True)
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    if config.run_timeout:
        loop.call_later(config.run_timeout, stop, "Run timeout")
    try:
        return await work(stopping)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _show_report(report: reports.Report, output: str) -> None:
    if output == "json":
        from reconciler.rendering import document

        document.write(document.report_document(report), sys.stdout)
    else:
        from reconciler.rendering import text

        click.echo()
        text.render_report(report, sys.stdout, style=_style(sys.stdout))


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

    config = _settings(options)
    imported = _reading(runs.import_jobs(job_ids, config), config)
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


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else None, prog_name="reconciler")
