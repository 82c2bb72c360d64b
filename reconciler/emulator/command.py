"""``reconciler emulator``: the emulator in the foreground until Ctrl-C.

``command`` is a plain ``click.Command``; ``reconciler/cli/app.py`` registers it, and lists it without
importing it. Its fault flags are built from :class:`~reconciler.emulator.faults.FaultSettings`, so they, the
``/_emulator/faults`` body and the running state cannot drift apart; that costs pydantic's import (about a
tenth of a second) to this command's ``--help``, never to ``reconciler --help``. Imports of uvicorn and
Starlette wait until the command runs.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import click
from pydantic.fields import FieldInfo

from reconciler.emulator.faults import FaultSettings


def _run(**options: Any) -> None:
    from reconciler.emulator.config import EmulatorConfig
    from reconciler.emulator.server import serve

    faults = FaultSettings(**{name: options.pop(name) for name in FaultSettings.model_fields})
    config = EmulatorConfig(**options, faults=faults)

    def ready(base_url: str) -> None:
        click.echo(f"ByteNite emulator serving {base_url}/v1  (auth: /v1/auth, jobs: /v1/customer)")
        click.echo(f"Test control, no token needed: {base_url}/_emulator/")
        if config.api_key is None:
            click.echo("No --api-key given: accepting any non-empty API key.")
        click.echo("Press Ctrl-C to stop.")

    try:
        serve(config, ready=ready)
    except KeyboardInterrupt:
        # uvicorn shuts down on Ctrl-C, then re-raises it; stopping is this command's normal end.
        click.echo("Emulator stopped.")
    except OSError as exc:  # the port is taken, the host cannot be bound...
        raise click.ClickException(f"cannot serve on {config.host}:{config.port}: {exc}") from exc


def _bound(field: FieldInfo, name: str) -> Any:
    return next((getattr(item, name) for item in field.metadata if hasattr(item, name)), None)


def _fault_option(name: str, field: FieldInfo) -> click.Option:
    """A knob's flag: its name, its type and bounds (a click range, so a bad value is a usage error), its
    default and its help, all read from the model."""
    whole = int in (field.annotation, *typing.get_args(field.annotation))
    low, high = _bound(field, "ge"), _bound(field, "le")
    kind = click.IntRange(min=low, max=high) if whole else click.FloatRange(min=low, max=high)
    return click.Option(
        ["--" + name.replace("_", "-")],
        type=kind if low is not None or high is not None else (int if whole else float),
        default=field.default,
        show_default=field.default is not None,
        help=field.description,
    )


_OPTIONS = [
    click.Option(["--host"], default="127.0.0.1", show_default=True, help="Address to bind (loopback by default)."),
    click.Option(["--port"], type=int, default=8080, show_default=True, help="Port to bind; 0 picks a free one."),
    click.Option(
        ["--api-key"],
        envvar="EMULATOR_API_KEY",
        help="The only API key accepted (also EMULATOR_API_KEY). Without it any non-empty key is accepted.",
    ),
    click.Option(
        ["--token-ttl"],
        type=click.IntRange(min=1),
        default=3600,
        show_default=True,
        help="Seconds an access token lives.",
    ),
    click.Option(
        ["--state-file"],
        type=click.Path(dir_okay=False, path_type=Path),
        help="Keep jobs in this JSON file across restarts (atomic writes). In memory otherwise.",
    ),
    click.Option(
        ["--seed-file"],
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="JSON or YAML list of jobs in API shape (any state) to load at start.",
    ),
    click.Option(
        ["--step-seconds"],
        type=click.FloatRange(min=0.0),
        default=1.0,
        show_default=True,
        help="Seconds per state of a running job; 0 moves jobs only through /_emulator/.",
    ),
    *(_fault_option(name, field) for name, field in FaultSettings.model_fields.items()),
]

command = click.Command(
    name="emulator",
    callback=_run,
    params=list(_OPTIONS),
    help="Serve a local emulator of the ByteNite jobs API (auth, jobs, faults, /_emulator/ test control).",
    short_help="Serve a local ByteNite API emulator.",
)
