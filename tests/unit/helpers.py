"""Builders shared by the unit tests: manifests as plain data, jobs as the API sends them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import settings

from reconciler.desired import jobs, manifests
from reconciler.planning import states

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples" / "jobs"

S3_TYPE = "type.googleapis.com/bytenite.data_source.S3DataSource"
HTTP_TYPE = "type.googleapis.com/bytenite.data_source.HttpDataSource"
FILE_TYPE = "type.googleapis.com/bytenite.data_source.LocalFileDataSource"

# Applied per test, never as a global profile: the contract tests keep their own hypothesis settings, and no
# example database is written to the working tree.
PROPERTY = settings(max_examples=200, derandomize=True, deadline=None, database=None)
# For the cheap invariants (idempotence, a job against itself), which need fewer examples to cover their space.
QUICK_PROPERTY = settings(PROPERTY, max_examples=100)


def manifest(spec: dict[str, Any], *, job_id: str = "job-1") -> manifests.Manifest:
    """A validated manifest for ``spec``, as a YAML document holding it would give."""
    document = {"apiVersion": "reconciler.bytenite.io/v1", "kind": "Job", "metadata": {"id": job_id}, "spec": spec}
    return manifests.Manifest.model_validate(document)


def desired(spec: dict[str, Any], *, job_id: str = "job-1") -> states.Job:
    return jobs.from_manifest(manifest(spec, job_id=job_id))


def wire_job(job_id: str = "job-1", *, state: str = "JOB_STATE_NEW", **fields: Any) -> dict[str, Any]:
    """A ``GET /jobs/{id}`` job object with every field at its emitted default unless given."""
    job: dict[str, Any] = {
        "id": job_id,
        "name": "",
        "description": "",
        "templateId": "",
        "state": state,
        "dataSource": None,
        "dataDestination": None,
        "params": {"partitioner": {}, "assembler": {}, "app": {}},
        "config": {"taskTimeout": "0", "jobTimeout": "0", "isTestJob": False},
        "executionPriority": "EXECUTION_PRIORITY_UNDEFINED",
    }
    job.update(fields)
    return job


def s3_wire(**params: Any) -> dict[str, Any]:
    """An S3 source as the server sends it back: camelCase, ``@type`` set, unset strings as ``""``."""
    base = {"@type": S3_TYPE, "name": "", "bucketName": "", "cloudRegion": "", "secretId": "", "accessKey": ""}
    return {"dataSourceDescriptor": "aws", "params": base | params}
