"""Secrets by where their values came from, not by where a diff reports them (issue 19, items 1-5).

Each test runs the real CLI against the emulator on loopback and scans every byte of the run (stdout, stderr,
log records, files written) for its sentinels, raw and in every JSON escaping ``find_leaks`` knows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from ruamel.yaml import YAML

from reconciler import client
from tests.security.helpers import API_KEY, Control, Runner, Sentinel

ITEM = Sentinel("a secret list item", "SENTINEL-ITEM-9f3a")
HEADER = "apiVersion: reconciler.bytenite.io/v1\nkind: Job\n"


def _write(folder: Path, spec: str, job_id: str = "sec-prov") -> Path:
    """A one-manifest folder; ``spec`` is the YAML under ``spec:``, indented by two spaces."""
    folder.mkdir(exist_ok=True)
    (folder / "job.yaml").write_text(f"{HEADER}metadata: {{id: {job_id}}}\nspec:\n{spec}")
    return folder


def _writes(control: Control) -> list[dict[str, Any]]:
    return [r for r in control.requests() if r["method"] != "GET" and "access_token" not in r["path"]]


# 1. A secret inside a list, wherever the diff reports it -----------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "manifest"),
    [
        # deepdiff reports "x" removed at [0] and "b" -> secret at [2]; the reference sits at [1].
        pytest.param(["x", "a", "b"], ["a", "${env:SEC_ITEM}"], id="changed-at-the-old-position"),
        # The server holds the secret at [0]; the manifest moves it to [1]: "secret -> a" is reported at [0].
        pytest.param([ITEM.value, "a"], ["a", "${env:SEC_ITEM}"], id="moved"),
        # An item added before it: "z" is added at [0], "b" -> secret is reported at [1], the reference is at [2].
        pytest.param(["a", "b", "c"], ["z", "a", "${env:SEC_ITEM}", "c"], id="item-added"),
        # Items removed around it, the server's copy of the secret among them.
        pytest.param(["x", "y", "z", ITEM.value, "w"], ["${env:SEC_ITEM}"], id="items-removed"),
    ],
)
@pytest.mark.parametrize("output", ["text", "json", "markdown", "out"])
def test_a_secret_in_a_list_is_masked_wherever_the_diff_reports_it(
    server: list[str], manifest: list[str], output: str, tmp_path: Path, control: Control, invoke: Runner
) -> None:
    control.seed([{"id": "sec-prov", "templateId": "t", "name": "n", "params": {"app": {"items": server}}}])
    folder = _write(tmp_path / "jobs", f"  name: n\n  params:\n    app:\n      items: {json.dumps(manifest)}\n")
    plan_file = tmp_path / "plan.json"
    args = ["--out", str(plan_file)] if output == "out" else ["--format", output]

    outcome = invoke("--debug", "plan", str(folder), *args, env={"SEC_ITEM": ITEM.value})

    assert outcome.exit_code == 0, outcome.describe()
    assert "items" in outcome.stdout, outcome.describe()  # the list change is shown, so the scan is not vacuous
    if output == "out":
        assert str(plan_file) in outcome.files, outcome.describe()
    leaks = outcome.leaks([ITEM])
    assert not leaks, "\n".join(leaks) + "\n" + outcome.describe()


def test_a_plan_file_masking_a_list_secret_by_value_applies_and_writes_it(
    tmp_path: Path, control: Control, invoke: Runner
) -> None:
    # The staleness check masks the server's values as the plan did (by value too): the plan is not stale.
    control.seed([{"id": "sec-prov", "templateId": "t", "name": "n", "params": {"app": {"items": ["x", "a", "b"]}}}])
    folder = _write(tmp_path / "jobs", '  name: n\n  params:\n    app:\n      items: [a, "${env:SEC_ITEM}"]\n')
    plan_file = tmp_path / "plan.json"
    planned = invoke("plan", str(folder), "--out", str(plan_file), env={"SEC_ITEM": ITEM.value})
    assert planned.exit_code == 0, planned.describe()

    applied = invoke("--debug", "apply", str(plan_file), env={"SEC_ITEM": ITEM.value})

    assert applied.exit_code == 0, applied.describe()
    assert control.job("sec-prov")["params"]["app"]["items"] == ["a", ITEM.value]
    leaks = planned.leaks([ITEM]) + applied.leaks([ITEM])
    assert not leaks, "\n".join(leaks) + "\n" + applied.describe()
