"""Root labels name a path the same way from any working directory, so a marker written in CI matches a laptop's."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.desired import roots
from reconciler.planning import markers


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
