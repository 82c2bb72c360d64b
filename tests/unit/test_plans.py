"""The plan: one action per job, one call per changed section, and never a secret value anywhere in it."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest

from reconciler.desired import jobs
from reconciler.planning import planner, plans, redaction, references, states
from reconciler.rendering import document, text

from .helpers import manifest, s3_wire, wire_job

Action = plans.Action


def inputs(
    spec: dict[str, Any], server: dict[str, Any] | None, *, environ: dict[str, str] | None = None, job_id: str = "job-1"
) -> plans.Inputs:
    """A job's plan inputs, made as the pipeline makes them: references resolved, their paths sensitive."""
    wanted = jobs.from_manifest(manifest(spec, job_id=job_id))
    resolved, missing = references.resolve(wanted, environ or {})
    assert missing == []
    current = states.from_api(server) if server is not None else None
    return plans.Inputs(
        desired=resolved,
        current=current,
        source=f"jobs/{job_id}.yaml:1",
        sensitive=references.sensitive_paths(wanted),
        declared=wanted.units,
    )


def plan_one(spec: dict[str, Any], server: dict[str, Any] | None, key: bytes, **kwargs: Any) -> plans.JobPlan:
    return planner.plan_job(inputs(spec, server, **kwargs), key)


# --- actions ----------------------------------------------------------------------------------------------


def test_a_difference_on_a_draft_is_an_update(key: bytes) -> None:
    job = plan_one({"name": "New"}, wire_job(name="Old"), key)
    assert job.action is Action.UPDATE
    assert [(change.dotted, change.before, change.after) for change in job.changes] == [("name", "Old", "New")]
    assert [(call.method, call.section, call.path, call.body) for call in job.calls] == [
        ("PATCH", "jobname", "/jobs/job-1/jobname", "New")
    ]
    assert job.lifecycle == "JOB_STATE_NEW"


def test_no_difference_is_unchanged_with_no_calls(key: bytes) -> None:
    server = wire_job(name="Same", config={"taskTimeout": "600", "jobTimeout": "0", "isTestJob": False})
    job = plan_one({"name": "Same", "config": {"taskTimeout": 600}}, server, key)
    assert job.action is Action.UNCHANGED
    assert (job.changes, job.calls, job.reason) == ((), (), "")


@pytest.mark.parametrize(
    "state", ["JOB_STATE_STARTED", "JOB_STATE_PARTITIONING", "JOB_STATE_COMPLETE", "JOB_STATE_FAILED"]
)
def test_a_difference_on_a_job_that_is_not_a_draft_is_blocked(key: bytes, state: str) -> None:
    job = plan_one({"name": "New"}, wire_job(name="Old", state=state), key)
    assert job.action is Action.BLOCKED
    assert job.calls == ()
    assert [change.dotted for change in job.changes] == ["name"]
    assert state in job.reason


def test_a_job_that_is_not_a_draft_but_matches_is_unchanged(key: bytes) -> None:
    job = plan_one({"name": "Same"}, wire_job(name="Same", state="JOB_STATE_COMPLETE"), key)
    assert job.action is Action.UNCHANGED


def test_another_template_blocks_the_whole_job_as_immutable(key: bytes) -> None:
    job = plan_one({"templateId": "mine", "name": "New"}, wire_job(name="Old", templateId="theirs"), key)
    assert job.action is Action.BLOCKED
    assert job.calls == ()
    assert "immutable" in job.reason
    assert "'theirs'" in job.reason
    assert "'mine'" in job.reason


def test_another_template_blocks_even_without_other_differences(key: bytes) -> None:
    job = plan_one({"templateId": "mine", "name": "Same"}, wire_job(name="Same", templateId="theirs"), key)
    assert job.action is Action.BLOCKED
    assert "immutable" in job.reason


def test_another_template_on_a_started_job_is_blocked(key: bytes) -> None:
    job = plan_one(
        {"templateId": "mine", "name": "Same"},
        wire_job(name="Same", templateId="theirs", state="JOB_STATE_COMPLETE"),
        key,
    )
    assert job.action is Action.BLOCKED
    assert job.calls == ()
    assert "templateId" in job.reason


def test_the_same_template_is_no_difference(key: bytes) -> None:
    job = plan_one({"templateId": "tpl", "name": "Same"}, wire_job(name="Same", templateId="tpl"), key)
    assert job.action is Action.UNCHANGED


def test_a_missing_job_without_a_template_is_an_error(key: bytes) -> None:
    job = plan_one({"name": "New"}, None, key, job_id="gone-1")
    assert job.action is Action.ERROR
    assert job.reason.startswith("job gone-1 does not exist")
    assert job.calls == ()


def test_a_read_failure_is_an_error_with_its_reason(key: bytes) -> None:
    item = inputs({"name": "New"}, wire_job(name="Old"))
    job = planner.plan_job(plans.Inputs(item.desired, item.current, item.source, error="HTTP 500: boom"), key)
    assert (job.action, job.reason, job.calls) == (Action.ERROR, "HTTP 500: boom", ())


# --- calls: one per changed section, none for the others ----------------------------------------------------


def test_one_call_per_changed_section_in_api_order(key: bytes) -> None:
    spec = {"config": {"taskTimeout": 60}, "params": {"app": {"a": 2}, "assembler": {"b": 2}}, "name": "New"}
    server = wire_job(name="Old", params={"app": {"a": 1.0}, "assembler": {"b": 1.0}, "partitioner": {}})
    job = plan_one(spec, server, key)
    assert [call.section for call in job.calls] == ["jobname", "params", "configs"]


def test_no_call_for_a_section_whose_declared_units_match(key: bytes) -> None:
    spec = {
        "name": "Same",
        "dataSource": {"dataSourceDescriptor": "file"},
        "params": {"app": {"a": 2}},
        "config": {"taskTimeout": 60},
    }
    server = wire_job(
        name="Same",
        dataSource={"dataSourceDescriptor": "file", "params": {"tempUrl": "https://upload"}},
        params={"app": {"a": 1.0}},
        config={"taskTimeout": "60", "jobTimeout": "0", "isTestJob": False},
    )
    job = plan_one(spec, server, key)
    assert [(call.section, call.body) for call in job.calls] == [("params", {"app": {"a": 2}})]


def test_the_basis_holds_the_server_s_units_of_each_written_section(key: bytes) -> None:
    server = wire_job(params={"partitioner": {"n": 4.0}, "app": {"a": 1.0}}, name="Theirs")
    job = plan_one({"params": {"app": {"a": 2}}}, server, key)
    units = {unit: value for unit, value in job.basis.items() if unit in states.UNITS}
    assert units == {"params.partitioner": {"n": 4}, "params.assembler": None, "params.app": {"a": 1}}


def test_counts_and_flags_of_a_plan(key: bytes) -> None:
    plan = planner.build(
        [
            inputs({"name": "New"}, wire_job("a", name="Old"), job_id="a"),
            inputs({"name": "New", "config": {"jobTimeout": 9}}, wire_job("b", name="Old"), job_id="b"),
            inputs({"name": "Same"}, wire_job("c", name="Same"), job_id="c"),
            inputs({"name": "New"}, wire_job("d", state="JOB_STATE_STARTED"), job_id="d"),
            inputs({"name": "New"}, None, job_id="e"),
        ],
        key,
        plans.Requests(reads=5, writes=0, retries=1),
    )
    assert [job.job_id for job in plan.jobs] == ["a", "b", "c", "d", "e"]
    assert plan.counts == {Action.UPDATE: 2, Action.UNCHANGED: 1, Action.BLOCKED: 1, Action.ERROR: 1}
    assert plan.calls == 3
    assert (plan.has_changes, plan.has_blocked, plan.has_errors) == (True, True, True)
    assert plan.requests == plans.Requests(5, 0, 1)


def test_a_plan_with_nothing_to_do_has_no_flags(key: bytes) -> None:
    plan = planner.build([inputs({"name": "Same"}, wire_job(name="Same"))], key)
    assert (plan.has_changes, plan.has_blocked, plan.has_errors, plan.calls) == (False, False, False, 0)


# --- secrets ----------------------------------------------------------------------------------------------

SENTINEL = "SENTINEL"
ENVIRON = {
    "NAME": "SENTINEL-name-from-env",
    "SECRET_ID": "SENTINEL-secret-id",
    "ACCESS": "SENTINEL-access-key",
    "SECRET": "SENTINEL-secret-key",
    "DB_URL": "postgres://app:SENTINEL-db-password@db/app",
    "PASSWORD": "SENTINEL-url-password",
}
SECRET_SPEC = {
    "name": "${env:NAME}",
    "dataSource": {
        "dataSourceDescriptor": "aws",
        "params": {
            "name": "in.csv",
            "bucketName": "b",
            "cloudRegion": "r",
            "secret_id": "${env:SECRET_ID}",
            "accessKey": "${env:ACCESS}",
            "secretKey": "${env:SECRET}",
        },
    },
    "params": {"app": {"database": "${env:DB_URL}", "nested": [{"x": "${env:DB_URL}"}], "steps": 2}},
}
SECRET_SERVER = wire_job(
    name="Old name",
    dataSource=s3_wire(
        name="in.csv", bucketName="b", cloudRegion="r", secretId="SENTINEL-old-id", accessKey="SENTINEL-old-access"
    ),
    dataDestination=s3_wire(name="out/", bucketName="b", cloudRegion="r", secretKey="SENTINEL-undeclared-dest"),
    params={
        "partitioner": {"password": "SENTINEL-undeclared-partitioner"},
        "assembler": {"auth": {"apiKey": "SENTINEL-undeclared-assembler", "token": ["SENTINEL-in-list"]}},
        "app": {"database": "postgres://SENTINEL-old-db", "apiKey": "SENTINEL-removed", "steps": 1.0},
    },
)


def _everything_shown(plan: plans.Plan) -> str:
    out = io.StringIO()
    text.render_plan(plan, out)
    return "\n".join([repr(plan), json.dumps(document.plan_document(plan)), out.getvalue()])


def test_no_secret_appears_anywhere_in_a_plan(key: bytes) -> None:
    plan = planner.build([inputs(SECRET_SPEC, SECRET_SERVER, environ=ENVIRON)], key)
    job = plan.jobs[0]
    assert job.action is Action.UPDATE
    assert {call.section for call in job.calls} == {"jobname", "datasource", "params"}
    assert SENTINEL not in _everything_shown(plan)


def test_secrets_are_masked_in_the_plan_s_changes_calls_and_basis(key: bytes) -> None:
    job = planner.plan_job(inputs(SECRET_SPEC, SECRET_SERVER, environ=ENVIRON), key)
    assert SENTINEL not in repr(job.changes)
    assert SENTINEL not in repr(job.calls)
    assert SENTINEL not in repr(job.basis)
    changed = {change.dotted: change for change in job.changes}
    assert isinstance(changed["dataSource.params.secretId"].after, redaction.Sensitive)
    assert isinstance(changed["dataSource.params.secretKey"].after, redaction.Sensitive)
    assert isinstance(changed["params.app.database"].before, redaction.Sensitive)
    assert isinstance(changed["params.app.apiKey"].before, redaction.Sensitive)
    # What is not secret stays readable.
    assert (changed["params.app.steps"].before, changed["params.app.steps"].after) == (1, 2)


def test_a_name_from_the_environment_is_shown_as_a_fingerprint(key: bytes) -> None:
    job = planner.plan_job(inputs({"name": "${env:NAME}"}, wire_job(name="Old"), environ=ENVIRON), key)
    assert job.name is not None
    assert SENTINEL not in job.name
    assert SENTINEL not in repr(job)


def test_the_declared_units_keep_references_not_values(key: bytes) -> None:
    job = planner.plan_job(inputs(SECRET_SPEC, SECRET_SERVER, environ=ENVIRON), key)
    assert job.declared["params.app"]["database"] == "${env:DB_URL}"
    assert job.declared["dataSource"]["params"]["secretId"] == "${env:SECRET_ID}"


def test_literal_credentials_in_the_declared_units_are_masked(key: bytes) -> None:
    item = inputs({"params": {"app": {"apiKey": "x"}}}, wire_job())
    desired = states.Job("job-1", {"params.app": {"apiKey": "SENTINEL-literal"}})
    job = planner.plan_job(plans.Inputs(desired, item.current, item.source, declared=desired.units), key)
    assert SENTINEL not in repr(job)


@pytest.mark.parametrize(
    ("app", "server_app"),
    [
        ({"token": ["${env:PASSWORD}"]}, {"token": ["SENTINEL-kept", "SENTINEL-old-second-token"]}),
        ({"password": {"user": "app"}}, {"password": {"user": "app", "primary": "SENTINEL-old"}}),
        ({"apiKey": {"keep": "k", "v2": "${env:PASSWORD}"}}, {"apiKey": {"keep": "k", "v1": "SENTINEL-old"}}),
    ],
)
def test_values_below_a_credential_key_are_masked(key: bytes, app: dict[str, Any], server_app: dict[str, Any]) -> None:
    plan = planner.build([inputs({"params": {"app": app}}, wire_job(params={"app": server_app}), environ=ENVIRON)], key)
    assert plan.jobs[0].action is Action.UPDATE
    assert SENTINEL not in _everything_shown(plan)


def test_a_plan_built_without_declared_units_holds_no_resolved_secret(key: bytes) -> None:
    item = inputs({"params": {"app": {"database": "${env:DB_URL}"}}}, wire_job(), environ=ENVIRON)
    plan = planner.build([plans.Inputs(item.desired, item.current, item.source, sensitive=item.sensitive)], key)
    assert SENTINEL not in _everything_shown(plan)


# --- fingerprints -----------------------------------------------------------------------------------------


def _fingerprint_of_new_secret(secret: str, key: bytes) -> str:
    spec = {"params": {"app": {"token": "${env:TOKEN}"}}}
    job = planner.plan_job(inputs(spec, wire_job(), environ={"TOKEN": secret}), key)
    (change,) = job.changes
    assert change.dotted == "params.app"
    shown = change.after["token"]
    assert isinstance(shown, redaction.Sensitive)
    return shown.fingerprint


def test_fingerprints_differ_for_different_secrets(key: bytes) -> None:
    assert _fingerprint_of_new_secret("secret-one", key) != _fingerprint_of_new_secret("secret-two", key)


def test_fingerprints_are_stable_for_one_key(key: bytes) -> None:
    first = _fingerprint_of_new_secret("secret-one", key)
    again = _fingerprint_of_new_secret("secret-one", redaction.fingerprint_key("unit-test-api-key"))
    assert first == again
    assert len(first) == 12
    assert all(char in "0123456789abcdef" for char in first)


def test_another_fingerprint_key_gives_another_fingerprint(key: bytes) -> None:
    other = redaction.fingerprint_key("another-account-key")
    assert _fingerprint_of_new_secret("secret-one", key) != _fingerprint_of_new_secret("secret-one", other)


def test_a_changed_secret_shows_two_different_fingerprints(key: bytes) -> None:
    spec = {"params": {"app": {"token": "${env:TOKEN}"}}}
    job = planner.plan_job(inputs(spec, wire_job(params={"app": {"token": "old"}}), environ={"TOKEN": "new"}), key)
    (change,) = job.changes
    assert change.dotted == "params.app.token"
    assert isinstance(change.before, redaction.Sensitive)
    assert isinstance(change.after, redaction.Sensitive)
    assert change.before.fingerprint != change.after.fingerprint


def test_an_unchanged_secret_is_no_change(key: bytes) -> None:
    spec = {"params": {"app": {"token": "${env:TOKEN}"}}}
    job = planner.plan_job(inputs(spec, wire_job(params={"app": {"token": "same"}}), environ={"TOKEN": "same"}), key)
    assert job.action is Action.UNCHANGED


def test_a_drift_report_holds_differences_and_no_call(key: bytes) -> None:
    """A launch is no drift (the fields match), and no job of a drift report carries a call or declared values."""
    launch = planner.plan_job(replace(inputs({"name": "Same"}, wire_job(name="Same")), run=True), key)
    update = plan_one({"name": "New"}, wire_job(name="Old"), key, job_id="job-2")
    assert (launch.action, update.action) == (Action.LAUNCH, Action.UPDATE)
    report = plans.drift(plans.Plan((launch, update)))
    assert [job.action for job in report.jobs] == [Action.UNCHANGED, Action.UPDATE]
    assert [job.calls for job in report.jobs] == [(), ()]
    assert report.jobs[1].changes == update.changes
    assert report.jobs[1].declared == {}
    assert report.calls == 0
