"""Driving a running emulator from outside: :class:`Control`, a client of its ``/_emulator/`` test control (and
of the API, to read jobs as a client sees them), and :class:`EmulatorProcess`, the command in its own process.

The tests and the benchmark share these, so the calls of ``control.py`` have one client, written beside them:

    with EmulatorProcess(api_key="k") as process, Control(process.base_url, api_key="k") as control:
        control.seed([{"id": "j1", "templateId": "t"}])
        control.faults(faultRate=0.2, seed=7)
        control.counters()["writes"]

httpx is imported here and not by the server: the emulator itself needs only Starlette and uvicorn.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import httpx

from reconciler.emulator import persistence

SEED_CHUNK: Final = 2000  # jobs per seeding request: 10,000 at once is one body of tens of MB
_SERVING: Final = re.compile(r"serving (http://\S+?)/v1\s")
_TOKEN: Final = "/auth/access_token"


class Control:
    """The emulator's test control (``/_emulator/``: no token, never faulted, never logged), over loopback.

    ``api_key`` is needed only by :meth:`token`, :meth:`job` and :meth:`jobs`, which read through the API
    itself. ``http`` is the client underneath, on the emulator's base URL, for a test that sends what no
    method here does.
    """

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.api_key = api_key
        self.http = httpx.Client(base_url=base_url, timeout=timeout)

    def __enter__(self) -> Control:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.http.request(method, "/_emulator" + path, json=body)
        answer.raise_for_status()
        return answer.json()

    # State ---------------------------------------------------------------------------------------------------

    def reset(self, *, jobs: bool = True, log: bool = True, faults: bool = True) -> None:
        """By default everything a test may have changed: jobs, the log and the start-up fault settings (tokens
        stay valid, write witnesses stay as they are)."""
        self._call("POST", "/reset", {"jobs": jobs, "log": log, "faults": faults})

    def clear_log(self) -> None:
        """Forget the requests so far (and their counters), keeping jobs and faults."""
        self.reset(jobs=False, log=True, faults=False)

    def seed(self, jobs: Sequence[Mapping[str, Any]]) -> None:
        """Jobs stored exactly as given (any state, ids kept)."""
        for start in range(0, len(jobs), SEED_CHUNK):
            self._call("POST", "/jobs", {"jobs": list(jobs[start : start + SEED_CHUNK])})

    def seed_file(self, path: Path) -> list[dict[str, Any]]:
        """The jobs of a seed file (``--seed-file``'s format, read by the same code), stored; returns them as read."""
        jobs = persistence.read_seed_file(path)
        self.seed(jobs)
        return jobs

    def advance(self, job_id: str, state: str | None = None) -> dict[str, Any]:
        """A job moved one state on, or to ``state``; returns the job."""
        job: dict[str, Any] = self._call("POST", f"/jobs/{job_id}/advance", {"state": state} if state else {})["job"]
        return job

    def expire_tokens(self) -> int:
        """Every token issued so far expired now; returns how many."""
        expired: int = self._call("POST", "/tokens/expire")["expired"]
        return expired

    def faults(self, **settings: Any) -> dict[str, Any]:
        """Merge fault settings, by their camelCase names (``faultRate=0.2``); returns them all."""
        merged: dict[str, Any] = self._call("PUT", "/faults", settings)
        return merged

    def witness(self, on: bool) -> None:
        """Switch write witnesses on or off: each write in the log then carries the job it met and its body."""
        self._call("PUT", "/log", {"witness": on})

    # What was sent ---------------------------------------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        """The API requests, in arrival order."""
        return list(self._call("GET", "/requests")["requests"])

    def writes(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request but reads and token exchanges."""
        return [(r["method"], r["path"]) for r in self.requests() if r["method"] != "GET" and _TOKEN not in r["path"]]

    def counters(self) -> dict[str, Any]:
        return dict(self._call("GET", "/counters"))

    # Through the API ------------------------------------------------------------------------------------------

    def token(self) -> str:
        answer = self.http.post("/v1/auth/access_token", json={"apiKey": self.api_key})
        answer.raise_for_status()
        return str(answer.json()["token"])

    def job(self, job_id: str) -> dict[str, Any]:
        """One job as ``GET /jobs/{id}`` answers it."""
        answer = self.http.get(f"/v1/customer/jobs/{job_id}", headers={"Authorization": self.token()})
        answer.raise_for_status()
        return dict(answer.json()["job"])

    def jobs(self) -> list[dict[str, Any]]:
        """Every job, through the API's paged list."""
        token, found, offset = self.token(), [], 0
        while True:
            params = {"pagination.limit": 100, "pagination.offset": offset}
            page = self.http.get("/v1/customer/jobs", params=params, headers={"Authorization": token})
            page.raise_for_status()
            found.extend(page.json()["data"])
            if not page.json()["pagination"]["hasNext"]:
                return found
            offset += 100


class EmulatorProcess:
    """``python -m reconciler.emulator`` on a free loopback port, in its own process (and so its own GIL), until
    the block ends: for a benchmark whose measured CPU must not share the server's, and for tests that need
    servers of their own (two accounts). ``args`` are more flags (``--latency-ms 50``)."""

    def __init__(self, *args: str, api_key: str, python: str = sys.executable, cwd: Path | None = None) -> None:
        self.command = [python, "-m", "reconciler.emulator", "--port", "0", "--api-key", api_key]
        self.command += ["--step-seconds", "0", *args]
        self.cwd = cwd
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""

    @property
    def url(self) -> str:
        """The API root, ``http://127.0.0.1:PORT/v1``."""
        return self.base_url + "/v1"

    def __enter__(self) -> EmulatorProcess:
        """Start it and wait until it answers. Its few lines of output fit in the pipe, so they are left unread."""
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=self.cwd
        )
        try:
            assert self.process.stdout is not None
            line = self.process.stdout.readline()
            found = _SERVING.search(line)
            if not found:
                raise RuntimeError(f"the emulator did not announce its address: {line!r}")
            self.base_url = found.group(1)
            self._wait_ready()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(self.base_url + "/_emulator/counters", timeout=5).raise_for_status()
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _stop(self) -> None:
        """Ctrl-C, as a user stops it; killed if it has not ended 10 s later."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
