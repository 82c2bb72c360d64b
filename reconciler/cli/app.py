"""The ``reconciler`` command group: exit codes, ``--debug``, logging, and errors turned into one line each.

Exit codes, one table for ``plan`` and ``apply``:

====  ==========================================================================================
0     success: nothing to do, or everything done
1     error: invalid manifests, a job that does not exist, the API unreachable, a refused key, a usage error
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
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any, Final, NoReturn

import click

EXIT_OK: Final = 0
EXIT_ERROR: Final = 1
EXIT_CHANGES: Final = 2
EXIT_BLOCKED: Final = 3
EXIT_PARTIAL: Final = 4
EXIT_INTERRUPTED: Final = 130
MAX_PROBLEMS_SHOWN: Final = 40  # a screenful: a file with 10,000 broken documents must not flood the log
QUIET_LOGGERS: Final = ("httpx", "httpcore", "aiohttp", "hpack", "asyncio", "uvicorn")
_LISTING: Final = "reconciler.listing"  # set in ctx.meta while --help lists the commands


class LazyGroup(click.Group):
    """Subcommands that live in other packages are imported only when they are run or asked for help.

    Usage errors (an unknown option, a bad value, a missing argument) exit 1, not click's 2: under
    ``--detailed-exitcode`` 2 means "changes pending", and a pipeline must never read a typo as a diff.
    Parsing happens in two places, the group's own context and each subcommand's, so both are covered here.
    """

    # Each with its short help, so ``reconciler --help`` lists it without importing it: the emulator's flags are
    # built from its pydantic model, and pydantic alone would double the time --help takes.
    lazy: Final = {"emulator": ("reconciler.emulator.command:command", "Serve a local ByteNite API emulator.")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            path, short_help = self.lazy[name]
            if ctx.meta.get(_LISTING):
                return click.Command(name, short_help=short_help)
            module, attribute = path.split(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx.meta[_LISTING] = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            del ctx.meta[_LISTING]

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        with _usage_errors_exit_1():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _usage_errors_exit_1():
            return super().invoke(ctx)


class UsageError(click.UsageError):
    """click's usage error, shown the same way (usage line, help hint, message), exiting 1."""

    exit_code = EXIT_ERROR


class SettingError(click.ClickException):
    """A setting refused while click reads it (a flag or a ``BYTENITE_*`` variable): one ``error:`` line and exit
    1, as :func:`guarded` shows every error found later, rather than click's usage text."""

    exit_code = EXIT_ERROR

    def show(self, file: IO[Any] | None = None) -> None:
        from reconciler.rendering.values import printable  # a variable's text is the user's, shown back

        click.echo(f"error: {printable(self.format_message())}", err=True)


@contextlib.contextmanager
def _usage_errors_exit_1() -> Iterator[None]:
    try:
        yield
    except UsageError:
        raise
    except click.UsageError as error:
        raise UsageError(error.format_message(), error.ctx) from None


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


def debugging() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool((ctx and ctx.find_root().meta.get("reconciler.debug")) or (ctx and ctx.meta.get("reconciler.debug")))


def _setup_logging() -> None:
    level = logging.DEBUG if debugging() else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Printable("%(levelname)s %(name)s: %(message)s"))
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
    retries.setLevel(logging.DEBUG if debugging() else logging.ERROR)


class _Printable(logging.Formatter):
    """Log lines can carry server text (a retried call's error): no escape sequence reaches the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        from reconciler.rendering.values import printable

        return printable(super().format(record), multiline=True)


def guarded(command: Callable[..., int]) -> Callable[..., None]:
    """Every error becomes one line on stderr and an exit code; a traceback only with ``--debug``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        _setup_logging()
        from reconciler import errors

        try:
            code = command(*args, **kwargs)
        except errors.ManifestErrors as error:
            from reconciler.rendering.values import printable

            for problem in error.problems[:MAX_PROBLEMS_SHOWN]:
                click.echo(f"error: {printable(str(problem))}", err=True)
            if len(error.problems) > MAX_PROBLEMS_SHOWN:
                click.echo(f"… and {len(error.problems) - MAX_PROBLEMS_SHOWN} more problems", err=True)
            click.echo(f"{error}; nothing was sent to the API.", err=True)
            _exit(EXIT_ERROR, error)
        except errors.ReconcilerError as error:
            from reconciler.rendering.values import printable  # API messages are server text

            click.echo(f"error: {printable(str(error))}", err=True)
            _exit(EXIT_ERROR, error)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code)

    return wrapper


def _exit(code: int, error: BaseException) -> NoReturn:
    if debugging():
        import traceback

        traceback.print_exception(error, file=sys.stderr)
    sys.exit(code)


def parsing_first(command: Callable[..., int]) -> Callable[..., int]:
    """The manifests begin parsing (in other processes) before the command imports what plans with them, and
    stop when it ends; the command is handed the ``parsing`` to take them from. A single plan file is one file:
    nothing is begun for it."""

    @functools.wraps(command)
    def begun(**params: Any) -> int:
        from reconciler.desired import loading

        with loading.Parsing(params["paths"], max_bytes=params["manifest"].max_file_bytes) as parsing:
            return command(**params, parsing=parsing)

    return begun
