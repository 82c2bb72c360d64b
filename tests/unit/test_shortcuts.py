"""The shortcuts taken for speed answer exactly as the full walks they skip, for every input.

Each shortcut decides, cheaply, that a walk would find nothing (no problem in a spec, no reference in a job,
nothing to mask in a job); each is checked here against that walk on generated values, the awkward ones
(credential keys, ``$`` and ``@`` in strings, nulls, huge integers, non-finite floats, bools beside ints)
drawn often.
"""

from __future__ import annotations

import math
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reconciler.desired import checks, limits
from reconciler.planning import diffs, masking, names, redaction, references, states

from .helpers import PROPERTY

KEYS = st.sampled_from(["name", "params", "app", "token", "Pass_Word", "secretId", "url", "steps", "x"])
STRINGS = st.sampled_from(
    ["", "plain", "${env:A}", "${env:BYTENITE_X}", "Bearer ${env:A}", "${var:v}", "https://u:p@h/x", "a@b", "$"]
) | st.text(max_size=4)
SCALARS = (
    STRINGS
    | st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.sampled_from([0.0, 1.0, 1.5, -2.0, math.inf, -math.inf, math.nan, 2.0**60])
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3), max_leaves=12
)
# What YAML may give validation: keys that are not strings too.
PARSED = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS | st.integers(0, 2), inner, max_size=3),
    max_leaves=12,
)
PATHS = st.lists(KEYS | st.integers(0, 2), max_size=3).map(tuple)


@given(spec=st.dictionaries(KEYS, PARSED, max_size=4), variables=st.booleans())
@PROPERTY
def test_a_spec_that_is_not_suspect_has_no_problem(spec: dict[Any, Any], variables: bool) -> None:
    found = list(checks.check(spec, ("spec",), credential=None, variables=variables))
    if not checks.suspect(spec, 1, params=False, credential=False):
        assert found == []


def test_the_suspicion_reaches_a_struct_number_only_inside_params() -> None:
    # A number past 2^53 is refused in a params Struct (it would change as a double), and only there.
    assert checks.suspect({"params": {"app": {"n": 2**60}}}, 1, params=False, credential=False)
    assert not checks.suspect({"config": {"jobTimeout": 2**60}}, 1, params=False, credential=False)
    assert list(checks.check({"params": {"app": {"n": 2**60}}}, ("spec",), credential=None, variables=True))


@given(units=st.dictionaries(st.sampled_from(states.UNITS), VALUES, max_size=4), template=st.none() | STRINGS)
@PROPERTY
def test_a_job_that_cannot_refer_has_no_reference(units: dict[str, Any], template: str | None) -> None:
    job = states.Job("job-1", units, template_id=template)
    if not references.may_refer(job):
        assert list(references.find(job.units, job.template_id)) == []
        assert references.resolve(job, {}) == (job, [])


def _leaves_reference(value: Any, path: redaction.Path, sensitive: frozenset[redaction.Path]) -> list[str]:
    """The secret strings, found the plain way: every string under a credential key or a sensitive path, and
    every URL with a password."""
    if (path and redaction.is_credential(path[-1])) or path in sensitive:
        return _all_strings(value)
    if isinstance(value, dict):
        return [leaf for name, item in value.items() for leaf in _leaves_reference(item, (*path, name), sensitive)]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _leaves_reference(item, (*path, index), sensitive)]
    return [value] if isinstance(value, str) and names.has_userinfo(value) else []


def _all_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _all_strings(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _all_strings(item)]
    return []


@given(value=VALUES, path=PATHS, sensitive=st.frozensets(PATHS, max_size=2))
@PROPERTY
def test_the_one_secret_walk_finds_what_the_plain_walk_finds(
    value: Any, path: redaction.Path, sensitive: frozenset[redaction.Path]
) -> None:
    assert sorted(redaction.secret_leaves(value, path, sensitive)) == sorted(_leaves_reference(value, path, sensitive))


@given(
    desired=st.dictionaries(st.sampled_from(states.UNITS), VALUES, max_size=3),
    current=st.dictionaries(st.sampled_from(states.UNITS), VALUES, max_size=3),
    sensitive=st.frozensets(PATHS, max_size=2),
)
@PROPERTY
def test_a_job_whose_mask_is_not_needed_shows_exactly_what_masking_shows(
    desired: dict[str, Any], current: dict[str, Any], sensitive: frozenset[redaction.Path]
) -> None:
    ours, theirs = states.Job("job-1", desired, template_id="t"), states.Job("job-1", current, template_id="t")
    key = b"k" * 32
    shortcut = masking.Mask.of(ours, theirs, sensitive, key)
    full = masking.Mask(shortcut.sensitive, key, shortcut.secrets, needed=True)
    for job in (ours, theirs):
        assert _same(shortcut.units(job).units, full.units(job).units)
        assert shortcut.name(job) == full.name(job)
    for change in (diffs.Change(states.unit_path(unit), diffs.ABSENT, value) for unit, value in desired.items()):
        assert _same(shortcut.change(change).after, full.change(change).after)
    assert _same(shortcut.declared(desired), full.declared(desired))
    if not shortcut.needed:
        assert not shortcut.secrets


def _same(left: Any, right: Any) -> bool:
    """Equal, NaN equal to NaN, kinds kept apart (a masked value is never equal to its plain one)."""
    return states.equal(_nan_free(left), _nan_free(right))


def _nan_free(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {key: _nan_free(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nan_free(item) for item in value]
    return value


@given(left=VALUES, right=VALUES)
@PROPERTY
def test_equality_of_one_kind_answers_as_equality_of_any_kinds(left: Any, right: Any) -> None:
    assert states.equal(left, right) == states._equal_kinds(left, right)
    assert states.equal(left, left) == states._equal_kinds(left, left)


@given(value=VALUES)
@PROPERTY
def test_integral_floats_turns_integral_doubles_into_ints_and_nothing_else(value: Any) -> None:
    def reference(item: Any) -> Any:
        if isinstance(item, float) and math.isfinite(item) and item.is_integer():
            return int(item)
        if isinstance(item, dict):
            return {key: reference(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [reference(inner) for inner in item]
        return item

    assert _same(states.integral_floats(value), reference(value))


DIGITISH = st.text(alphabet=st.sampled_from("0123456789 x-\n٣½²"), max_size=120) | st.text(max_size=60)


@PROPERTY
@given(st.lists(DIGITISH, max_size=4).map("".join), st.integers(0, 3))
def test_the_long_number_search_finds_what_the_pattern_finds(text: str, runs: int) -> None:
    text = text + "7" * (limits.MAX_DIGITS - 2 + runs) + text  # runs around the limit, often
    pattern = re.compile(rf"[0-9]{{{limits.MAX_DIGITS},}}")
    assert limits.has_long_number(text) == (pattern.search(text) is not None)
