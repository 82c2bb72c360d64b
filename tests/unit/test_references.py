"""``${env:NAME}`` references: found in desired state, resolved where a value is needed, marked sensitive."""

from __future__ import annotations

from reconciler.planning import references, states

from .helpers import desired

JOB = states.Job(
    "job-1",
    {
        "name": "${env:JOB_NAME}",
        "dataSource": {"dataSourceDescriptor": "aws", "params": {"secretId": "${env:SECRET_ID}", "name": "in.csv"}},
        "params.app": {"db": "${env:DB}", "hosts": ["a", "${env:HOST_B}"], "plain": "Bearer x", "n": 3},
        "config.taskTimeout": 600,
    },
    template_id="tpl",
    description="about",
)
ENVIRON = {"JOB_NAME": "Resolved name", "SECRET_ID": "sid-1", "DB": "postgres://db", "HOST_B": "b.example"}


def test_find_lists_every_reference_with_its_path() -> None:
    assert sorted(references.find(JOB.units), key=str) == sorted(
        [
            (("name",), "JOB_NAME"),
            (("dataSource", "params", "secretId"), "SECRET_ID"),
            (("params", "app", "db"), "DB"),
            (("params", "app", "hosts", 1), "HOST_B"),
        ],
        key=str,
    )


def test_only_a_whole_value_is_a_reference() -> None:
    units = {"params.app": {"a": "Bearer ${env:X}", "b": "${env:X} ", "c": "${ENV:X}", "d": "${env:1X}", "e": "$env:X"}}
    assert list(references.find(units)) == []


def test_resolve_substitutes_every_reference() -> None:
    resolved, missing = references.resolve(JOB, ENVIRON)
    assert missing == []
    assert resolved.units == {
        "name": "Resolved name",
        "dataSource": {"dataSourceDescriptor": "aws", "params": {"secretId": "sid-1", "name": "in.csv"}},
        "params.app": {"db": "postgres://db", "hosts": ["a", "b.example"], "plain": "Bearer x", "n": 3},
        "config.taskTimeout": 600,
    }
    assert (resolved.id, resolved.template_id, resolved.description) == ("job-1", "tpl", "about")


def test_resolve_leaves_the_original_untouched() -> None:
    references.resolve(JOB, ENVIRON)
    assert JOB.units["params.app"]["db"] == "${env:DB}"


def test_an_empty_variable_is_refused_unless_the_reference_opts_in() -> None:
    # CI systems set a missing secret to "": sending it would wipe the stored value.
    _, missing = references.resolve(states.Job("j", {"name": "${env:N}"}), {"N": ""})
    assert [(item.variable, item.reason.split(";")[0]) for item in missing] == [("N", "is empty")]
    resolved, missing = references.resolve(states.Job("j", {"name": "${env:N:-}"}), {"N": ""})
    assert (resolved.units["name"], missing) == ("", [])
    _, missing = references.resolve(states.Job("j", {"name": "${env:N:-}"}), {})
    assert [item.reason for item in missing] == ["is not set"]  # the opt-in is for empty, not for unset


def test_the_tools_own_settings_cannot_be_referenced() -> None:
    job = states.Job("j", {"params.app": {"prompt": "${env:BYTENITE_API_KEY}"}})
    _, missing = references.resolve(job, {"BYTENITE_API_KEY": "key"})
    assert [item.variable for item in missing] == ["BYTENITE_API_KEY"]


def test_missing_variables_are_reported_with_their_paths() -> None:
    resolved, missing = references.resolve(JOB, {"JOB_NAME": "x", "DB": "y"})
    assert sorted(missing, key=str) == sorted(
        [
            references.Unresolved(("dataSource", "params", "secretId"), "SECRET_ID"),
            references.Unresolved(("params", "app", "hosts", 1), "HOST_B"),
        ],
        key=str,
    )
    assert resolved.units == JOB.units  # nothing half-resolved is handed on


def test_a_variable_used_twice_is_reported_at_each_place() -> None:
    job = states.Job("j", {"params.app": {"a": "${env:X}", "b": ["${env:X}"]}})
    _, missing = references.resolve(job, {})
    assert sorted(item.path for item in missing) == [("params", "app", "a"), ("params", "app", "b", 0)]
    assert {item.variable for item in missing} == {"X"}


def test_a_job_without_references_is_unchanged() -> None:
    job = states.Job("j", {"name": "plain", "params.app": {"a": 1}})
    resolved, missing = references.resolve(job, {})
    assert (resolved, missing) == (job, [])


def test_sensitive_paths_are_the_paths_of_references() -> None:
    assert references.sensitive_paths(JOB) == frozenset(
        {("name",), ("dataSource", "params", "secretId"), ("params", "app", "db"), ("params", "app", "hosts", 1)}
    )


def test_a_proto_spelling_reference_is_found_at_the_camel_case_path() -> None:
    job = desired(
        {
            "dataSource": {
                "dataSourceDescriptor": "s3",
                "params": {"name": "n", "bucket_name": "b", "cloudRegion": "r", "secret_id": "${env:SECRET_ID}"},
            }
        }
    )
    assert references.sensitive_paths(job) == frozenset({("dataSource", "params", "secretId")})
