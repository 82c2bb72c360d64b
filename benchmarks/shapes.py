"""The realistic fleet: manifests shaped like ``examples/jobs/``, the way users write them.

Five kinds rotate, one per descriptor family (gcp, aws written with the proto spelling and the older ``s3``
name, url → bucket, file → bypass, storj), keyed jobs with labels beside fixed ids, all three params
sub-objects with nested mappings, lists and floats, comments and the schema modeline. The server's side is
seeded so that the same jobs differ as in the small shape (half in ``params``, one in ten in ``name`` and
``config``): the two shapes' rows compare the cost of the manifests alone.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any, Final

import harness

KEY_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://reconciler.bytenite.io/job-key")
ID_NAMESPACE: Final = uuid.UUID("2b6f7c1e-52a8-4c0e-9f3d-7e1a0c4b5d6f")
MODELINE: Final = "# yaml-language-server: $schema=../schemas/job-manifest.schema.json\n"


def _kind(index: int) -> dict[str, Any]:
    """The job ``index`` as the API holds it (camel-case params), before the server's drift is applied."""
    kind = index % 5
    region = ("europe-west1", "us-east-1", "global")[index % 3]
    if kind == 0:
        return {
            "templateId": "csv-rollup",
            "name": f"Daily rollup {index}",
            "dataSource": {"dataSourceDescriptor": "gcp", "params": {
                "name": f"events/{index}/daily.csv", "bucketName": "analytics-raw", "cloudRegion": region,
                "secretId": "gcs-hmac"}},
            "dataDestination": {"dataSourceDescriptor": "gcp", "params": {
                "name": f"rollups/{index}/", "bucketName": "analytics-rollups", "cloudRegion": region,
                "secretId": "gcs-hmac"}},
            "params": {
                "partitioner": {"rows_per_chunk": 50000, "skip_header": True},
                "assembler": {"format": "parquet", "compression": "zstd"},
                "app": {"index": index, "group_by": ["country", "device"], "metrics": ["sessions", "revenue"],
                        "sample": 0.25},
            },
            "config": {"taskTimeout": 900, "jobTimeout": 7200},
        }  # fmt: skip
    if kind == 1:
        return {
            "templateId": "video-transcoding",
            "name": f"Transcode batch {index}",
            "dataSource": {"dataSourceDescriptor": "aws", "params": {
                "name": f"uploads/{index}/raw.mp4", "bucketName": "media-ingest", "cloudRegion": "us-east-1",
                "secretId": "media-ingest-reader"}},
            "dataDestination": {"dataSourceDescriptor": "aws", "params": {
                "name": f"transcoded/{index}/", "bucketName": "media-output", "cloudRegion": "us-east-1",
                "secretId": "media-output-writer"}},
            "params": {
                "partitioner": {"chunk_seconds": 10},
                "assembler": {"container": "mp4"},
                "app": {"index": index, "codec": "h264", "resolution": {"width": 1920, "height": 1080},
                        "bitrate_kbps": 6000, "audio": {"codec": "aac", "channels": 2}},
            },
            "config": {"taskTimeout": 3600, "jobTimeout": 86400},
        }  # fmt: skip
    if kind == 2:
        return {
            "templateId": "img-gen-diffusers",
            "name": f"Nightly renders {index}",
            "dataSource": {"dataSourceDescriptor": "url", "params": {"url": f"https://example.com/prompts/{index}.txt"}},
            "dataDestination": {"dataSourceDescriptor": "bucket", "params": {}},
            "params": {
                "partitioner": {"num_replicas": 4},
                "assembler": {"zip": False},
                "app": {"index": index, "prompt": "a lighthouse at dusk", "steps": 30, "guidance": 7.5,
                        "sizes": [{"width": 1024, "height": 1024}, {"width": 512, "height": 768}]},
            },
            "config": {"taskTimeout": 3600, "jobTimeout": 86400, "isTestJob": True},
        }  # fmt: skip
    if kind == 3:
        return {
            "templateId": "thumbnails",
            "name": f"Batch thumbnails {index}",
            "dataSource": {"dataSourceDescriptor": "file", "params": {}},
            "dataDestination": {"dataSourceDescriptor": "bypass", "params": {}},
            "params": {
                "partitioner": {"files_per_chunk": 20},
                "assembler": {"archive": "zip"},
                "app": {"index": index, "thumbnail": {"width": 320, "height": 180}, "format": "webp", "quality": 80},
            },
            "config": {"taskTimeout": 600, "jobTimeout": 3600},
        }  # fmt: skip
    return {
        "templateId": "archive-compaction",
        "name": f"Archive compaction {index}",
        "dataSource": {"dataSourceDescriptor": "storj", "params": {
            "name": f"archive/{index}.tar", "bucketName": "cold-archive", "cloudRegion": "global",
            "secretId": "storj-archive"}},
        "dataDestination": {"dataSourceDescriptor": "storj", "params": {
            "name": f"compacted/{index}/", "bucketName": "cold-archive", "cloudRegion": "global",
            "secretId": "storj-archive"}},
        "params": {
            "partitioner": {"max_bytes": 1073741824},
            "assembler": {"verify": True},
            "app": {"index": index, "levels": [1, 3, 9], "ratio": 0.75},
        },
        "config": {"taskTimeout": 1800, "jobTimeout": 43200, "isTestJob": False},
    }  # fmt: skip


PLAIN: Final = re.compile(r"[A-Za-z][A-Za-z0-9_./ -]*")
WORDS: Final = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})


def _flow(value: Any) -> str:
    """A value in YAML flow style, strings unquoted where YAML reads them as strings, as people write them."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    if isinstance(value, str) and PLAIN.fullmatch(value) and value.lower() not in WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)


def _manifest(index: int, job: dict[str, Any]) -> tuple[str, str]:
    """The manifest text, as a person writes it, and the job's id."""
    kind = index % 5
    team = ("analytics", "media", "vision", "media", "platform")[kind]
    if kind in (0, 2):  # keyed jobs, their ids derived
        key = f"{team}/{job['templateId']}-{index}"
        identity, job_id = f"  key: {key}\n", str(uuid.uuid5(KEY_NAMESPACE, key))
    else:
        job_id = str(uuid.uuid5(ID_NAMESPACE, str(index)))
        identity = f"  id: {job_id}\n"
    source, destination, params = job["dataSource"], job["dataDestination"], job["params"]
    lines = [
        MODELINE,
        f"# {job['name']}: owned by {team}; see the runbook before changing the timeouts.\n",
        "apiVersion: reconciler.bytenite.io/v1\n",
        "kind: Job\n",
        "metadata:\n",
        identity,
        f"  labels: {{team: {team}, tier: {'gold' if index % 3 else 'silver'}}}\n",
        "spec:\n",
        f"  templateId: {job['templateId']}\n",
        f"  name: {job['name']}\n",
        "  dataSource:\n",
        f"    dataSourceDescriptor: {'s3' if kind == 1 else source['dataSourceDescriptor']}"
        f"{'   # the older name of aws' if kind == 1 else ''}\n",
    ]
    if source["params"]:
        given = dict(source["params"])
        if kind == 1:  # the proto spelling, as the API accepts it
            given = {"bucket_name" if k == "bucketName" else "secret_id" if k == "secretId" else k: v
                     for k, v in given.items()}  # fmt: skip
        lines += ["    params:\n", *(f"      {name}: {_flow(value)}\n" for name, value in given.items())]
    lines.append(f"  dataDestination: {_flow(destination)}\n" if not destination["params"] else "  dataDestination:\n")
    if destination["params"]:
        lines += [
            f"    dataSourceDescriptor: {destination['dataSourceDescriptor']}\n",
            f"    params: {_flow(destination['params'])}\n",
        ]
    lines.append("  params:\n")
    lines += [f"    partitioner: {_flow(params['partitioner'])}\n", f"    assembler: {_flow(params['assembler'])}\n"]
    lines.append("    app:                       # the app's own settings\n")
    lines += [f"      {name}: {_flow(value)}\n" for name, value in params["app"].items()]
    lines.append(f"  config: {_flow(job['config'])}\n")
    return "".join(lines), job_id


def make_fleet(folder: Path, jobs: int) -> harness.Fleet:
    """``jobs`` realistic manifests in ``folder`` and the server's state, drifted as the small shape is."""
    folder.mkdir(parents=True, exist_ok=True)
    seed: list[dict[str, Any]] = []
    changed_jobs = changed_sections = 0
    for index in range(jobs):
        job = _kind(index)
        text, job_id = _manifest(index, job)
        (folder / f"job-{index:05d}.yaml").write_text(text, encoding="utf-8")
        server = json.loads(json.dumps(job))
        sections = 0
        if index % 2 == 0:  # one section differs: params (an app value)
            server["params"]["app"]["index"] = index + 1_000_000
            sections += 1
        if index % 10 == 1:  # two sections differ: jobname and configs
            server["name"] = f"old {job['name']}"
            server["config"]["taskTimeout"] = 300
            sections += 2
        changed_jobs += bool(sections)
        changed_sections += sections
        seed.append({"id": job_id, **server})
    return harness.Fleet(folder, seed, jobs, changed_jobs, changed_sections)
