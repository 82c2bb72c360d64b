"""The loader builds the same data as ruamel.yaml's own safe loader, for every input: the fast path for plain
documents and ruamel's constructor for the rest must be indistinguishable, errors included."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler import errors
from reconciler.desired import limits, loading, yamlparser


def reference(text: str) -> list[Any]:
    """ruamel's own answer: its safe loader, YAML 1.2, duplicate keys refused."""
    yaml = YAML(typ="safe", pure=False)
    return [data for data in yaml.load_all(text) if data is not None]


def ours(tmp_path: Path, text: str) -> list[Any]:
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    documents, problems = loading.load([str(path)])
    if problems:
        raise errors.ManifestErrors(problems)
    return [document.data for document in documents]


def same(left: Any, right: Any) -> bool:
    """Equal, type for type (True is not 1 here), NaN equal to NaN."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    if isinstance(left, dict):
        return list(left) == list(right) and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


PLAIN_SCALARS = [
    "plain",
    "'quoted'",
    '"double\\tquoted"',
    "0o17",
    "0x1F",
    "1_000",
    "+12",
    "-0",
    "012",
    "1.5e3",
    ".inf",
    "-.inf",
    ".nan",
    "1e400",
    "true",
    "False",
    "yes",
    "off",
    "null",
    "~",
    "",
    "2026-12-02",
    "12:30:00",
    "0b101",
    "'123'",
    "!!str 123",
    "!!int '7'",
    "!!float 1",
    "!!binary aGVsbG8=",
    "2001-12-14t21:59:43.10-05:00",
]


@pytest.mark.parametrize("scalar", PLAIN_SCALARS)
def test_each_scalar_loads_as_ruamel_loads_it(scalar: str, tmp_path: Path) -> None:
    text = f"value: {scalar}\nlist:\n  - {scalar}\n  - {scalar}\n"
    assert same(ours(tmp_path, text), reference(text))


FEATURES = {
    "aliased mapping is shared": "base: &b {x: 1}\nfirst: *b\nsecond: *b\n",
    "aliased sequence is shared": "a: &l [1, 2]\nb: *l\n",
    "aliased scalar": "a: &s text\nb: *s\n",
    "merge key": "base: &b {x: 1, y: 2}\nmerged:\n  <<: *b\n  y: 3\n",
    "merge of a list": "a: &a {x: 1}\nb: &b {y: 2}\nc: {<<: [*a, *b], z: 3}\n",
    "set": "s: !!set {a, b}\n",
    "omap": "o: !!omap [{a: 1}, {b: 2}]\n",
    "pairs": "p: !!pairs [{a: 1}, {a: 2}]\n",
    "complex key": "? [a, b]\n: value\n",
    "explicit map tag": "m: !!map {a: 1}\n",
    "explicit seq tag": "s: !!seq [1]\n",
    "scalar keys": "2: two\n2.5: two and a half\nnull: nothing\ntrue: yes\n",
    "nested": "a:\n  b:\n    - c: [1, {d: e}]\n      f: ~\n",
    "several documents": "a: 1\n---\nb: 2\n---\n",
    "empty document": "---\n...\n",
    "bare scalar document": "just text\n",
    "bare list document": "- 1\n- two\n",
}


@pytest.mark.parametrize("text", FEATURES.values(), ids=FEATURES.keys())
def test_documents_using_any_feature_load_as_ruamel_loads_them(text: str, tmp_path: Path) -> None:
    assert same(ours(tmp_path, text), reference(text))


def test_an_aliased_collection_stays_one_object(tmp_path: Path) -> None:
    # Copying it instead would let a few lines of aliases expand into an enormous tree.
    [data] = ours(tmp_path, FEATURES["aliased mapping is shared"])
    assert data["first"] is data["second"] is data["base"]


ERRORS = {
    "duplicate key": ("a: 1\nb: 2\na: 3\n", 'found duplicate key "a"', 3, 1),
    "duplicate after conversion": ("{1: a, 1.0: b}\n", "found duplicate key", 1, 8),
    "alias inside itself": ("a: &a [*a]\n", "aliases expand to over", 1, 1),
    "duplicate nested": ("a:\n  x: 1\n  x: 2\n", 'found duplicate key "x"', 3, 3),
    "unknown tag": ("a: !custom value\n", "tags that construct objects are not allowed", 1, 4),
    "python tag": ("a: !!python/object:os.system {}\n", "tags that construct objects are not allowed", 1, 4),
    "unknown tag on a mapping": ("a: !thing {x: 1}\n", "tags that construct objects are not allowed", 1, 4),
}


@pytest.mark.parametrize(("text", "message", "line", "column"), ERRORS.values(), ids=ERRORS.keys())
def test_what_the_loader_refuses_is_refused_at_its_position(
    text: str, message: str, line: int, column: int, tmp_path: Path
) -> None:
    with pytest.raises(errors.ManifestErrors) as raised:
        ours(tmp_path, text)
    [problem] = raised.value.problems
    assert message in problem.message
    assert (problem.position.line, problem.position.column) == (line, column)


def test_the_pure_python_loader_builds_the_same_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Where ruamel has no C extension, documents go through its own API under the same interface.
    text = "a: 1\nb: [x, {c: .inf}]\n---\nbase: &b {x: 1}\nm: {<<: *b, y: 2}\n"
    monkeypatch.setattr(yamlparser, "loader_class", lambda: yamlparser._PureLoader)
    assert same(ours(tmp_path, text), reference(text))


# Generated documents ------------------------------------------------------------------------------------------------

KEYS = st.one_of(
    st.text(min_size=1, max_size=12), st.integers(-(2**40), 2**40), st.sampled_from(["yes", "no", "null", "1e3"])
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["0o17", "1_000", "~", ".inf", "true", "2026-12-02", "<<", "=", "!x", "& a", "* b", "- c"]),
)
DATA = st.recursive(
    LEAVES,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)),
    max_leaves=20,
)


@given(data=DATA, flow=st.sampled_from([None, True, False]))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_generated_documents_load_as_ruamel_loads_them(data: Any, flow: bool | None, tmp_path: Path) -> None:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = flow
    buffer = io.StringIO()
    yaml.dump({"document": data}, buffer)
    text = buffer.getvalue()
    try:
        expected = reference(text)
    except Exception:  # ruamel's dumper writes a few things its loader refuses
        with pytest.raises(errors.ManifestErrors):
            ours(tmp_path, text)
        return
    assert same(ours(tmp_path, text), expected), text


def test_plain_documents_take_the_fast_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A manifest of mappings, sequences and plain scalars is built without ruamel's constructor.
    def refuse(*_: Any) -> Any:
        raise AssertionError("ruamel's constructor was used")

    class Spy(yamlparser.loader_class()):  # type: ignore[misc]
        construct_document = refuse

    monkeypatch.setattr(yamlparser, "loader_class", lambda: Spy)
    text = "apiVersion: v1\nspec:\n  params: {app: {n: 1, x: 1.5, ok: true, none: ~}}\n  list: [a, 2]\n"
    assert same(ours(tmp_path, text), reference(text))


# What the fast path must not change: the bounds on what a small file can expand to ----------------------------------


def test_aliases_of_a_long_scalar_are_refused_as_before(tmp_path: Path) -> None:
    # Building the scalar again at each alias would turn this 60 KB file into gigabytes of integers.
    text = "a: &x 0x" + "f" * 40_000 + "\nb: [" + "*x, " * 110_000 + "*x]\n"
    with pytest.raises(errors.ManifestErrors) as raised:
        ours(tmp_path, text)
    assert "aliases expand to over 100000 values" in raised.value.problems[0].message


def test_an_aliased_scalar_is_one_object(tmp_path: Path) -> None:
    [data] = ours(tmp_path, "a: &x 12345678901234567890\nb: *x\n")
    assert data["a"] is data["b"]


def test_a_document_of_more_values_than_the_limit_is_refused_as_before(tmp_path: Path) -> None:
    text = "a: [" + "0, " * (limits.MAX_EXPANDED_NODES + 5) + "0]\n"
    with pytest.raises(errors.ManifestErrors) as raised:
        ours(tmp_path, text)
    assert "over 100000 values" in raised.value.problems[0].message


def test_a_value_its_tag_does_not_fit_is_reported_as_ruamel_reports_the_document(tmp_path: Path) -> None:
    # ruamel finds the duplicate key first; converting the bad integer first would report it without a position.
    with pytest.raises(errors.ManifestErrors) as raised:
        ours(tmp_path, "a:\n  b: !!int zz\na: 1\n")
    [problem] = raised.value.problems
    assert 'found duplicate key "a"' in problem.message
    assert (problem.position.line, problem.position.column) == (3, 1)


@pytest.mark.parametrize("pure", [False, True], ids=["C loader", "pure Python loader"])
def test_a_file_that_fails_half_way_leaves_nothing_for_the_next(
    pure: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if pure:
        monkeypatch.setattr(yamlparser, "loader_class", lambda: yamlparser._PureLoader)
    (tmp_path / "a1.yaml").write_text("a: !!set {x}\nb:\n  c: !!int zz\nb: 1\n", encoding="utf-8")
    (tmp_path / "a2.yaml").write_text("x: !!set {y}\n", encoding="utf-8")
    documents, problems = loading.load([str(tmp_path)])
    assert [document.data for document in documents] == [{"x": {"y"}}]
    assert [Path(problem.position.file).name for problem in problems] == ["a1.yaml"]
