"""Field-level changes: kinds, nested paths, and only the units a manifest declares."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.planning import diffs, states

from .helpers import PROPERTY, S3_TYPE, s3_wire, wire_job

ABSENT = diffs.ABSENT


def job(**units: Any) -> states.Job:
    """A desired job: keyword ``params__app`` is the unit ``params.app``."""
    return states.Job("job-1", {name.replace("__", "."): value for name, value in units.items()})


def current(**fields: Any) -> states.Job:
    return states.from_api(wire_job(**fields))


def summary(changes: tuple[diffs.Change, ...]) -> list[tuple[str, str, Any, Any]]:
    return [(change.kind, change.dotted, change.before, change.after) for change in changes]


# --- kinds ------------------------------------------------------------------------------------------------


def test_a_unit_the_server_lacks_is_added() -> None:
    changes = diffs.diff(job(name="New"), current())
    assert summary(changes) == [("add", "name", ABSENT, "New")]


def test_a_unit_declared_unset_is_removed() -> None:
    changes = diffs.diff(job(params__app=None), current(params={"app": {"steps": 30.0}}))
    assert summary(changes) == [("remove", "params.app", {"steps": 30}, ABSENT)]


def test_a_different_value_is_changed() -> None:
    changes = diffs.diff(job(config__taskTimeout=600), current(config={"taskTimeout": "3600"}))
    assert summary(changes) == [("change", "config.taskTimeout", 3600, 600)]


def test_keys_added_and_removed_inside_a_struct() -> None:
    wanted = job(params__app={"keep": 1, "mode": "fast"})
    changes = diffs.diff(wanted, current(params={"app": {"keep": 1.0, "old": True}}))
    assert summary(changes) == [
        ("add", "params.app.mode", ABSENT, "fast"),
        ("remove", "params.app.old", True, ABSENT),
    ]


# --- nested paths -----------------------------------------------------------------------------------------


def test_a_list_item_is_addressed_by_its_index() -> None:
    changes = diffs.diff(job(params__app={"sizes": [1, 2, 3]}), current(params={"app": {"sizes": [1.0, 5.0, 3.0]}}))
    assert summary(changes) == [("change", "params.app.sizes[1]", 5, 2)]
    assert changes[0].path == ("params", "app", "sizes", 1)


def test_a_field_of_a_list_item() -> None:
    wanted = job(params__app={"sizes": [{"w": 1}, {"w": 3, "h": 2}]})
    changes = diffs.diff(wanted, current(params={"app": {"sizes": [{"w": 1}, {"w": 2, "h": 2}]}}))
    assert summary(changes) == [("change", "params.app.sizes[1].w", 2, 3)]


def test_an_item_appended_to_a_list() -> None:
    changes = diffs.diff(job(params__app={"l": [1, 2, 3]}), current(params={"app": {"l": [1, 2]}}))
    assert summary(changes) == [("add", "params.app.l[2]", ABSENT, 3)]


def test_a_field_of_a_data_source() -> None:
    wanted = job(
        dataSource={
            "dataSourceDescriptor": "aws",
            "params": {"@type": S3_TYPE, "name": "in.csv", "bucketName": "new", "cloudRegion": "r", "secretId": "s"},
        }
    )
    changes = diffs.diff(
        wanted, current(dataSource=s3_wire(name="in.csv", bucketName="old", cloudRegion="r", secretId="s"))
    )
    assert summary(changes) == [("change", "dataSource.params.bucketName", "old", "new")]
    assert changes[0].unit == "dataSource"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("name",), "name"),
        (("params", "app", "sizes", 0), "params.app.sizes[0]"),
        (("params", "app", "m", 2, "k", 0, 1), "params.app.m[2].k[0][1]"),
        (("config", "taskTimeout"), "config.taskTimeout"),
    ],
)
def test_dotted_paths(path: tuple[str | int, ...], text: str) -> None:
    assert diffs.dotted(path) == text


@pytest.mark.parametrize(
    ("path", "unit"),
    [
        (("name",), "name"),
        (("params", "app", "sizes", 1), "params.app"),
        (("params", "partitioner"), "params.partitioner"),
        (("config", "isTestJob"), "config.isTestJob"),
        (("dataDestination", "params", "name"), "dataDestination"),
    ],
)
def test_a_change_names_its_unit(path: tuple[str | int, ...], unit: str) -> None:
    assert diffs.Change(path, 1, 2).unit == unit


# --- only declared units ----------------------------------------------------------------------------------


def test_undeclared_units_never_appear() -> None:
    server = current(
        name="Theirs",
        params={"partitioner": {"num_replicas": 8.0}, "assembler": {"format": "zip"}, "app": {"steps": 30.0}},
        config={"taskTimeout": "100", "jobTimeout": "200", "isTestJob": True},
        dataSource=s3_wire(name="x", bucketName="b", cloudRegion="r", secretId="s"),
    )
    wanted = job(params__app={"steps": 31})
    changes = diffs.diff(wanted, server)
    assert summary(changes) == [("change", "params.app.steps", 30, 31)]
    assert diffs.changed_units(wanted, server) == ["params.app"]


def test_a_job_declaring_nothing_has_no_changes() -> None:
    server = current(name="Theirs", config={"taskTimeout": "100", "jobTimeout": "0", "isTestJob": True})
    assert diffs.diff(job(), server) == ()
    assert diffs.changed_units(job(), server) == []


def test_changed_units_lists_each_declared_unit_that_differs() -> None:
    wanted = job(name="Same", params__app={"a": 1}, params__assembler={"b": 1}, config__jobTimeout=60)
    server = current(name="Same", params={"app": {"a": 2.0}, "assembler": {"b": 1.0}}, config={"jobTimeout": "30"})
    assert sorted(diffs.changed_units(wanted, server)) == ["config.jobTimeout", "params.app"]


def test_changes_come_in_unit_order() -> None:
    wanted = job(config__taskTimeout=5, params__app={"a": 1}, name="N")
    units = [change.unit for change in diffs.diff(wanted, current())]
    assert units == ["name", "params.app", "config.taskTimeout"]


# --- kinds of JSON values ---------------------------------------------------------------------------------


def test_a_bool_replaced_by_an_int_is_a_change() -> None:
    changes = diffs.diff(job(params__app={"flag": 1}), current(params={"app": {"flag": True}}))
    assert summary(changes) == [("change", "params.app.flag", True, 1)]
    assert changes[0].before is True


def test_a_string_replaced_by_a_number_is_a_change() -> None:
    changes = diffs.diff(job(params__app={"n": "1"}), current(params={"app": {"n": 1.0}}))
    assert summary(changes) == [("change", "params.app.n", 1, "1")]


def test_is_test_job_true_against_the_emitted_false() -> None:
    changes = diffs.diff(job(config__isTestJob=True), current())
    assert summary(changes) == [("change", "config.isTestJob", False, True)]


def test_an_integral_double_is_no_change() -> None:
    assert (
        diffs.diff(job(params__app={"steps": 30, "ratio": 7.5}), current(params={"app": {"steps": 30.0, "ratio": 7.5}}))
        == ()
    )


# --- properties -------------------------------------------------------------------------------------------

KEYS = st.sampled_from(["a", "b", "c", "num_replicas", "0", "", "a.b", "[0]"])
SCALARS = (
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.5, -1.5]) | st.sampled_from(["", "1", "x"])
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3), max_leaves=10
)
STRUCTS = st.none() | st.dictionaries(KEYS, VALUES, max_size=4).map(states.normalise_struct)


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        found = (isinstance(value, dict) and part in value) or (
            isinstance(value, list) and isinstance(part, int) and part < len(value)
        )
        if not found:
            return ABSENT
        value = value[part]
    return value


@PROPERTY
@given(STRUCTS, STRUCTS)
def test_each_change_holds_the_values_found_at_its_path(before: Any, after: Any) -> None:
    wanted, server = job(params__app=after), states.Job("job-1", {"params.app": before})
    changes = diffs.diff(wanted, server)
    assert bool(changes) == (not states.equal(after, before))
    assert bool(changes) == bool(diffs.changed_units(wanted, server))
    for change in changes:
        assert change.path[:2] == ("params", "app")
        whole_before = {"params": {"app": before}} if before is not None else {}
        whole_after = {"params": {"app": after}} if after is not None else {}
        found_before, found_after = _at(whole_before, change.path), _at(whole_after, change.path)
        if change.before is ABSENT:
            assert found_before is ABSENT
        else:
            assert states.equal(found_before, change.before)
        if change.after is ABSENT:
            assert found_after is ABSENT
        else:
            assert states.equal(found_after, change.after)
