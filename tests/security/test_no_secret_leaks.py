"""No secret in any byte a run produces: plan and apply in every format and on every error path, with ``--debug``.

Sentinels sit in the environment (credentials, a prompt, a name, a URL, all taken by ``${env:NAME}``), in the API
key itself, on the server (inline credentials of jobs that predate secrets, old values at sensitive paths) and, for
the invalid-manifest path, in plain text in a manifest. Each run is scanned: stdout, stderr, every log record (with
its extra attributes), any uncaught traceback and every file written under the test's folder.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler import errors, keys, settings
from reconciler.api import transports
from reconciler.planning import redaction
from tests.security.helpers import (
    API_KEY,
    ENV_SENTINELS,
    LITERAL_SENTINELS,
    SERVER_SENTINELS,
    WRONG_KEY,
    EchoingTransport,
    Outcome,
    Runner,
    Sentinel,
    closed_port,
    find_leaks,
    run_subprocess,
)
from tests.support import Control

AWS_JOB = "sec-aws"
URL_JOB = "sec-url"
NEW_JOB = "sec-new"

AWS_MANIFEST = """\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {id: sec-aws}
spec:
  name: Secret AWS job
  dataSource:
    dataSourceDescriptor: aws
    params:
      name: input/all.csv
      bucketName: legacy-input
      cloudRegion: us-east-1
      accessKey: ${env:SEC_ACCESS_KEY}
      secretKey: ${env:SEC_SECRET_KEY}
  params:
    app:
      prompt: ${env:SEC_PROMPT}
      steps: 20
  config: {taskTimeout: 600}
"""
URL_MANIFEST = """\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {id: sec-url}
spec:
  name: ${env:SEC_NAME}
  dataSource:
    dataSourceDescriptor: url
    params:
      url: ${env:SEC_SOURCE_URL}
      password: ${env:SEC_PASSWORD}
  dataDestination: {dataSourceDescriptor: bucket}
"""
NEW_MANIFEST = """\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {id: sec-new}
spec:
  templateId: img-gen-diffusers
  name: Created with secrets
  dataSource:
    dataSourceDescriptor: url
    params: {url: "${env:SEC_SOURCE_URL}", password: "${env:SEC_PASSWORD}"}
  dataDestination: {dataSourceDescriptor: bucket}
  params:
    app: {prompt: "${env:SEC_PROMPT}"}
"""
# Credentials in plain text: refused by validation, which must not repeat them.
LITERAL_MANIFEST = f"""\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {{id: sec-literal}}
spec:
  dataSource:
    dataSourceDescriptor: aws
    params:
      name: input/all.csv
      bucketName: legacy-input
      cloudRegion: us-east-1
      accessKey: {LITERAL_SENTINELS["literal access key"]}
      secretKey: "{LITERAL_SENTINELS["literal secret key"]}"
  params:
    app:
      password: {LITERAL_SENTINELS["literal password"]}
      tokens: [{LITERAL_SENTINELS["literal token"]}]
  config: {{taskTimeout: "${{env:SEC_PROMPT}}"}}
"""


def server_jobs() -> list[dict[str, Any]]:
    """Drafts that differ from the manifests, holding the server's own sentinels."""
    return [
        {
            "id": AWS_JOB,
            "templateId": "csv-import",
            "name": "Secret AWS job (old)",
            "dataSource": {
                "dataSourceDescriptor": "aws",
                "params": {
                    "name": "input/all.csv",
                    "bucketName": "legacy-input",
                    "cloudRegion": "us-east-1",
                    "accessKey": SERVER_SENTINELS["server access key"],
                    "secretKey": SERVER_SENTINELS["server secret key"],
                },
            },
            # Undeclared by the manifest: re-sent as the server has it, inline keys included.
            "dataDestination": {
                "dataSourceDescriptor": "aws",
                "params": {
                    "name": "output/",
                    "bucketName": "legacy-output",
                    "cloudRegion": "us-east-1",
                    "accessKey": SERVER_SENTINELS["server destination access key"],
                    "secretKey": SERVER_SENTINELS["server destination secret key"],
                },
            },
            "params": {"app": {"prompt": SERVER_SENTINELS["server prompt"], "steps": 10}},
            "config": {"taskTimeout": 300},
        },
        {
            "id": URL_JOB,
            "templateId": "img-gen-diffusers",
            "name": SERVER_SENTINELS["server name"],
            "dataSource": {
                "dataSourceDescriptor": "url",
                "params": {"url": SERVER_SENTINELS["server url"], "password": SERVER_SENTINELS["server password"]},
            },
            "dataDestination": {"dataSourceDescriptor": "bucket"},
        },
    ]


@dataclass
class Workspace:
    """The manifests of one test, in tmp_path."""

    root: Path
    jobs: Path = field(init=False)
    invalid: Path = field(init=False)
    new: Path = field(init=False)
    plan_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.jobs = self.root / "jobs"
        self.invalid = self.root / "invalid"
        self.new = self.root / "new"
        self.plan_file = self.root / "out" / "plan.json"
        for folder in (self.jobs, self.invalid, self.new, self.plan_file.parent):
            folder.mkdir()
        (self.jobs / "aws.yaml").write_text(AWS_MANIFEST)
        (self.jobs / "url.yaml").write_text(URL_MANIFEST)
        (self.invalid / "literal.yaml").write_text(LITERAL_MANIFEST)
        (self.new / "new.yaml").write_text(NEW_MANIFEST)


@pytest.fixture
def workspace(tmp_path: Path, emulator: Control) -> Workspace:
    emulator.seed(server_jobs())
    return Workspace(tmp_path)


# A transport that lets a test act at the moment the first write is sent ------------------------------------------


class HookedTransport(httpx.AsyncBaseTransport):
    """The real transport, with a callback run just before the first non-GET request of the run goes out."""

    def __init__(self, inner: httpx.AsyncBaseTransport, before_first_write: Callable[[httpx.Request], None]) -> None:
        self.inner = inner
        self.before_first_write: Callable[[httpx.Request], None] | None = before_first_write

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET" and "access_token" not in request.url.path and self.before_first_write:
            hook, self.before_first_write = self.before_first_write, None
            hook(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def before_first_write(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[httpx.Request], None]], None]:
    """Install a hook on every client the CLI builds from now on."""

    def install(hook: Callable[[httpx.Request], None]) -> None:
        real = transports.default
        monkeypatch.setattr(transports, "default", lambda *chosen: HookedTransport(real(*chosen), hook))

    return install


# The matrix ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One run: its arguments (``{jobs}``, ``{invalid}``, ``{new}``, ``{plan}`` filled in), setup and exit code."""

    name: str
    args: tuple[str, ...]
    exit_code: int | tuple[int, ...]  # more than one when the table allows either (1 error, 4 partial)
    env: tuple[tuple[str, str | None], ...] = ()
    setup: str = ""


SCENARIOS = [
    Scenario("plan-text", ("plan", "{jobs}"), 0),
    Scenario("plan-json", ("plan", "{jobs}", "--format", "json"), 0),
    Scenario("plan-markdown", ("plan", "{jobs}", "--format", "markdown"), 0),
    Scenario("plan-out", ("plan", "{jobs}", "--out", "{plan}"), 0),
    Scenario("plan-drift", ("plan", "{jobs}", "--drift"), 0),
    Scenario("plan-drift-json", ("plan", "{jobs}", "--drift", "--format", "json"), 0),
    Scenario("plan-detailed-exitcode", ("plan", "{jobs}", "--detailed-exitcode"), 2),
    Scenario("apply-text", ("apply", "{jobs}", "--auto-approve"), 0),
    Scenario("apply-json", ("apply", "{jobs}", "--auto-approve", "--format", "json"), 0),
    Scenario("apply-create", ("apply", "{new}", "--auto-approve", "--format", "json"), 0),
    Scenario("apply-planfile", ("apply", "{plan}"), 0, setup="plan-out"),
    Scenario("apply-planfile-json", ("apply", "{plan}", "--format", "json"), 0, setup="plan-out"),
    Scenario(
        "apply-key-file",
        ("apply", "{jobs}", "--auto-approve", "--api-key-file", "{key_file}"),
        0,
        env=(("BYTENITE_API_KEY", None),),
    ),
    # Error paths.
    Scenario("invalid-manifest-plan", ("plan", "{invalid}"), 1),
    Scenario("invalid-manifest-apply", ("apply", "{invalid}", "--auto-approve", "--format", "json"), 1),
    Scenario("invalid-manifest-validate", ("validate", "{invalid}"), 1),
    Scenario("unset-variable-plan", ("plan", "{jobs}"), 1, env=(("SEC_PROMPT", None),)),
    Scenario("unset-variable-apply", ("apply", "{jobs}", "--auto-approve"), 1, env=(("SEC_PASSWORD", None),)),
    Scenario("unset-variable-planfile", ("apply", "{plan}"), 1, env=(("SEC_PASSWORD", None),), setup="plan-out"),
    Scenario("missing-job-plan", ("plan", "{jobs}", "--format", "json"), 1, setup="no-jobs"),
    Scenario("missing-job-apply", ("apply", "{jobs}", "--auto-approve"), 1, setup="no-jobs"),
    Scenario("refused-key-plan", ("plan", "{jobs}"), 1, env=(("BYTENITE_API_KEY", WRONG_KEY),)),
    Scenario(
        "refused-key-apply",
        ("apply", "{jobs}", "--auto-approve", "--format", "json"),
        1,
        env=(("BYTENITE_API_KEY", WRONG_KEY),),
    ),
    Scenario(
        "refused-key-planfile", ("apply", "{plan}"), (1, 4), env=(("BYTENITE_API_KEY", WRONG_KEY),), setup="plan-out"
    ),
    # The job was launched between plan and apply: the plan file is refused as stale, job by job.
    Scenario("stale-planfile", ("apply", "{plan}"), 4, setup="plan-out,advance"),
    # The job is launched while apply runs, just before its first PATCH: the API answers 400 (code 9).
    Scenario("patch-4xx", ("apply", "{jobs}", "--auto-approve"), 4, setup="advance-on-write"),
    Scenario("patch-4xx-json", ("apply", "{jobs}", "--auto-approve", "--format", "json"), 4, setup="advance-on-write"),
    Scenario("5xx-plan", ("plan", "{jobs}", "--format", "json"), 1, setup="faults"),
    Scenario("5xx-apply", ("apply", "{jobs}", "--auto-approve"), 4, setup="faults-on-write"),
    Scenario("5xx-planfile", ("apply", "{plan}", "--format", "json"), (1, 4), setup="plan-out,faults"),
    Scenario("unreachable-plan", ("plan", "{jobs}"), 1, env=(("BYTENITE_API_URL", "{closed}"),)),
    Scenario(
        "unreachable-apply",
        ("apply", "{jobs}", "--auto-approve", "--format", "json"),
        1,
        env=(("BYTENITE_API_URL", "{closed}"),),
    ),
    Scenario("run-timeout", ("plan", "{jobs}"), 1, env=(("BYTENITE_RUN_TIMEOUT", "0.3"),), setup="slow"),
]
DEBUG_POSITIONS = ["debug-first", "debug-last"]


def _fill(text: str, workspace: Workspace, values: dict[str, str]) -> str:
    return text.format(
        jobs=workspace.jobs, invalid=workspace.invalid, new=workspace.new, plan=workspace.plan_file, **values
    )


def _with_debug(args: list[str], position: str) -> list[str]:
    return ["--debug", *args] if position == "debug-first" else [*args, "--debug"]


def _prepare(
    scenario: Scenario,
    *,
    workspace: Workspace,
    emulator: Control,
    invoke: Runner,
    before_first_write: Callable[[Callable[[httpx.Request], None]], None],
    position: str,
) -> list[Outcome]:
    """Run the scenario's setup; returns the outcomes of any runs it made (they are scanned too)."""
    earlier: list[Outcome] = []
    for step in filter(None, scenario.setup.split(",")):
        if step == "plan-out":
            saved = invoke(*_with_debug(["plan", str(workspace.jobs), "--out", str(workspace.plan_file)], position))
            assert saved.exit_code == 0, saved.describe()
            earlier.append(saved)
        elif step == "advance":
            emulator.advance(AWS_JOB)
        elif step == "no-jobs":
            emulator.reset()
        elif step == "faults":
            emulator.faults(faultRate=1.0)
        elif step == "slow":
            emulator.faults(latencyMs=2000)
        elif step == "advance-on-write":
            before_first_write(lambda request: emulator.advance(request.url.path.split("/jobs/")[1].split("/")[0]))
        elif step == "faults-on-write":
            before_first_write(lambda request: emulator.faults(faultRate=1.0))
        else:  # pragma: no cover - a typo in the table
            raise AssertionError(f"unknown setup step {step}")
    emulator.clear_log()
    return earlier


@pytest.mark.parametrize("position", DEBUG_POSITIONS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_no_sentinel_in_any_output(
    scenario: Scenario,
    position: str,
    *,
    workspace: Workspace,
    emulator: Control,
    invoke: Runner,
    before_first_write: Callable[[Callable[[httpx.Request], None]], None],
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "keys" / "api-key"
    key_file.parent.mkdir()
    key_file.write_text(API_KEY + "\n")
    values = {"closed": f"http://127.0.0.1:{closed_port()}/v1", "key_file": str(key_file)}
    earlier = _prepare(
        scenario,
        workspace=workspace,
        emulator=emulator,
        invoke=invoke,
        before_first_write=before_first_write,
        position=position,
    )
    env = {name: None if value is None else _fill(value, workspace, values) for name, value in scenario.env}
    args = [_fill(arg, workspace, values) for arg in scenario.args]

    outcome = invoke(*_with_debug(args, position), env=env)

    assert not outcome.crash, outcome.describe()
    expected = scenario.exit_code if isinstance(scenario.exit_code, tuple) else (scenario.exit_code,)
    assert outcome.exit_code in expected, outcome.describe()
    leaks = [leak for run in (*earlier, outcome) for leak in run.leaks()]
    assert not leaks, "\n".join(leaks) + "\n" + outcome.describe()
    reached_jobs = [r for r in emulator.requests() if "access_token" not in r["path"]]
    if reached_jobs:  # --debug was honoured in either position: the requests were logged
        assert "DEBUG reconciler" in outcome.stderr, outcome.describe()
    if scenario.name == "plan-out":
        assert json.loads(workspace.plan_file.read_text())["format_version"] == 1
    if scenario.name == "apply-text":  # the secrets did reach the API, so the scan above was not vacuous
        source = emulator.job(AWS_JOB)["dataSource"]["params"]
        assert source["accessKey"] == ENV_SENTINELS["SEC_ACCESS_KEY"]
        assert emulator.job(URL_JOB)["dataSource"]["params"]["password"] == ENV_SENTINELS["SEC_PASSWORD"]


# The same, as real processes: every byte written to the file descriptors, whatever wrote it ---------------------


@pytest.mark.parametrize(
    ("args", "env", "faults", "exit_code"),
    [
        pytest.param(["--debug", "plan", "jobs", "--format", "json", "--out", "out/p.json"], {}, False, 0, id="plan"),
        pytest.param(["apply", "jobs", "--auto-approve", "--debug"], {}, False, 0, id="apply"),
        pytest.param(
            ["--debug", "apply", "jobs", "--auto-approve"], {"BYTENITE_API_KEY": WRONG_KEY}, False, 1, id="refused-key"
        ),
        pytest.param(["plan", "invalid", "--debug"], {}, False, 1, id="invalid"),
        pytest.param(["--debug", "plan", "jobs"], {}, True, 1, id="5xx"),
    ],
)
def test_no_sentinel_leaves_the_process(
    args: list[str],
    env: dict[str, str],
    faults: bool,
    exit_code: int,
    *,
    workspace: Workspace,
    emulator: Control,
    environment: dict[str, str],
) -> None:
    if faults:
        emulator.faults(faultRate=1.0)
    outcome = run_subprocess(args, cwd=workspace.root, env={**environment, **env})
    assert outcome.exit_code == exit_code, outcome.describe()
    leaks = outcome.leaks()
    assert not leaks, "\n".join(leaks) + "\n" + outcome.describe()


# An API whose error messages echo what it was sent ---------------------------------------------------------------


def _source(body: Any) -> dict[str, Any]:
    return dict(body["dataSource"]["params"]) if isinstance(body, dict) and "dataSource" in body else {}


ECHOES: dict[str, Callable[[httpx.Request, Any], str]] = {
    # A value the manifest took from the environment, quoted as it was received.
    "the raw value": lambda request, body: f"bad access key {_source(body).get('accessKey', '')}",
    # The access token of the request, as some gateways quote the header they could not parse.
    "the token": lambda request, body: f"token {request.headers['Authorization']} lacks scope",
    # The same values as they appear in the JSON body: quotes, backslashes and non-ASCII letters escaped.
    "a JSON-escaped value": lambda request, body: f"bad field {json.dumps(_source(body).get('password', ''))}",
    # Credentials the manifest never declared: the server's own, re-sent in the replaced section.
    "a re-sent server credential": lambda request, body: (
        f"bad destination {(body.get('dataDestination') or {}).get('params', {}).get('accessKey', '')}"
        if isinstance(body, dict)
        else "bad body"
    ),
}


@pytest.mark.parametrize(
    "echo",
    [
        "the raw value",
        "the token",
        pytest.param(
            "a JSON-escaped value",
        ),
        pytest.param(
            "a re-sent server credential",
        ),
    ],
)
def test_an_api_error_quoting_the_request_is_scrubbed(
    echo: str, workspace: Workspace, invoke: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = transports.default
    echoing = ECHOES[echo]
    monkeypatch.setattr(transports, "default", lambda *chosen: EchoingTransport(real(*chosen), echoing))

    outcome = invoke("--debug", "apply", str(workspace.jobs), "--auto-approve")

    assert outcome.exit_code == 4, outcome.describe()
    assert "invalid argument" in outcome.stdout, outcome.describe()  # the API's message is shown, scrubbed
    leaks = outcome.leaks()
    assert not leaks, "\n".join(leaks) + "\n" + outcome.describe()


# Values that are not units ----------------------------------------------------------------------------------------


def test_a_template_id_from_the_environment_is_resolved_and_never_shown(
    tmp_path: Path, emulator: Control, invoke: Runner
) -> None:
    template = Sentinel("SEC_TEMPLATE", "SENTINEL-TEMPLATE-9f3a")
    emulator.seed([{"id": "sec-template", "templateId": template.value, "name": "Same template"}])
    folder = tmp_path / "template"
    folder.mkdir()
    (folder / "job.yaml").write_text(
        "apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata: {id: sec-template}\n"
        "spec:\n  templateId: ${env:SEC_TEMPLATE}\n  name: Same template\n"
    )

    outcome = invoke("--debug", "plan", str(folder), "--format", "json", env={"SEC_TEMPLATE": template.value})

    assert outcome.exit_code == 0, outcome.describe()
    leaks = outcome.leaks([template])
    assert not leaks, "\n".join(leaks) + "\n" + outcome.describe()
    assert json.loads(outcome.stdout)["jobs"][0]["action"] == "unchanged", outcome.stdout


URL_PASSWORD = Sentinel("a password in the API URL", "SENTINEL-URL-PASSWORD-9f3a")


def test_credentials_in_the_api_url_are_refused_clearly(workspace: Workspace, invoke: Runner, server: Any) -> None:
    url = server.url.replace("http://", f"http://user:{URL_PASSWORD.value}@")

    outcome = invoke("--debug", "plan", str(workspace.jobs), "--out", str(workspace.plan_file), env={
        "BYTENITE_API_URL": url
    })  # fmt: skip

    assert not outcome.leaks([URL_PASSWORD]), outcome.describe()
    assert not outcome.crash, outcome.describe()
    assert outcome.exit_code == 1, outcome.describe()
    assert outcome.stderr.startswith("error: "), outcome.describe()


def test_credentials_in_the_api_url_are_never_shown(workspace: Workspace, invoke: Runner, server: Any) -> None:
    saved = invoke("plan", str(workspace.jobs), "--out", str(workspace.plan_file))
    assert saved.exit_code == 0, saved.describe()
    url = server.url.replace("http://", f"http://user:{URL_PASSWORD.value}@")

    outcome = invoke("--debug", "apply", str(workspace.plan_file), env={"BYTENITE_API_URL": url})

    assert outcome.exit_code == 1, outcome.describe()
    leaks = outcome.leaks([URL_PASSWORD])
    assert not leaks, "\n".join(leaks) + "\n" + outcome.describe()


# Objects that hold secrets --------------------------------------------------------------------------------------


SECRET = "SENTINEL-REPR-9f3a"


def test_a_secret_never_shows_itself() -> None:
    secret = keys.Secret(SECRET)
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", "%s %r" % (secret, secret)]  # noqa: UP031
    assert not any(find_leaks("repr", text, [Sentinel("secret", SECRET)]) for text in shown), shown
    assert secret.reveal() == SECRET
    assert secret == keys.Secret(SECRET)
    assert secret != SECRET  # a Secret never compares equal to the plain string it holds


def test_settings_never_show_the_api_key() -> None:
    config = settings.Settings(api_key=keys.Secret(SECRET), api_url="https://api.bytenite.com/v1")
    loaded = settings.from_environment(environ={"BYTENITE_API_KEY": SECRET})
    for shown in (repr(config), str(config), repr(loaded), str(loaded), repr(vars(config))):
        assert not find_leaks("settings", shown, [Sentinel("key", SECRET)]), shown


def test_an_api_error_built_from_a_scrubbed_message_never_shows_the_secret() -> None:
    token = "emu." + "x" * 32
    message = redaction.scrub(f"key {SECRET} refused; token {token} expired; key again: {SECRET}", {SECRET, token})
    for error in (
        errors.ApiError(message, status=400, code=3),
        errors.AuthError(message, status=401),
        errors.TransientError(message, status=503),
        errors.RateLimited(message, retry_after=1.0),
    ):
        for shown in (repr(error), str(error), error.message, repr(error.args)):
            assert not find_leaks("error", shown, [Sentinel("secret", SECRET)]), shown
        assert "(redacted)" in str(error)


def test_scrub_cuts_secrets_before_it_truncates() -> None:
    # The secret straddles the truncation point: cut first, so no prefix of it survives.
    text = "x" * 290 + SECRET + "y" * 50
    shown = redaction.scrub(text, {SECRET})
    assert SECRET[:8] not in shown
    assert len(shown) <= 300
