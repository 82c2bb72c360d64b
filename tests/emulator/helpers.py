"""Helpers shared by the emulator tests."""

from __future__ import annotations

from typing import Any

import httpx


def create(api: httpx.Client, **body: Any) -> dict[str, Any]:
    """Create a job (template ``tpl`` unless given) and return it."""
    body.setdefault("templateId", "tpl")
    response = api.post("/jobs", json=body)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()["job"]
    return job


def assert_rpc_error(response: httpx.Response, status: int, code: int) -> None:
    """The gateway's error shape: an rpcStatus with the given gRPC code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["details"] == []
