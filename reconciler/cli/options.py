"""Options shared by the commands, gathered into typed values (:class:`ApiFlags`, :class:`ProjectFlags`,
:class:`ManifestFlags`), and the settings, selection and lifecycle those make.

The API options are built from the declarations in :mod:`reconciler.settings`: click reads each numeric
setting's flag or ``BYTENITE_*`` variable and shows both, with the default, in ``--help``. The URL and the
jobs prefix are read from their flag only: a project environment's ``apiUrl``/``jobsPrefix`` comes between the
flag and the variable, so :func:`reconciler.settings.from_environment` reads the variable after it, and
``--help`` says that order in words.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import click
from click.core import ParameterSource

from reconciler import errors, settings
from reconciler.cli.app import SettingError

if TYPE_CHECKING:
    from reconciler.desired import environments, loading, selection
    from reconciler.planning import plans

max_bytes_option = click.option(
    "--max-file-bytes",
    type=click.IntRange(min=1),
    default=settings.MAX_FILE_BYTES,
    show_default=True,
    help="Refuse manifest files larger than this.",
)


def _gathered(into: str, kind: type[tuple[Any, ...]], options: Sequence[Callable[..., Any]]) -> Callable[..., Any]:
    """A decorator adding ``options`` and handing the command their values as one ``kind`` named ``into``, so
    a command's signature says what it takes instead of ``**options: Any``. (Named tuples, not dataclasses:
    they are built when ``--help`` imports this, and cost a fifth as much.)"""
    names: tuple[str, ...] = kind._fields  # type: ignore[attr-defined]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def gathering(*args: Any, **kwargs: Any) -> Any:
            kwargs[into] = kind(**{name: kwargs.pop(name) for name in names})
            return command(*args, **kwargs)

        for option in reversed(options):
            gathering = option(gathering)
        return gathering

    return decorate


class _NumberType(click.ParamType):  # type: ignore[type-arg]  # generic only in newer clicks (>=8.1 allowed)
    """A numeric setting, parsed and checked by its declaration wherever click found it.

    A refused value is one ``error:`` line naming the flag or the variable, as every other error is; a flag
    that is not a number at all stays click's usage error.
    """

    def __init__(self, setting: settings.Number[Any, Any]) -> None:
        self.setting = setting
        self.whole = isinstance(setting, settings.Count)
        self.name = "integer" if self.whole else "float"  # the metavar --help shows

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or isinstance(value, int | float):
            return value  # the declared default
        source = ctx.get_parameter_source(param.name) if ctx is not None and param and param.name else None
        try:
            if source is ParameterSource.ENVIRONMENT:
                return self.setting.parse(value, self.setting.variable)
            number = (click.INT if self.whole else click.FLOAT).convert(value, param, ctx)
            return self.setting.check(float(number), self.setting.flag)
        except errors.ConfigError as error:
            raise SettingError(str(error)) from None


def _number_option(setting: settings.Number[Any, Any]) -> Callable[..., Any]:
    return click.option(
        setting.flag,
        type=_NumberType(setting),
        envvar=setting.variable,
        show_envvar=True,
        default=setting.default,
        show_default=setting.default is not None,
        help=setting.help,
    )


def _text_option(setting: settings.Text) -> Callable[..., Any]:
    """The flag only: its variable comes after the project environment's value, so settings reads it."""
    return click.option(
        setting.flag,
        show_default=f"the environment's {setting.placed}, else env {setting.variable}, else {setting.default}",
        help=setting.help,
    )


class ApiFlags(NamedTuple):
    """The API options as given: a number already from its flag, its variable or its default."""

    api_url: str | None
    jobs_prefix: str | None
    api_key_file: str | None
    concurrency: int
    retry_attempts: int
    retry_budget: float
    run_timeout: float | None
    request_timeout: float
    rate_limit: float | None


api_options = _gathered(
    "api",
    ApiFlags,
    [
        _text_option(settings.API_URL),
        _text_option(settings.JOBS_PREFIX),
        click.option(
            "--api-key-file",
            type=click.Path(dir_okay=False),
            help=f"File holding the API key (else env {settings.API_KEY_VARIABLE}, or the environment's "
            "apiKeyEnv); never pass a key as an argument.",
        ),
        *(_number_option(setting) for setting in settings.NUMBERS),
    ],
)


class ProjectFlags(NamedTuple):
    """Which environment of ``reconciler.yaml`` a run is for, and variables' values."""

    env: str | None
    project: str | None
    variables: tuple[str, ...]


project_options = _gathered(
    "project",
    ProjectFlags,
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
    ],
)


class ManifestFlags(NamedTuple):
    """What a plan covers and which destructive proposals it may make."""

    replace: bool
    abort_running: bool
    prune: bool
    targets: tuple[str, ...]
    excludes: tuple[str, ...]
    selectors: tuple[str, ...]
    max_file_bytes: int


manifest_options = _gathered(
    "manifest",
    ManifestFlags,
    [
        click.option(
            "--replace",
            is_flag=True,
            help="Give a started job whose manifest changed a new generation (needs metadata.key).",
        ),
        click.option("--abort-running", is_flag=True, help="With --replace: abort a job that is still running first."),
        click.option(
            "--prune",
            is_flag=True,
            help="Delete drafts this tool created that no manifest claims (refused on a partial selection).",
        ),
        click.option("--target", "targets", multiple=True, metavar="ID", help="Only this job id or key (repeatable)."),
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
    ],
)


def settings_from(api: ApiFlags, context: environments.Context | None = None) -> settings.Settings:
    """The run's settings: flags, then the project environment's (when one is chosen), then ``BYTENITE_*``."""
    environment = context.environment if context is not None else None
    place = (
        settings.Place(environment.apiUrl, environment.jobsPrefix, environment.apiKeyEnv)
        if environment is not None
        else None
    )
    return settings.from_environment(
        place=place,
        api_url=api.api_url,
        jobs_prefix=api.jobs_prefix,
        key_file=api.api_key_file,
        concurrency=api.concurrency,
        rate_limit=api.rate_limit,
        retry_attempts=api.retry_attempts,
        retry_budget=api.retry_budget,
        run_timeout=api.run_timeout,
        request_timeout=api.request_timeout,
    )


def selection_from(manifest: ManifestFlags) -> selection.Selection:
    from reconciler import errors
    from reconciler.desired import selection

    selectors = []
    for item in manifest.selectors:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise errors.ConfigError(f"--selector takes KEY=VALUE, got {item!r}")
        selectors.append((name, value))
    return selection.Selection(manifest.targets, manifest.excludes, tuple(selectors))


def lifecycle_from(manifest: ManifestFlags) -> plans.Options:
    from reconciler.planning import plans

    if manifest.abort_running and not manifest.replace:
        from reconciler import errors

        raise errors.ConfigError("--abort-running only makes sense with --replace")
    return plans.Options(replace=manifest.replace, abort_running=manifest.abort_running, prune=manifest.prune)


def context_from(
    paths: Sequence[str], project: ProjectFlags, max_bytes: int = settings.MAX_FILE_BYTES
) -> environments.Context:
    """The run's project and environment, from --project, --env (or BYTENITE_ENV) and --var."""
    from reconciler.desired import contexts

    return contexts.choose(
        paths,
        project=project.project,
        env=project.env,
        given=project.variables,
        environ=os.environ,
        max_bytes=max_bytes,
    )


def prepare(
    paths: Sequence[str],
    api: ApiFlags,
    project: ProjectFlags,
    manifest: ManifestFlags,
    parsing: loading.Parsing | None = None,
) -> tuple[selection.Prepared, settings.Settings, selection.Selection]:
    import gc

    from reconciler import pipeline
    from reconciler.cli import running

    chosen = selection_from(manifest)
    context = context_from(paths, project, manifest.max_file_bytes)
    # Preparing allocates the run's long-lived data (parsed manifests, models, desired states) and no cycle
    # worth finding: each young collection there walked 50,000 objects only to promote them (a quarter of a
    # second in a 10,000-job plan, for a few thousand objects freed). The collector is off meanwhile, and the
    # result is frozen, out of every later walk; it is on again for the HTTP phases, whose exceptions and
    # connections do form cycles.
    owned = running.owns_process and gc.isenabled()
    if owned:
        gc.disable()
    try:
        prepared = pipeline.prepare(
            paths, os.environ, selection=chosen, max_bytes=manifest.max_file_bytes, context=context, parsing=parsing
        )
    finally:
        if owned:
            gc.freeze()
            gc.enable()
    return prepared, settings_from(api, context), chosen
