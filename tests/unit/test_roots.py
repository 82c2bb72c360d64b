"""Root labels name a path the same way from any working directory, so a marker written in CI matches a laptop's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.desired import roots
from reconciler.planning import markers

from .helpers import PROPERTY


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "jobs" / "ml").mkdir(parents=True)
    (tmp_path / "jobs" / "ml" / "train.yaml").write_text("")
    return tmp_path


def test_a_path_is_named_from_the_repository_top_whatever_the_working_directory(
    repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repository)
    assert roots.label("jobs/ml") == "jobs/ml"
    assert roots.label("./jobs/ml/") == "jobs/ml"
    assert roots.label(".") == markers.ANCHOR
    monkeypatch.chdir(repository / "jobs")
    assert roots.label("ml") == "jobs/ml"
    assert roots.label("ml/train.yaml") == "jobs/ml/train.yaml"
    assert roots.label("..") == markers.ANCHOR


def test_outside_any_repository_a_path_is_named_absolutely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "jobs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert roots.label("jobs") == f"{tmp_path}/jobs"


def test_characters_a_marker_cannot_hold_are_quoted(repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = repository / "team a;b"
    folder.mkdir()
    monkeypatch.chdir(repository)
    text = roots.label("team a;b")
    assert text == "team%20a%3Bb"
    assert markers.read(markers.Marker("key", "k", root=text).line()) == markers.Marker("key", "k", root=text)


def test_a_file_counts_under_the_first_path_that_holds_it(repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repository)
    paths = ["jobs/ml", "jobs"]
    given = [roots.label(path) for path in paths]
    root_of = roots.finder(paths, given)
    assert root_of("jobs/ml/train.yaml") == "jobs/ml"
    assert root_of(str(repository / "jobs" / "other.yaml")) == "jobs"


FILES = ["a/b/j.yaml", "a/bc/j.yaml", "a/bcd.yaml", "a/j.yaml", "/tmp/x/y/j.yaml", "/tmp/xy.yaml", "b/c/d.yaml"]
ARGUMENTS = ["a", "a/b", "a/bc", "/", "/tmp/x", "./a/../a/b", "b//c"]


@given(arguments=st.lists(st.sampled_from(ARGUMENTS), min_size=1, max_size=3), file=st.sampled_from(FILES))
@PROPERTY
def test_the_root_of_a_file_is_the_first_argument_holding_it_as_paths_hold_it(arguments: list[str], file: str) -> None:
    # Compared as strings for speed: the answer must be Path.is_relative_to's, at a separator ("a/bc" is not in "a/b").
    labels = [f"label-{index}" for index in range(len(arguments))]
    target = Path(os.path.abspath(file))
    pairs = zip(arguments, labels, strict=True)
    holding = [name for root, name in pairs if target.is_relative_to(os.path.abspath(root))]
    assert roots.finder(arguments, labels)(file) == (holding[0] if holding else labels[0])
