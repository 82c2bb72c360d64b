"""The ownership marker is read strictly: a claim that is not certain is no claim, so prune never acts on it."""

from __future__ import annotations

import pytest

from reconciler import markers


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
