"""Many manifests and matching seeded jobs, for the fault soak and the interrupt tests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.support import Control

NAMESPACE = uuid.UUID("0f6f2b1e-5d0c-4c4e-9a43-6a9d4c1f7e21")


def job_id(index: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"generated-{index}"))


def fleet(control: Control, folder: Path, count: int) -> Path:
    """``count`` generated manifests in ``folder``, and their jobs seeded (most of them differing)."""
    write_manifests(folder, count)
    control.seed(seed_jobs(count))
    return folder


def write_manifests(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (folder / f"job-{index:05d}.yaml").write_text(
            "apiVersion: reconciler.bytenite.io/v1\nkind: Job\n"
            f"metadata: {{id: {job_id(index)}}}\n"
            "spec:\n"
            f"  name: generated {index}\n"
            "  params:\n"
            f"    app: {{index: {index}, scale: 1.5, tags: [a, b], nested: {{deep: true}}}}\n"
            "  config: {taskTimeout: 600, jobTimeout: 3600}\n"
        )


def seed_jobs(count: int) -> list[dict[str, Any]]:
    """Drafts that differ from their manifests in a mix of sections (one in four already matches)."""
    jobs = []
    for index in range(count):
        kind = index % 4
        jobs.append(
            {
                "id": job_id(index),
                "templateId": "generated",
                "name": f"generated {index}" if kind != 1 else f"old name {index}",
                "params": {
                    "partitioner": {"keep": "me"},
                    "app": {
                        "index": index if kind != 2 else -1,
                        "scale": 1.5,
                        "tags": ["a", "b"],
                        "nested": {"deep": True},
                    },
                },
                "config": {"taskTimeout": 600 if kind != 3 else 60, "jobTimeout": 3600},
            }
        )
    return jobs


def expected_writes(count: int) -> dict[str, int]:
    """The PATCH routes apply must call exactly once each (job, section)."""
    sections = {1: "jobname", 2: "params", 3: "configs"}
    return {f"/v1/customer/jobs/{job_id(i)}/{sections[i % 4]}": 1 for i in range(count) if i % 4}
