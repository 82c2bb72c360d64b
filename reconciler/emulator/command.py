"""``reconciler emulator``: the emulator in the foreground until Ctrl-C.

``command`` is a plain ``click.Command``; ``reconciler/cli.py`` registers it. Imports of uvicorn and
Starlette wait until the command runs, so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

_RATE = click.FloatRange(0.0, 1.0)


def _run(**options: Any) -> None:
    from reconciler.emulator.config import EmulatorConfig
    from reconciler.emulator.server import serve

    config = EmulatorConfig(**options)

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
    click.Option(
        ["--latency-ms"],
        type=click.FloatRange(min=0.0),
        default=0.0,
        show_default=True,
        help="Fixed delay added to every API request.",
    ),
    click.Option(
        ["--jitter-ms"],
        type=click.FloatRange(min=0.0),
        default=0.0,
        show_default=True,
        help="Random extra delay, uniform in [0, N] ms.",
    ),
    click.Option(
        ["--fault-rate"],
        type=_RATE,
        default=0.0,
        show_default=True,
        help="Share of API requests answered 503 (one in five of them 500), before applying.",
    ),
    click.Option(
        ["--throttle-rps"],
        type=click.FloatRange(min=0.0),
        default=0.0,
        show_default=True,
        help="Requests per second allowed; beyond it 429 with Retry-After. 0: unlimited.",
    ),
    click.Option(
        ["--throttle-rate"],
        type=_RATE,
        default=0.0,
        show_default=True,
        help="Share of API requests answered 429 regardless of the rate.",
    ),
    click.Option(
        ["--retry-after"],
        type=click.IntRange(min=0),
        default=1,
        show_default=True,
        help="Retry-After seconds sent with --throttle-rate 429s.",
    ),
    click.Option(
        ["--drop-rate"],
        type=_RATE,
        default=0.0,
        show_default=True,
        help="Share of API requests whose connection is dropped before applying.",
    ),
    click.Option(
        ["--drop-after-write-rate"],
        type=_RATE,
        default=0.0,
        show_default=True,
        help="Share of writes applied, then answered by a dropped connection.",
    ),
    click.Option(
        ["--malformed-rate"],
        type=_RATE,
        default=0.0,
        show_default=True,
        help="Share of GETs answered 200 with a malformed JSON body.",
    ),
    click.Option(["--fault-seed"], type=int, help="Seed for every fault draw, so a run is reproducible."),
]

command = click.Command(
    name="emulator",
    callback=_run,
    params=list(_OPTIONS),
    help="Serve a local emulator of the ByteNite jobs API (auth, jobs, faults, /_emulator/ test control).",
    short_help="Serve a local ByteNite API emulator.",
)
