"""The ownership marker is read strictly: a claim that is not certain is no claim, so prune never acts on it."""

from __future__ import annotations

import pytest

from reconciler.planning import markers


def test_the_marker_line_written_is_read_back() -> None:
    marker = markers.Marker("key", "team/nightly-report", 3)
    assert markers.read(markers.describe("Rows for the meeting", marker)) == marker


@pytest.mark.parametrize(
    "description",
    [
        "managed-by: reconciler; key=a; generation=0\nmanaged-by: reconciler; key=b; generation=0",
        "managed-by: reconciler; key=a\nmanaged-by: reconciler; key=b; generation=0; generation=0",
        "managed-by: reconciler; key=a b; generation=0",
        "managed-by: reconciler; key=a;b; generation=0",
        "managed-by: reconciler; key=a; generation=-1",
        "managed-by: reconciler; key=a; generation=0 ",
        "managed-by: reconciler; key=a#1; generation=0",
        "managed-by: reconciler;key=a;generation=0",
        "",
    ],
)
def test_a_marker_that_is_not_certain_is_no_marker(description: str) -> None:
    assert markers.read(description) is None


def test_a_root_and_an_environment_are_read_back() -> None:
    marker = markers.Marker("key", "ml/train", 2, root="jobs/ml", env="prod")
    line = "managed-by: reconciler; key=ml/train; generation=2; env=prod; root=jobs/ml"
    assert marker.line() == line
    assert markers.read("Nightly\n" + line) == marker


@pytest.mark.parametrize(
    "root",
    ["jobs/../cv", "jobs//ml", "jobs/./ml", "jobs ml", "jobs;ml", "", "jobs/ml ", "jobs/ml/"],
)
def test_a_root_that_could_name_another_folder_is_no_marker(root: str) -> None:
    assert markers.read(f"managed-by: reconciler; key=a; generation=0; root={root}") is None


@pytest.mark.parametrize(
    ("marker", "standing"),
    [
        (markers.Marker("key", "a", root="jobs/ml"), markers.Standing.OWN),
        (markers.Marker("key", "a", root="jobs/ml/vision"), markers.Standing.OWN),
        (markers.Marker("key", "a", root="jobs/ml-old"), markers.Standing.OTHER),
        (markers.Marker("key", "a", root="jobs/cv"), markers.Standing.OTHER),
        (markers.Marker("key", "a", root="jobs"), markers.Standing.WIDER),
        (markers.Marker("key", "a", root="."), markers.Standing.WIDER),
        (markers.Marker("key", "a"), markers.Standing.WIDER),  # written before roots: the anchor
        (markers.Marker("key", "a", root="/elsewhere/jobs/ml"), markers.Standing.OTHER),
        (markers.Marker("key", "a", root="jobs/ml", env="prod"), markers.Standing.OTHER),
    ],
)
def test_a_run_judges_only_what_its_roots_created(marker: markers.Marker, standing: markers.Standing) -> None:
    assert markers.Scope.of(["jobs/ml"]).standing(marker) is standing


def test_a_run_from_the_anchor_judges_every_relative_root_and_the_old_markers() -> None:
    scope = markers.Scope.of(["."])
    assert scope.standing(markers.Marker("key", "a")) is markers.Standing.OWN
    assert scope.standing(markers.Marker("key", "a", root="jobs/cv")) is markers.Standing.OWN
    assert scope.standing(markers.Marker("key", "a", root="/tmp/jobs")) is markers.Standing.OTHER
    assert markers.Scope.of(["jobs"], "dev").standing(markers.Marker("key", "a", root="jobs")) is markers.Standing.OTHER
