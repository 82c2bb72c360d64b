"""Fixtures of the pure unit tests (no sockets, no subprocesses, no files outside tmp_path)."""

from __future__ import annotations

import pytest

from reconciler.planning import redaction


@pytest.fixture
def key() -> bytes:
    """The fingerprint key of a fixed test account."""
    return redaction.fingerprint_key("unit-test-api-key")
