"""Environments end to end: one tree promoted from dev to prod, through the real CLI, against two emulator
processes (two accounts, each with its own key) and against one account the two environments share."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler import cli
from tests.e2e.conftest import Outcome
from tests.support import ROOT, Control, EmulatorProcess

DEV_KEY, PROD_KEY = "dev-account-key", "prod-account-key"
SECRET = "s3cr3t-h3ader-value-that-must-never-show"


class Account:
    """One emulator process: its own port and its own API key."""

    def __init__(self, process: EmulatorProcess, key: str) -> None:
        self.key = key
        self.url = process.url
        self.base = process.base_url

    def control(self) -> Iterator[Control]:
        with Control(self.base, api_key=self.key) as control:
            control.reset()
            yield control

    def jobs(self) -> list[dict[str, Any]]:
        with Control(self.base, api_key=self.key) as control:
            return control.jobs()


@pytest.fixture(scope="module")
def accounts() -> Iterator[tuple[Account, Account]]:
    with EmulatorProcess(api_key=DEV_KEY, cwd=ROOT) as dev, EmulatorProcess(api_key=PROD_KEY, cwd=ROOT) as prod:
        yield Account(dev, DEV_KEY), Account(prod, PROD_KEY)


@pytest.fixture
def dev(accounts: tuple[Account, Account]) -> Iterator[Control]:
    yield from accounts[0].control()


@pytest.fixture
def prod(accounts: tuple[Account, Account]) -> Iterator[Control]:
    yield from accounts[1].control()


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The real CLI in process, with each environment's key in its own variable and no BYTENITE_* leaking in."""
    for name in [name for name in os.environ if name.startswith("BYTENITE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DEV_KEY", DEV_KEY)
    monkeypatch.setenv("PROD_KEY", PROD_KEY)
    monkeypatch.setenv("REPORT_TOKEN", SECRET)

    def invoke(*args: str) -> Outcome:
        result = CliRunner().invoke(cli.cli, list(args), catch_exceptions=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return invoke


PROJECT = """\
apiVersion: reconciler.bytenite.io/v1
kind: Project
variables:
  rows: {{type: integer, default: 100}}
  bucket: {{type: string}}
  verbose: {{type: boolean, default: false}}
  sample: {{type: number, default: 0.5}}
defaults:
  templateId: report-tpl
  config: {{taskTimeout: 300, jobTimeout: 3600}}
environments:
  dev:
    apiUrl: {dev_url}
    apiKeyEnv: DEV_KEY
    variables: {{bucket: reports-dev}}
    labels: {{stage: dev}}{dev_extra}
  prod:
    apiUrl: {prod_url}
    apiKeyEnv: PROD_KEY
    variables: {{bucket: reports-prod, rows: 5000, sample: 1.5}}
    labels: {{stage: prod}}{prod_extra}
    defaults:
      config: {{jobTimeout: 7200}}
"""

REPORT = """\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {key: reports/daily, labels: {team: data}}
spec:
  name: Daily report
  dataSource:
    dataSourceDescriptor: url
    params: {url: "https://data.example.com/${var:bucket}/daily.csv"}
  dataDestination: {dataSourceDescriptor: bucket}
  params:
    app: {rows: "${var:rows}", verbose: "${var:verbose}", sample: "${var:sample}", out: "s3://${var:bucket}/out",
          token: "${env:REPORT_TOKEN}"}
environments:
  prod: {name: Daily report (prod)}
"""

AUDIT = """\
apiVersion: reconciler.bytenite.io/v1
kind: Job
metadata: {key: reports/audit, environments: [prod]}
spec:
  name: Audit
  params: {app: {rows: "${var:rows}"}}
"""


def _project(tmp_path: Path, dev_url: str, prod_url: str, *, dev_extra: str = "", prod_extra: str = "") -> Path:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "reconciler.yaml").write_text(
        PROJECT.format(dev_url=dev_url, prod_url=prod_url, dev_extra=dev_extra, prod_extra=prod_extra)
    )
    (tmp_path / "jobs" / "report.yaml").write_text(REPORT)
    (tmp_path / "jobs" / "audit.yaml").write_text(AUDIT)
    return tmp_path / "jobs"


def _shared_project(tmp_path: Path, account: Account, *, dev_extra: str = "", prod_extra: str = "") -> Path:
    """Both environments in one account, under one key."""
    jobs = _project(tmp_path, account.url, account.url, dev_extra=dev_extra, prod_extra=prod_extra)
    project = tmp_path / "reconciler.yaml"
    project.write_text(project.read_text().replace("apiKeyEnv: PROD_KEY", "apiKeyEnv: DEV_KEY"))
    return jobs


def _apply_edited_plan(
    run: Any, jobs: Path, edit: Callable[[dict[str, Any]], None], dev: Control, monkeypatch: pytest.MonkeyPatch
) -> Outcome:
    """dev's plan file, edited as an attacker would, applied from the project's folder with a clean log."""
    plan_file = jobs.parent / "plan.json"
    assert run("plan", "--env", "dev", str(jobs), "--out", str(plan_file)).exit_code == 0
    document = json.loads(plan_file.read_text())
    edit(document)
    plan_file.write_text(json.dumps(document))
    monkeypatch.chdir(jobs.parent)
    dev.clear_log()
    outcome: Outcome = run("apply", str(plan_file))
    return outcome


def _apps(account: Account) -> dict[str, Any]:
    return {job["name"]: job["params"]["app"] for job in account.jobs()}


def test_dev_and_prod_plan_and_apply_independently_each_with_its_url_and_key(
    accounts: tuple[Account, Account], dev: Control, prod: Control, run: Any, tmp_path: Path
) -> None:
    jobs = _project(tmp_path, accounts[0].url, accounts[1].url)
    for env in ("dev", "prod"):
        applied = run("apply", "--env", env, str(jobs), "--auto-approve")
        assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert sorted(_apps(accounts[0])) == ["Daily report"]  # the audit exists in prod only
    assert sorted(_apps(accounts[1])) == ["Audit", "Daily report (prod)"]
    dev_job = next(job for job in accounts[0].jobs())
    assert dev_job["description"].endswith("; env=dev; root=jobs")
    assert int(dev_job["config"]["jobTimeout"]) == 3600  # int64 travels as a string
    assert int(next(job for job in accounts[1].jobs() if job["name"] == "Audit")["config"]["jobTimeout"]) == 7200

    # Typed variables reach the API with their types; an interpolated one as text.
    app = _apps(accounts[1])["Daily report (prod)"]
    assert (app["rows"], app["verbose"], app["sample"], app["out"]) == (5000, False, 1.5, "s3://reports-prod/out")
    assert _apps(accounts[0])["Daily report"]["rows"] == 100

    for control in (dev, prod):
        control.clear_log()
    for env in ("dev", "prod"):
        again = run("apply", "--env", env, str(jobs), "--auto-approve")
        assert again.exit_code == 0, again.stdout
        assert "Nothing to do." in again.stdout
    assert dev.writes() == []
    assert prod.writes() == []


def test_a_wrong_type_or_an_unknown_variable_fails_at_its_position_with_no_request(
    accounts: tuple[Account, Account], dev: Control, run: Any, tmp_path: Path
) -> None:
    jobs = _project(tmp_path, accounts[0].url, accounts[1].url)
    (jobs / "bad.yaml").write_text(
        "apiVersion: reconciler.bytenite.io/v1\nkind: Job\nmetadata: {key: bad}\nspec:\n"
        "  name: Bad\n  params: {app: {rows: '${var:rowz}'}}\n  config: {taskTimeout: '${var:bucket}'}\n"
    )
    planned = run("plan", "--env", "dev", str(jobs))
    assert planned.exit_code == 1
    assert f"{jobs / 'bad.yaml'}:6:" in planned.stderr
    assert "variable 'rowz' is not declared in the project (did you mean 'rows'?)" in planned.stderr
    assert f"{jobs / 'bad.yaml'}:7:" in planned.stderr
    assert "taskTimeout" in planned.stderr
    typed = run("plan", "--env", "dev", str(jobs), "--var", "rows=many")
    assert typed.exit_code == 1
    assert "--var rows: 'many' is not an integer" in typed.stderr
    assert dev.requests() == []


def test_validate_without_env_checks_every_environment_and_labels_what_only_one_has(
    accounts: tuple[Account, Account], run: Any, tmp_path: Path
) -> None:
    jobs = _project(tmp_path, accounts[0].url, accounts[1].url)
    assert run("validate", str(jobs)).stdout.strip() == "1 manifest valid in dev, 2 manifests valid in prod."
    (jobs / "audit.yaml").write_text(AUDIT.replace("name: Audit", "name: Audit\n  config: {jobTimeout: '1h'}"))
    (jobs / "report.yaml").write_text(REPORT.replace("prod: {name: Daily report (prod)}", "prod: {config: []}"))
    checked = run("validate", str(jobs))
    assert checked.exit_code == 1
    lines = checked.stderr.splitlines()
    assert any(f"{jobs / 'audit.yaml'}:" in line and "[prod] jobTimeout" in line for line in lines), lines
    assert any(f"{jobs / 'report.yaml'}:" in line and "[prod] config" in line for line in lines), lines
    assert not any("[dev]" in line for line in lines)
    assert run("validate", "--env", "dev", str(jobs)).exit_code == 0


def test_render_of_prod_applied_without_the_project_plans_no_change(
    accounts: tuple[Account, Account], *, prod: Control, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:  # fmt: skip
    jobs = _project(tmp_path, accounts[0].url, accounts[1].url)
    assert run("apply", "--env", "prod", str(jobs), "--auto-approve").exit_code == 0
    rendered = run("render", "--env", "prod", str(jobs))
    assert rendered.exit_code == 0, rendered.stderr
    assert "${env:REPORT_TOKEN}" in rendered.stdout  # references stay references
    assert SECRET not in rendered.stdout
    assert "${var:" not in rendered.stdout
    plain = tmp_path_factory.mktemp("rendered")  # outside the project: plain manifests, no reconciler.yaml
    (plain / "prod.yaml").write_text(rendered.stdout)
    as_json = json.loads(run("render", "--env", "prod", str(jobs), "--format", "json").stdout)
    assert [document["metadata"]["key"] for document in as_json] == ["reports/audit", "reports/daily"]

    monkeypatch.setenv("BYTENITE_API_URL", accounts[1].url)
    monkeypatch.setenv("BYTENITE_API_KEY", PROD_KEY)
    prod.clear_log()
    planned = run("plan", str(plain), "--detailed-exitcode")
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    assert "2 unchanged" in planned.stdout
    assert prod.writes() == []


def test_one_shared_account_keeps_each_environments_jobs_apart(
    accounts: tuple[Account, Account], dev: Control, run: Any, tmp_path: Path
) -> None:
    prefixes = {"dev_extra": "\n    keyPrefix: dev/", "prod_extra": "\n    keyPrefix: prod/"}
    jobs = _shared_project(tmp_path, accounts[0], **prefixes)
    for env in ("dev", "prod"):
        assert run("apply", "--env", env, str(jobs), "--auto-approve").exit_code == 0
    ids = {job["name"]: job["id"] for job in accounts[0].jobs()}
    assert len(ids) == 3  # the report twice, under two ids, and prod's audit
    assert ids["Daily report"] != ids["Daily report (prod)"]

    (jobs / "audit.yaml").unlink()  # prod's audit now has no manifest: an orphan, but of prod's
    (jobs / "report.yaml").write_text(REPORT.replace("metadata: {key: reports/daily", "metadata: {key: reports/new"))
    dev.clear_log()
    pruned = run("apply", "--env", "dev", str(jobs), "--prune", "--auto-approve")
    assert pruned.exit_code == 0, pruned.stdout + pruned.stderr
    assert ids["Daily report (prod)"] not in pruned.stdout
    assert ids["Audit"] not in pruned.stdout
    remaining = {job["id"] for job in accounts[0].jobs()}
    assert {ids["Daily report (prod)"], ids["Audit"]} <= remaining
    assert ids["Daily report"] not in remaining  # dev's own orphan went
    assert f"- prune job {ids['Daily report']}" in pruned.stdout
    prods = (ids["Daily report (prod)"], ids["Audit"])
    assert not [path for _, path in dev.writes() if any(job_id in path for job_id in prods)]


def test_two_environments_that_share_an_account_without_a_key_prefix_never_write_each_others_jobs(
    accounts: tuple[Account, Account], dev: Control, run: Any, tmp_path: Path
) -> None:
    jobs = _shared_project(tmp_path, accounts[0])
    assert run("apply", "--env", "dev", str(jobs), "--auto-approve").exit_code == 0
    dev.clear_log()
    clash = run("apply", "--env", "prod", str(jobs), "--auto-approve")
    assert clash.exit_code == 1
    assert "was created by environment dev, not prod" in clash.stdout
    assert "different keyPrefix" in clash.stdout
    assert dev.writes() == []


def test_a_plan_file_for_dev_is_refused_for_prod(
    accounts: tuple[Account, Account], *, dev: Control, prod: Control, run: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    jobs = _project(tmp_path, accounts[0].url, accounts[1].url)
    plan_file = tmp_path / "dev-plan.json"
    assert run("plan", "--env", "dev", str(jobs), "--out", str(plan_file)).exit_code == 0
    assert json.loads(plan_file.read_text())["scope"]["env"] == "dev"
    monkeypatch.chdir(tmp_path)  # the project, for the environment's URL and key, is found from here
    refused = run("apply", str(plan_file), "--env", "prod")
    assert refused.exit_code == 1
    assert "the plan file was made for environment dev; this run is for environment prod: refused" in refused.stderr
    assert dev.writes() == []
    assert prod.writes() == []
    applied = run("apply", str(plan_file))  # its own environment, from the project: dev's URL and key
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert [job["name"] for job in accounts[0].jobs()] == ["Daily report"]
    assert accounts[1].jobs() == []


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_project_with_environments_needs_one_chosen(
    accounts: tuple[Account, Account], dev: Control, run: Any, tmp_path: Path, command: str
) -> None:
    jobs = _project(tmp_path, accounts[0].url, accounts[1].url)
    outcome = run(command, str(jobs), "--auto-approve") if command == "apply" else run(command, str(jobs))
    assert outcome.exit_code == 1
    assert "the project defines environments dev, prod: choose one with --env NAME" in outcome.stderr
    unknown = run(command, "--env", "prdo", str(jobs))
    assert unknown.exit_code == 1
    assert "--env prdo: no such environment (did you mean 'prod'?)" in unknown.stderr
    assert dev.requests() == []


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("output", ["text", "json", "markdown"])
def test_secrets_from_the_environment_stay_masked_in_every_format_of_every_environment(
    accounts: tuple[Account, Account], *, dev: Control, prod: Control, run: Any, tmp_path: Path, env: str,
    output: str,
) -> None:  # fmt: skip
    jobs = _project(tmp_path, accounts[0].url, accounts[1].url)
    plan_file = tmp_path / "plan.json"
    planned = run("plan", "--env", env, str(jobs), "--format", output, "--out", str(plan_file))
    assert planned.exit_code == 0, planned.stderr
    named = {"text": f"Plan for environment {env}:", "json": f'"env": "{env}"', "markdown": f"environment `{env}`"}
    assert named[output] in planned.stdout
    for text in (planned.stdout, planned.stderr, plan_file.read_text()):
        assert SECRET not in text
    applied = run(
        "apply", "--env", env, str(jobs), "--auto-approve", "--format", "json" if output == "json" else "text"
    )
    assert SECRET not in applied.stdout + applied.stderr
    if output == "markdown":
        assert planned.stdout.startswith(f"<!-- bytenite-reconciler:plan env={env} -->")


def test_import_in_an_environment_writes_the_key_without_its_prefix(
    accounts: tuple[Account, Account], prod: Control, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = _project(tmp_path, accounts[0].url, accounts[1].url, prod_extra="\n    keyPrefix: prod/")
    assert run("apply", "--env", "prod", str(jobs), "--auto-approve").exit_code == 0
    report = next(job["id"] for job in accounts[1].jobs() if job["name"] == "Daily report (prod)")
    (jobs / "report.yaml").unlink()
    monkeypatch.chdir(tmp_path)
    imported = run("import", "--env", "prod", report, "--out", str(jobs))
    assert imported.exit_code == 0, imported.stderr
    (written,) = [path for path in jobs.iterdir() if path.name != "audit.yaml"]
    assert "key: reports/daily" in written.read_text()  # the project adds prod/ back
    monkeypatch.setenv(f"JOB_{report[:8].upper()}_APP_TOKEN", SECRET)  # import made the token a reference
    prod.clear_log()
    planned = run("plan", "--env", "prod", str(jobs), "--detailed-exitcode")
    assert planned.exit_code == 0, planned.stdout + planned.stderr


def test_a_plan_file_edited_to_name_another_environment_writes_none_of_the_first_ones_jobs(
    accounts: tuple[Account, Account], dev: Control, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = _shared_project(tmp_path, accounts[0])
    assert run("apply", "--env", "dev", str(jobs), "--auto-approve").exit_code == 0
    (jobs / "report.yaml").write_text(REPORT.replace("name: Daily report", "name: Daily report v2"))

    def retarget(document: dict[str, Any]) -> None:
        document["scope"]["env"] = "prod"

    applied = _apply_edited_plan(run, jobs, retarget, dev, monkeypatch)
    assert applied.exit_code == 4, applied.stdout + applied.stderr
    assert "was created by environment dev, not prod" in applied.stdout
    assert dev.writes() == []


def test_a_plan_file_cannot_send_the_environments_api_key_to_a_job_field(
    accounts: tuple[Account, Account], dev: Control, run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key's variable is not BYTENITE_*, so the reserved-name rule does not cover it: the run leaves it out."""
    jobs = _project(tmp_path, accounts[0].url, accounts[1].url)

    def name_from_the_key(document: dict[str, Any]) -> None:
        (created,) = [job for job in document["jobs"] if job["action"] == "create"]
        created["declared"]["name"] = "${env:DEV_KEY}"

    applied = _apply_edited_plan(run, jobs, name_from_the_key, dev, monkeypatch)
    assert applied.exit_code == 1, applied.stdout + applied.stderr
    assert "DEV_KEY is not set" in applied.stderr
    assert DEV_KEY not in applied.stdout + applied.stderr
    assert dev.writes() == []
    assert accounts[0].jobs() == []
