"""The ``emulator`` command: every flag is listed with help; ``python -m reconciler.emulator`` works."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
from click.testing import CliRunner

from reconciler.emulator.command import command

FLAGS = [
    "--host", "--port", "--api-key", "--token-ttl", "--state-file", "--seed-file", "--step-seconds",
    "--latency-ms", "--jitter-ms", "--fault-rate", "--throttle-rps", "--throttle-rate", "--retry-after",
    "--drop-rate", "--drop-after-write-rate", "--malformed-rate", "--fault-seed",
]  # fmt: skip


def test_help_lists_every_flag() -> None:
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0
    for flag in FLAGS:
        assert flag in result.output, flag
    assert all(param.help for param in command.params if param.name != "help")


def test_flags_map_onto_the_config() -> None:
    from dataclasses import fields

    from reconciler.emulator.config import EmulatorConfig
    from reconciler.emulator.faults import FaultSettings

    names = {param.name for param in command.params}
    server = {f.name for f in fields(EmulatorConfig)} - {"faults"}
    assert names == server | set(FaultSettings.model_fields)
    assert not server & set(FaultSettings.model_fields)


def test_the_tools_help_lists_the_emulator_without_importing_it() -> None:
    """The emulator's flags are built from a pydantic model: ``reconciler --help`` must not pay for it."""
    from reconciler.cli.app import LazyGroup

    code = (
        "import sys\nfrom reconciler.cli import commands\ntry:\n    commands.main(['--help'])\nexcept SystemExit:\n"
        "    print([name for name in ('pydantic', 'reconciler.emulator.command') if name in sys.modules])"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert f"emulator  {command.short_help}" in shown
    assert shown.endswith("[]\n"), shown
    assert LazyGroup.lazy["emulator"][1] == command.short_help


def test_bad_values_are_usage_errors() -> None:
    result = CliRunner().invoke(command, ["--fault-rate", "2"])
    assert result.exit_code == 2


def test_python_dash_m_prints_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler.emulator", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "--drop-after-write-rate" in result.stdout


def test_the_command_serves_until_interrupted() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "reconciler.emulator", "--port", "0", "--step-seconds", "0"],
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert "serving http://127.0.0.1:" in first
            base = first.split("serving ")[1].split()[0]
            lines = [process.stdout.readline() for _ in range(2)]
            assert any("accepting any non-empty API key" in line for line in lines)
            assert _token_status(base) == 200
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=10) == 0


def _token_status(base: str) -> int:
    deadline = time.monotonic() + 10
    while True:
        try:
            return httpx.post(f"{base}/auth/access_token", json={"apiKey": "x"}).status_code
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "the emulator never answered"
            time.sleep(0.05)
