"""--state-file keeps jobs across restarts (atomic writes); --seed-file seeds jobs at start."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from reconciler.emulator.server import EmulatorConfig, EmulatorServer

from .helpers import create


def _client(emu: EmulatorServer) -> httpx.Client:
    return httpx.Client(base_url=f"{emu.url}/customer", headers={"Authorization": emu.issue_token()})


def test_state_file_keeps_jobs_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "state" / "jobs.json"
    config = EmulatorConfig(state_file=state, step_seconds=0)
    with EmulatorServer(config) as emu, _client(emu) as api:
        kept = create(api, jobId="kept", name="k", params={"app": {"n": 1}})
        gone = create(api, jobId="gone")
        api.post("/jobs/kept/run", json={})
        api.delete(f"/jobs/{gone['id']}")
        kept = api.get("/jobs/kept").json()["job"]
    assert json.loads(state.read_text())[0]["id"] == "kept"
    assert [p.name for p in state.parent.iterdir()] == ["jobs.json"]  # no temporary files left behind
    with EmulatorServer(config) as emu, _client(emu) as api:
        listing = api.get("/jobs").json()
        assert listing["pagination"]["total"] == "1"
        assert listing["data"][0] == kept
        assert kept["state"] == "JOB_STATE_STARTED"


def test_without_a_state_file_jobs_live_in_memory_only(tmp_path: Path) -> None:
    with EmulatorServer(EmulatorConfig(step_seconds=0)) as emu, _client(emu) as api:
        create(api)
    with EmulatorServer(EmulatorConfig(step_seconds=0)) as emu, _client(emu) as api:
        assert api.get("/jobs").json()["data"] == []


SEED_YAML = """\
- id: demo-draft
  templateId: tpl
  name: Draft
  params:
    app: {num_replicas: 2}
  data_source:
    data_source_descriptor: aws
    params: {bucket_name: b, cloud_region: eu, secret_id: s, name: in/}
- id: demo-running
  templateId: tpl
  state: JOB_STATE_PARTITIONING
- id: demo-done
  templateId: tpl
  state: JOB_STATE_COMPLETE
"""


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_seed_file_seeds_jobs_in_any_state(tmp_path: Path, suffix: str) -> None:
    seed = tmp_path / f"seed{suffix}"
    if suffix == ".yaml":
        seed.write_text(SEED_YAML)
    else:
        seed.write_text(json.dumps([{"id": "demo-draft", "templateId": "tpl", "name": "Draft"}]))
    with EmulatorServer(EmulatorConfig(seed_file=seed, step_seconds=0)) as emu, _client(emu) as api:
        draft = api.get("/jobs/demo-draft").json()["job"]
        assert draft["name"] == "Draft"
        assert draft["state"] == "JOB_STATE_NEW"
        if suffix == ".yaml":
            assert draft["params"]["app"] == {"num_replicas": 2.0}
            assert draft["dataSource"]["params"]["bucketName"] == "b"
            assert api.get("/jobs/demo-running").json()["job"]["state"] == "JOB_STATE_PARTITIONING"
            assert api.get("/jobs").json()["pagination"]["total"] == "3"
