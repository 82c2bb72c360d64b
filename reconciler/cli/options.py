"""Options shared by the commands, and the settings, selection and lifecycle flags they make."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from reconciler import environments, loading, plans, runs, settings

max_bytes_option = click.option(
    "--max-file-bytes",
    type=click.IntRange(min=1),
    default=1024 * 1024,
    show_default=True,
    help="Refuse manifest files larger than this.",
)


def api_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The API flags. Numbers are plain ``int``/``float`` here: :mod:`reconciler.settings` checks flags and
    variables alike (NaN, infinity, zero, negatives) and names the one at fault in a one-line error."""
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
                type=int,
                help="Requests in flight (env BYTENITE_CONCURRENCY) [default: 16].",
            ),
            click.option(
                "--retry-attempts",
                type=int,
                help="Attempts per request, 1 for no retries (env BYTENITE_RETRY_ATTEMPTS) [default: 8].",
            ),
            click.option(
                "--retry-budget",
                type=float,
                help="Seconds one request may spend retrying (env BYTENITE_RETRY_BUDGET) [default: 120].",
            ),
            click.option(
                "--run-timeout",
                type=float,
                help="Seconds reading, then writing, may take; past it no new write starts (env BYTENITE_RUN_TIMEOUT).",
            ),
            click.option(
                "--request-timeout",
                type=float,
                help="Seconds one request may take, answer included, before it counts as failed and is retried "
                "(env BYTENITE_REQUEST_TIMEOUT) [default: 60].",
            ),
            click.option(
                "--rate-limit",
                type=float,
                help="Requests per second at most (env BYTENITE_RATE_LIMIT).",
            ),
        ]
    ):
        command = option(command)
    return command


def project_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The project flags: which environment of ``reconciler.yaml`` a run is for, and variables' values."""
    for option in reversed(
        [
            click.option("--env", "env", metavar="NAME", help="The project environment to use (env BYTENITE_ENV)."),
            click.option(
                "--project",
                type=click.Path(dir_okay=False),
                help="The project file [default: the nearest reconciler.yaml at or above the paths].",
            ),
            click.option(
                "--var",
                "variables",
                multiple=True,
                metavar="NAME=VALUE",
                help="A project variable's value; wins over BYTENITE_VAR_NAME and the environment's (repeatable).",
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


def settings_from(options: dict[str, Any], context: environments.Context | None = None) -> settings.Settings:
    """The run's settings: flags, then the project environment's (when one is chosen), then ``BYTENITE_*``."""
    from reconciler import settings

    environment = context.environment if context is not None else None
    place = (
        settings.Place(environment.apiUrl, environment.jobsPrefix, environment.apiKeyEnv)
        if environment is not None
        else None
    )
    return settings.from_environment(
        place=place,
        api_url=options.get("api_url"),
        jobs_prefix=options.get("jobs_prefix"),
        key_file=options.get("api_key_file"),
        concurrency=options.get("concurrency"),
        rate_limit=options.get("rate_limit"),
        retry_attempts=options.get("retry_attempts"),
        retry_budget=options.get("retry_budget"),
        run_timeout=options.get("run_timeout"),
        request_timeout=options.get("request_timeout"),
    )


def selection_from(options: dict[str, Any]) -> runs.Selection:
    from reconciler import errors, runs

    selectors = []
    for item in options.get("selectors") or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise errors.ConfigError(f"--selector takes KEY=VALUE, got {item!r}")
        selectors.append((name, value))
    return runs.Selection(tuple(options.get("targets") or ()), tuple(options.get("excludes") or ()), tuple(selectors))


def lifecycle_from(options: dict[str, Any]) -> plans.Options:
    from reconciler import plans

    if options.get("abort_running") and not options.get("replace"):
        from reconciler import errors

        raise errors.ConfigError("--abort-running only makes sense with --replace")
    return plans.Options(
        replace=bool(options.get("replace")),
        abort_running=bool(options.get("abort_running")),
        prune=bool(options.get("prune")),
    )


def context_from(paths: Sequence[str], options: dict[str, Any]) -> environments.Context:
    """The run's project and environment, from --project, --env (or BYTENITE_ENV) and --var."""
    from reconciler import contexts

    return contexts.choose(
        paths,
        project=options.get("project"),
        env=options.get("env"),
        given=options.get("variables") or (),
        environ=os.environ,
        max_bytes=options.get("max_file_bytes") or 1024 * 1024,
    )


def prepare(
    paths: Sequence[str], options: dict[str, Any], parsing: loading.Parsing | None = None
) -> tuple[runs.Prepared, settings.Settings, runs.Selection]:
    from reconciler import runs

    selection = selection_from(options)
    context = context_from(paths, options)
    prepared = runs.prepare(
        paths, os.environ, selection=selection, max_bytes=options["max_file_bytes"], context=context, parsing=parsing
    )
    # The manifests, parsed and validated, live until the run ends: frozen, the collector stops walking them at
    # every collection of the plan that follows (a tenth of a 10,000-job plan went there).
    import gc

    gc.freeze()
    return prepared, settings_from(options, context), selection


# Commands ------------------------------------------------------------------------------------------------
