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

from reconciler.api import transports
from tests.security.helpers import ALL_SENTINELS, EchoingTransport, Runner, Sentinel
from tests.support import Control

ITEM = Sentinel("a secret list item", "SENTINEL-ITEM-9f3a")
HEADER = "apiVersion: reconciler.bytenite.io/v1\nkind: Job\n"


def _write(folder: Path, spec: str, job_id: str = "sec-prov") -> Path:
    """A one-manifest folder; ``spec`` is the YAML under ``spec:``, indented by two spaces."""
    folder.mkdir(exist_ok=True)
    (folder / "job.yaml").write_text(f"{HEADER}metadata: {{id: {job_id}}}\nspec:\n{spec}")
    return folder


def _writes(emulator: Control) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["method"] != "GET" and "access_token" not in r["path"]]


# 1. A secret inside a list, wherever the diff reports it -----------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "manifest"),
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
    held: list[str], manifest: list[str], output: str, *, tmp_path: Path, emulator: Control, invoke: Runner
) -> None:
    emulator.seed([{"id": "sec-prov", "templateId": "t", "name": "n", "params": {"app": {"items": held}}}])
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
    tmp_path: Path, emulator: Control, invoke: Runner
) -> None:
    # The staleness check masks the server's values as the plan did (by value too): the plan is not stale.
    emulator.seed([{"id": "sec-prov", "templateId": "t", "name": "n", "params": {"app": {"items": ["x", "a", "b"]}}}])
    folder = _write(tmp_path / "jobs", '  name: n\n  params:\n    app:\n      items: [a, "${env:SEC_ITEM}"]\n')
    plan_file = tmp_path / "plan.json"
    planned = invoke("plan", str(folder), "--out", str(plan_file), env={"SEC_ITEM": ITEM.value})
    assert planned.exit_code == 0, planned.describe()

    applied = invoke("--debug", "apply", str(plan_file), env={"SEC_ITEM": ITEM.value})

    assert applied.exit_code == 0, applied.describe()
    assert emulator.job("sec-prov")["params"]["app"]["items"] == ["a", ITEM.value]
    leaks = planned.leaks([ITEM]) + applied.leaks([ITEM])
    assert not leaks, "\n".join(leaks) + "\n" + applied.describe()


# 2. API errors quoting the request, in every escaping a JSON encoder may use ---------------------------------------

TEMPLATE = Sentinel("a template id from the environment", "SENTINEL-TEMPLATE-9f3a")
# Characters that encoders escape differently: HTML-safe encoders (Go's) write <, > and & as \u003c, \u003e, \u0026;
# some write / as \/; some write hex in upper case; some escape every character.
HTML = Sentinel("a value with HTML characters", "SENTINEL-HTML-9f3a<b>&amp;</b>")
CREDENTIAL_LIST = Sentinel("a credential held in a list", "SENTINEL-CRED-LIST-9f3a/é")
CREDENTIAL_MAP = Sentinel("a credential held in a mapping", "SENTINEL-CRED-MAP-9f3a&é")
SERVER_LIST = Sentinel("the server's credential held in a list", "SENTINEL-SERVER-LIST-9f3a<é>")
SERVER_MAP = Sentinel("the server's credential held in a mapping", "SENTINEL-SERVER-MAP-9f3a/x")
ECHO_ENV = {
    "SEC_TEMPLATE": TEMPLATE.value,
    "SEC_HTML": HTML.value,
    "SEC_LIST": CREDENTIAL_LIST.value,
    "SEC_MAP": CREDENTIAL_MAP.value,
}


def _every_character(text: str) -> str:
    return "".join(f"\\u{ord(char):04x}" for char in text)


def _go_html_safe(text: str) -> str:
    escaped = json.dumps(text, ensure_ascii=False)[1:-1]
    return escaped.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


ESCAPINGS: dict[str, Callable[[str], str]] = {
    "python": lambda text: json.dumps(text)[1:-1],
    "html-safe": _go_html_safe,
    "escaped-slash": lambda text: json.dumps(text)[1:-1].replace("/", "\\/"),
    "upper-case-hex": lambda text: re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m[1].upper(), json.dumps(text)[1:-1]),
    "every-character": _every_character,
    "escaped-twice": lambda text: json.dumps(json.dumps(text)[1:-1])[1:-1],
}


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


def _echo_in(escaping: Callable[[str], str]) -> Callable[[httpx.Request, Any], str]:
    """The server quotes every sentinel the request body holds (the fields it rejects), in its own escaping."""

    def echo(request: httpx.Request, body: Any) -> str:
        return "rejected [" + "; ".join(escaping(text) for text in _strings(body) if "SENTINEL" in text) + "]"

    return echo


@pytest.mark.parametrize("escaping", ESCAPINGS)
def test_an_api_error_quoting_secrets_in_any_escaping_is_scrubbed(
    escaping: str, tmp_path: Path, emulator: Control, invoke: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.seed([
        {
            "id": "sec-echo-old",
            "templateId": "t",
            "name": "old",
            # Undeclared by the manifest, so re-sent as the server has them in the params PATCH.
            "params": {
                "partitioner": {"auth": {"apiKey": {"primary": SERVER_MAP.value}}},
                "assembler": {"client_secret": [SERVER_LIST.value]},
                "app": {"prompt": "old"},
            },
        }
    ])  # fmt: skip
    folder = _write(
        tmp_path / "jobs",
        "  templateId: ${env:SEC_TEMPLATE}\n  name: created\n"
        "  dataSource:\n    dataSourceDescriptor: url\n"
        '    params: {url: "${env:SEC_SOURCE_URL}", password: "${env:SEC_PASSWORD}"}\n'
        "  dataDestination: {dataSourceDescriptor: bucket}\n"
        '  params:\n    app: {prompt: "${env:SEC_HTML}"}\n',
        "sec-echo-new",
    )
    (folder / "old.yaml").write_text(
        f"{HEADER}metadata: {{id: sec-echo-old}}\nspec:\n  params:\n    app:\n"
        '      prompt: "${env:SEC_HTML}"\n'
        '      auth: {password: ["${env:SEC_LIST}"], token: {primary: "${env:SEC_MAP}"}}\n'
    )
    real = transports.default
    echo = _echo_in(ESCAPINGS[escaping])
    monkeypatch.setattr(transports, "default", lambda *chosen: EchoingTransport(real(*chosen), echo))

    outcome = invoke("--debug", "apply", str(folder), "--auto-approve", "--format", "json", env=ECHO_ENV)

    assert outcome.exit_code in (1, 4), outcome.describe()
    messages = re.findall(r"rejected \[[^\]]*\]", outcome.stdout)
    # Both jobs' writes were refused and quoted their secrets: the create (template, source, prompt) and the params
    # PATCH (the prompt, the credentials in a list and a mapping, the server's own re-sent in the other engines).
    assert sorted(message.count("(redacted)") for message in messages) == [4, 5], outcome.describe()
    assert all(re.fullmatch(r"rejected \[\(redacted\)(; \(redacted\))*\]", text) for text in messages), messages
    sentinels = [TEMPLATE, HTML, CREDENTIAL_LIST, CREDENTIAL_MAP, SERVER_LIST, SERVER_MAP]
    leaks = outcome.leaks([*ALL_SENTINELS, *sentinels])
    assert not leaks, "\n".join(leaks) + "\n" + outcome.describe()


# 3. import references every credential, whatever its shape, and writes a manifest it can validate ----------------

IMPORTED = {
    "list item 0": "SENTINEL-IMPORT-LIST0-9f3a",
    "list item 1": "SENTINEL-IMPORT-LIST1-9f3a",
    "mapping value": "SENTINEL-IMPORT-MAP-9f3a",
    "folded name": "SENTINEL-IMPORT-FOLDED-9f3a",
    "source url password": "SENTINEL-IMPORT-URL-9f3a",
    "params url password": "SENTINEL-IMPORT-MIRROR-9f3a",
    "name url password": "SENTINEL-IMPORT-NAME-9f3a",
}
REFERENCE = re.compile(r"^\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-)?\}$")


def _imported_job() -> dict[str, Any]:
    return {
        "id": "sec-import",
        "templateId": "t",
        "name": f"https://user:{IMPORTED['name url password']}@example.com/job",
        "dataSource": {
            "dataSourceDescriptor": "url",
            "params": {"url": f"https://user:{IMPORTED['source url password']}@example.com/in.txt"},
        },
        "dataDestination": {"dataSourceDescriptor": "bucket"},
        "params": {
            "app": {
                "auth": {
                    "password": [IMPORTED["list item 0"], IMPORTED["list item 1"]],
                    "apiKey": {"primary": IMPORTED["mapping value"], "spare": ""},
                },
                "Client_Secret": IMPORTED["folded name"],
                "mirror": f"https://bob:{IMPORTED['params url password']}@mirror.example.com/x",
                "steps": 3,
            }
        },
    }


def _variables(written: Any, server: Any, into: dict[str, str]) -> dict[str, str]:
    """The value each reference of the written manifest stands for: the server's value at the same place."""
    if isinstance(written, str) and (match := REFERENCE.match(written)):
        into[match[1]] = server
    elif isinstance(written, dict) and isinstance(server, dict):
        for key, item in written.items():
            _variables(item, server.get(key), into)
    elif isinstance(written, list) and isinstance(server, list):
        for item, theirs in zip(written, server, strict=True):
            _variables(item, theirs, into)
    return into


def test_import_references_credentials_in_lists_mappings_and_urls(
    tmp_path: Path, emulator: Control, invoke: Runner
) -> None:
    server = _imported_job()
    emulator.seed([server])
    out = tmp_path / "imported"

    imported = invoke("--debug", "import", "sec-import", "--out", str(out), "--mkdir")

    assert imported.exit_code == 0, imported.describe()
    leaks = imported.leaks([Sentinel(name, value) for name, value in IMPORTED.items()])
    assert not leaks, "\n".join(leaks) + "\n" + imported.describe()
    (path,) = out.iterdir()
    assert "sentinel" not in path.name.lower(), path
    spec = YAML(typ="safe").load(path.read_text())["spec"]
    app = spec["params"]["app"]
    assert all(REFERENCE.match(item) for item in app["auth"]["password"]), app
    shown = [app["auth"]["apiKey"]["primary"], app["Client_Secret"], app["mirror"], spec["dataSource"]["params"]["url"]]
    shown.append(spec["name"])
    assert all(REFERENCE.match(value) for value in shown), spec
    assert app["auth"]["apiKey"]["spare"].endswith(":-}"), app  # an empty credential stays empty, by the opt-in
    assert app["steps"] == 3

    validated = invoke("validate", str(out))
    assert validated.exit_code == 0, validated.describe()
    # With each variable set to the server's value, the written manifest describes the job exactly.
    variables = _variables(spec, server, {})
    assert sorted(variables) == sorted(name for name in variables if name in imported.stderr)
    planned = invoke("plan", str(out), "--detailed-exitcode", env=variables)
    assert planned.exit_code == 0, planned.describe()


# 4. Credential names in any case or spelling; the tool's own variables out of reach of manifests ------------------

FOLDED = {
    "Password": "SENTINEL-FOLDED-PASSWORD-9f3a",
    "apikey": "SENTINEL-FOLDED-APIKEY-9f3a",
    "client_secret": "SENTINEL-FOLDED-CLIENT-9f3a",
}


def test_literal_credentials_under_any_spelling_are_refused_at_their_position(tmp_path: Path, invoke: Runner) -> None:
    lines = "".join(f"      {name}: {value}\n" for name, value in FOLDED.items())
    folder = _write(tmp_path / "jobs", f"  name: n\n  params:\n    app:\n{lines}")

    for command in ("validate", "plan"):
        outcome = invoke(command, str(folder))

        assert outcome.exit_code == 1, outcome.describe()
        for line, name in enumerate(FOLDED, start=8):
            assert f"job.yaml:{line}:7: {name} holds a literal credential" in outcome.stderr, outcome.describe()
        leaks = outcome.leaks([Sentinel(name, value) for name, value in FOLDED.items()])
        assert not leaks, "\n".join(leaks) + "\n" + outcome.describe()


@pytest.mark.parametrize("output", ["text", "json", "markdown", "out"])
def test_server_credentials_under_any_spelling_are_masked(
    output: str, tmp_path: Path, emulator: Control, invoke: Runner
) -> None:
    # The server's job holds them in clear (it predates secrets); the manifest changes the unit that holds them.
    emulator.seed([{"id": "sec-prov", "templateId": "t", "name": "n", "params": {"app": {**FOLDED, "steps": 1}}}])
    folder = _write(tmp_path / "jobs", "  name: n\n  params:\n    app: {steps: 2}\n")
    args = ["--out", str(tmp_path / "plan.json")] if output == "out" else ["--format", output]

    outcome = invoke("--debug", "plan", str(folder), *args, "--drift")

    assert outcome.exit_code == 0, outcome.describe()
    assert "steps" in outcome.stdout, outcome.describe()
    leaks = outcome.leaks([Sentinel(name, value) for name, value in FOLDED.items()])
    assert not leaks, "\n".join(leaks) + "\n" + outcome.describe()


@pytest.mark.parametrize(
    ("spec", "position"),
    [
        pytest.param("  name: n\n  params:\n    app:\n      prompt: ${env:BYTENITE_API_KEY}\n", "8:7", id="params"),
        pytest.param("  templateId: ${env:BYTENITE_API_KEY}\n  name: n\n", "5:3", id="templateId"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_a_manifest_may_not_reference_the_api_key(
    command: str, spec: str, position: str, *, tmp_path: Path, emulator: Control, invoke: Runner
) -> None:
    emulator.seed([{"id": "sec-prov", "templateId": "t", "name": "n"}])
    folder = _write(tmp_path / "jobs", spec)
    emulator.clear_log()

    outcome = invoke(command, str(folder), *(["--auto-approve"] if command == "apply" else []))

    assert outcome.exit_code == 1, outcome.describe()
    refusal = f"job.yaml:{position}: BYTENITE_* variables are this tool's own settings"
    assert refusal in outcome.stderr, outcome.describe()
    assert _writes(emulator) == [], outcome.describe()
    leaks = outcome.leaks()
    assert not leaks, "\n".join(leaks) + "\n" + outcome.describe()


# 5. An empty variable is not a value, unless the manifest says so -------------------------------------------------

STORED = "SENTINEL-STORED-ACCESS-9f3a"
AWS_SPEC = (
    "  name: n\n  dataSource:\n    dataSourceDescriptor: aws\n    params:\n"
    "      name: in.csv\n      bucketName: b\n      cloudRegion: us-east-1\n"
    "      accessKey: ${env:AWS_AK}\n      secretKey: ${env:SEC_SECRET_KEY}\n"
)


def _aws_job() -> dict[str, Any]:
    params = {"name": "in.csv", "bucketName": "b", "cloudRegion": "us-east-1", "accessKey": STORED, "secretKey": "s"}
    return {
        "id": "sec-prov",
        "templateId": "t",
        "name": "n",
        "dataSource": {"dataSourceDescriptor": "aws", "params": params},
    }


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_an_empty_variable_is_refused_and_nothing_is_written(
    command: str, tmp_path: Path, emulator: Control, invoke: Runner
) -> None:
    # CI systems set a missing secret to "": sending it would wipe the stored credential.
    emulator.seed([_aws_job()])
    folder = _write(tmp_path / "jobs", AWS_SPEC)
    emulator.clear_log()

    outcome = invoke(command, str(folder), *(["--auto-approve"] if command == "apply" else []), env={"AWS_AK": ""})

    assert outcome.exit_code == 1, outcome.describe()
    assert "job.yaml:12:7: environment variable AWS_AK is empty; write ${env:AWS_AK:-}" in outcome.stderr
    assert _writes(emulator) == [], outcome.describe()
    assert emulator.job("sec-prov")["dataSource"]["params"]["accessKey"] == STORED


def test_an_empty_variable_at_apply_time_refuses_a_plan_file(tmp_path: Path, emulator: Control, invoke: Runner) -> None:
    emulator.seed([_aws_job()])
    folder = _write(tmp_path / "jobs", AWS_SPEC)
    plan_file = tmp_path / "plan.json"
    planned = invoke("plan", str(folder), "--out", str(plan_file), env={"AWS_AK": "SENTINEL-NEW-ACCESS-9f3a"})
    assert planned.exit_code == 0, planned.describe()
    emulator.clear_log()

    outcome = invoke("apply", str(plan_file), env={"AWS_AK": ""})

    assert outcome.exit_code == 1, outcome.describe()
    assert "AWS_AK is empty" in outcome.stderr, outcome.describe()
    assert _writes(emulator) == [], outcome.describe()
    assert emulator.job("sec-prov")["dataSource"]["params"]["accessKey"] == STORED


def test_an_empty_value_is_sent_where_the_manifest_opts_in(tmp_path: Path, emulator: Control, invoke: Runner) -> None:
    emulator.seed([{"id": "sec-prov", "templateId": "t", "name": "n", "params": {"app": {"note": "old", "steps": 1}}}])
    folder = _write(tmp_path / "jobs", '  name: n\n  params:\n    app: {note: "${env:NOTE:-}", steps: 1}\n')

    assert invoke("validate", str(folder)).exit_code == 0
    outcome = invoke("apply", str(folder), "--auto-approve", env={"NOTE": ""})

    assert outcome.exit_code == 0, outcome.describe()
    assert emulator.job("sec-prov")["params"]["app"] == {"note": "", "steps": 1}
    unset = invoke("plan", str(folder), env={"NOTE": None})  # the opt-in is for an empty value, not a missing one
    assert unset.exit_code == 1, unset.describe()
    assert "environment variable NOTE is not set" in unset.stderr, unset.describe()
