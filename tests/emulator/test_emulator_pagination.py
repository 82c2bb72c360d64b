"""Pagination: offset counts jobs, default limit 20, at most 100, creation order."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .helpers import create


@pytest.fixture
def jobs(api: httpx.Client, control: httpx.Client) -> list[str]:
    ids = [f"job-{i:03}" for i in range(150)]
    control.post("/jobs", json={"jobs": [{"id": i, "templateId": "tpl"} for i in ids]}).raise_for_status()
    return ids


def _page(api: httpx.Client, **params: int) -> Any:
    query = {f"pagination.{key}": value for key, value in params.items()}
    response = api.get("/jobs", params=query)
    assert response.status_code == 200, response.text
    return response.json()


def test_default_limit_is_20(api: httpx.Client, jobs: list[str]) -> None:
    page = _page(api)
    assert [job["id"] for job in page["data"]] == jobs[:20]
    assert page["pagination"] == {"total": "150", "offset": "0", "hasPrevious": False, "hasNext": True}


def test_limit_is_clamped_to_100(api: httpx.Client, jobs: list[str]) -> None:
    assert len(_page(api, limit=1000)["data"]) == 100


def test_offset_counts_jobs_and_pages_cover_everything_once(api: httpx.Client, jobs: list[str]) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        page = _page(api, limit=40, offset=offset)
        seen += [job["id"] for job in page["data"]]
        pagination = page["pagination"]
        assert pagination["offset"] == str(offset)
        assert pagination["hasPrevious"] is (offset > 0)
        if not pagination["hasNext"]:
            break
        offset += 40
    assert seen == jobs


def test_offset_past_the_end_is_an_empty_page(api: httpx.Client, jobs: list[str]) -> None:
    page = _page(api, offset=500)
    assert page["data"] == []
    assert page["pagination"] == {"total": "150", "offset": "500", "hasPrevious": True, "hasNext": False}


def test_zero_or_negative_values_mean_the_defaults(api: httpx.Client, jobs: list[str]) -> None:
    page = _page(api, limit=0, offset=-5)
    assert len(page["data"]) == 20
    assert page["pagination"]["offset"] == "0"


def test_order_is_creation_order_and_stable_across_edits(api: httpx.Client) -> None:
    ids = [create(api, name=str(i))["id"] for i in range(5)]
    api.patch(f"/jobs/{ids[2]}/jobname", json="renamed")
    api.delete(f"/jobs/{ids[0]}")
    assert [job["id"] for job in _page(api)["data"]] == ids[1:]


def test_order_by_is_accepted(api: httpx.Client, jobs: list[str]) -> None:
    assert api.get("/jobs", params={"orderBy": "createdAt desc"}).status_code == 200
