"""Jobs on disk: the ``--state-file`` kept across restarts, and the ``--seed-file`` read at start.

The state file is rewritten whole after each change, atomically (a temporary file in the same folder, then
``os.replace``), so a crash mid-write leaves the previous version, never half a file. It is a JSON list of
jobs in wire shape. The seed file is for demos: jobs in API shape (JSON or YAML), in any state.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def save_jobs(path: Path, jobs: list[dict[str, Any]]) -> None:
    """Write every job to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(jobs, stream, separators=(",", ":"))
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def load_jobs(path: Path) -> list[dict[str, Any]]:
    """The jobs a state file holds; a missing file is an empty store (the first start)."""
    if not path.exists():
        return []
    jobs = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(jobs, list):
        raise ValueError(f"{path}: a state file holds a JSON list of jobs")
    return jobs


def read_seed_file(path: Path) -> list[Any]:
    """Jobs to seed: a JSON or YAML list (or ``{"jobs": [...]}``), chosen by the file's suffix."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        from ruamel.yaml import YAML

        data = YAML(typ="safe").load(text)
    else:
        data = json.loads(text)
    if isinstance(data, dict) and isinstance(data.get("jobs"), list):
        data = data["jobs"]
    if not isinstance(data, list):
        raise ValueError(f"{path}: a seed file holds a list of jobs")
    return data
