"""Server text never drives the terminal: escape sequences, C0/C1 controls and bidi overrides in job names, error
messages, ids and markers are removed from text and Markdown output, so no server can forge a "✓ done" line.
JSON output stays exact: the encoder escapes what it must, and the value round-trips."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.helpers import Outcome, Reply, Runner, manifest_folder, scripted_server, token_then
from tests.support import Control

FORGED = "\x1b[2K\r\u2713 job hostile PATCH jobname: done"
HOSTILE = f"evil{FORGED}\n\u2713 job other: done \u202eenod\x9b2K\x1b]0;title\x07\x07\x00"
BAD = ("\x1b", "\x9b", "\x9d", "\u202e", "\x07", "\x00", "\r")


def _clean(where: str, text: str) -> None:
    for character in BAD:
        assert character not in text, f"{character!r} in {where}: {text!r}"
    forged = [line for line in text.splitlines() if line.lstrip().startswith("\u2713")]
    assert not forged, f"a forged line in {where}: {forged}"


def _assert_clean(outcome: Outcome) -> None:
    assert not outcome.crash, outcome.describe()
    _clean("stdout", outcome.stdout)
    _clean("stderr", outcome.stderr)


MANIFEST = """\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {id: esc-job}
spec:
  name: New name
"""


@pytest.fixture
def jobs(emulator: Control, tmp_path: Path) -> Path:
    """A managed draft whose name is hostile, and an orphaned draft whose marker and name are."""
    emulator.seed(
        [
            {"id": "esc-job", "templateId": "t", "name": HOSTILE},
            {
                "id": "esc-orphan",
                "templateId": "t",
                "name": HOSTILE,
                "description": f"managed-by: reconciler; key=k{FORGED.replace(' ', '')}; generation=0",
            },
        ]
    )
    return manifest_folder(tmp_path, MANIFEST)


@pytest.mark.parametrize("output", ["text", "markdown"])
def test_plan_output_holds_no_control_character_from_the_server(jobs: Path, invoke: Runner, output: str) -> None:
    outcome = invoke("plan", str(jobs), "--format", output)
    assert outcome.exit_code == 0, outcome.describe()
    _assert_clean(outcome)
    assert "enod" in outcome.stdout  # the text itself is kept, only what drives the terminal goes


def test_json_output_keeps_the_server_text_exact(jobs: Path, invoke: Runner) -> None:
    outcome = invoke("plan", str(jobs), "--format", "json")
    document = json.loads(outcome.stdout)
    (change,) = next(job for job in document["jobs"] if job["id"] == "esc-job")["changes"]
    assert change["before"] == HOSTILE


def _forging(method: str, path: str, body: bytes) -> Reply:
    """Every job read answers 400 with a message that tries to forge a report line."""
    return Reply(400, json.dumps({"code": 3, "message": HOSTILE}, ensure_ascii=False))


@pytest.fixture
def hostile_url() -> Iterator[str]:
    with scripted_server(token_then(_forging)) as (url, _):
        yield url


@pytest.mark.parametrize("output", ["text", "markdown"])
def test_an_api_error_message_cannot_forge_a_line(jobs: Path, invoke: Runner, hostile_url: str, output: str) -> None:
    outcome = invoke("plan", str(jobs), "--format", output, "--api-url", hostile_url)
    assert outcome.exit_code == 1, outcome.describe()
    assert "evil" in outcome.stdout + outcome.stderr
    _assert_clean(outcome)


def test_an_import_error_message_cannot_forge_a_line(invoke: Runner, hostile_url: str) -> None:
    outcome = invoke("import", "esc-job", "--api-url", hostile_url)
    assert outcome.exit_code == 1, outcome.describe()
    assert "evil" in outcome.stderr
    _assert_clean(outcome)
