"""Convergence proven, not sampled (issue 16): a hypothesis state machine drives the real CLI against the emulator.

Rules edit manifests (every unit, secret references, keyed and fixed-id jobs, ``spec.run``), change the server out
of band, switch faults on and off, and run ``plan``, ``apply`` and ``apply PLANFILE`` after further drift. After
every command the emulator's request log (with write witnesses: the job each write met and its body) is judged by
``tests/e2e/model.py``, never by the tool's own report:

- after a fault-free ``apply``, the next ``plan`` proposes nothing but blocked jobs, exactly the non-drafts whose
  manifests differ;
- no write ever meets a job that is not a draft;
- every PATCH body is a whole section whose undeclared units are the server's values at that moment;
- a job is launched at most once over the whole history;
- the tool's read and write counts are the log's;
- no secret value reaches stdout, stderr or a plan file;
- exit codes follow the README's table.

The default profile is bounded and derandomized (CI time stays predictable): 10 histories of up to 50 steps.
``RECONCILER_SOAK=1`` runs 200 (over 5,000 steps), ``RECONCILER_SOAK=N`` runs N. A failure shrinks to a minimal
history, which hypothesis prints as the calls that reproduce it. Retries run without their backoff sleeps
(``stamina.set_testing``): what is under test is what is sent, not how long the tool waits between attempts.
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
import stamina
from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from reconciler import cli
from reconciler.emulator import wire
from reconciler.emulator.server import EmulatorServer
from tests.e2e import model
from tests.support import Control

SLOTS = 6
STEPS = 50
SOAK = os.environ.get("RECONCILER_SOAK", "")
EXAMPLES = (int(SOAK) if SOAK.isdigit() and int(SOAK) > 1 else 200) if SOAK else 10
PROFILE = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    derandomize=not SOAK,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
# Fault mixes a rule can switch on: each a PUT /_emulator/faults body (Retry-After 0: no sleeping, still honoured).
FAULTS = {
    "5xx": {"faultRate": 0.4},
    "429": {"throttleRate": 0.4, "retryAfter": 0},
    "drop": {"dropRate": 0.3},
    "lost-answer": {"dropAfterWriteRate": 0.5},
    "malformed": {"malformedRate": 0.4},
    "mixed": {"faultRate": 0.2, "throttleRate": 0.1, "retryAfter": 0, "dropRate": 0.1, "dropAfterWriteRate": 0.2},
}
FAULTS_OFF = {"faultRate": 0, "throttleRate": 0, "dropRate": 0, "dropAfterWriteRate": 0, "malformedRate": 0}
ENV = {model.SECRET_ENV: model.SECRET_VALUE}

NAMES = st.sampled_from(["alpha", "beta", "Gamma job", "δ"])
SMALL = st.dictionaries(
    st.sampled_from(["a", "b", "steps"]), st.integers(1, 9) | st.sampled_from(["x", "y"]), max_size=2
)
SOURCES = st.sampled_from(
    [
        {"dataSourceDescriptor": "url", "params": {"url": "https://example.com/in.txt"}},
        {
            "dataSourceDescriptor": "url",
            "params": {
                "url": "https://example.com/private",
                "username": "u",
                "password": f"${{env:{model.SECRET_ENV}}}",
            },
        },
        {
            "dataSourceDescriptor": "aws",
            "params": {"name": "in/", "bucketName": "b", "cloudRegion": "eu-west-1", "secretId": "reader"},
        },
        {"dataSourceDescriptor": "bypass"},
        {"dataSourceDescriptor": "file"},
    ]
)
DESTINATIONS = st.sampled_from(
    [
        {"dataSourceDescriptor": "bucket"},
        {"dataSourceDescriptor": "bypass"},
        {
            "dataSourceDescriptor": "aws",
            "params": {"name": "out/", "bucketName": "b", "cloudRegion": "eu-west-1", "secretId": "writer"},
        },
    ]
)
UNITS = st.sampled_from(["name", *model.CONFIG_FIELDS, *model.PARAM_UNITS, *model.SIDES, "run"])


def unit_value(name: str) -> st.SearchStrategy[Any]:
    if name == "name":
        return NAMES
    if name in ("taskTimeout", "jobTimeout"):
        return st.sampled_from([60, 600, 3600])
    if name in ("isTestJob", "run"):
        return st.booleans()
    if name in model.PARAM_UNITS:
        return SMALL
    return SOURCES if name == "dataSource" else DESTINATIONS


def set_unit(spec: dict[str, Any], name: str, value: Any) -> None:
    if name in model.CONFIG_FIELDS:
        spec.setdefault("config", {})[name] = value
    elif name in model.PARAM_UNITS:
        spec.setdefault("params", {})[name] = value
    else:
        spec[name] = value


def drop_unit(spec: dict[str, Any], name: str) -> None:
    for holder, parent in (("config", model.CONFIG_FIELDS), ("params", model.PARAM_UNITS)):
        if name in parent:
            spec.get(holder, {}).pop(name, None)
            if holder in spec and not spec[holder]:
                del spec[holder]  # an empty section is refused (null sections); leave it undeclared
            return
    spec.pop(name, None)


class Reconciling(RuleBasedStateMachine):
    """One history: manifests on disk, the emulator's jobs, and every request the tool has sent."""

    control: Control
    server: EmulatorServer
    folder: Path
    steps = 0
    tally: ClassVar[collections.Counter[str]] = collections.Counter()  # what the histories did, printed at the end

    def __init__(self) -> None:
        super().__init__()
        self.control.reset()
        self.manifests: dict[int, tuple[bool, dict[str, Any]]] = {}
        self.faulty = False
        self.history: list[dict[str, Any]] = []  # every logged request of this history, witnesses included
        self.plan_file: tuple[Path, dict[str, dict[str, Any]]] | None = None

    # --- manifests ---

    @initialize(slots=st.lists(st.tuples(st.booleans(), UNITS, st.data()), min_size=2, max_size=SLOTS))
    def start(self, slots: list[tuple[bool, str, st.DataObject]]) -> None:
        for slot, (keyed, name, data) in enumerate(slots):
            spec: dict[str, Any] = {}
            set_unit(spec, name, data.draw(unit_value(name)))
            self.manifests[slot] = (keyed, spec)
        self._write()

    @rule(edits=st.lists(st.tuples(st.integers(0, SLOTS - 1), UNITS), min_size=1, max_size=4), data=st.data())
    def edit_units(self, edits: list[tuple[int, str]], data: st.DataObject) -> None:
        """Units set in one or more manifests; a slot without one gains a keyed manifest."""
        for slot, name in edits:
            keyed, spec = self.manifests.get(slot, (True, {}))
            set_unit(spec, name, data.draw(unit_value(name), label=name))
            self.manifests[slot] = (keyed, spec)
        self._write()

    @precondition(lambda self: self.manifests)
    @rule(data=st.data(), name=UNITS)
    def remove_unit(self, data: st.DataObject, name: str) -> None:
        slot = data.draw(st.sampled_from(sorted(self.manifests)), label="slot")
        drop_unit(self.manifests[slot][1], name)
        self._write()

    @precondition(lambda self: self.manifests)
    @rule(data=st.data())
    def switch_identity(self, data: st.DataObject) -> None:
        """A keyed manifest takes a fixed id, or the other way round: it now names another job."""
        slot = data.draw(st.sampled_from(sorted(self.manifests)), label="slot")
        keyed, spec = self.manifests[slot]
        self.manifests[slot] = (not keyed, spec)
        self._write()

    @precondition(lambda self: len(self.manifests) > 1)
    @rule(data=st.data())
    def remove_manifest(self, data: st.DataObject) -> None:
        del self.manifests[data.draw(st.sampled_from(sorted(self.manifests)), label="slot")]
        self._write()

    def _write(self) -> None:
        model.write_tree(self.folder, self.manifests)

    # --- the server, out of band ---

    def _jobs(self) -> dict[str, dict[str, Any]]:
        return {job["id"]: job for job in self.server.store.all()}

    def _managed(self, *, state: str | None = None) -> list[str]:
        jobs = self._jobs()
        ids = {model.job_id(slot, keyed) for slot, (keyed, _) in self.manifests.items()}
        return sorted(i for i in ids if i in jobs and (state is None or jobs[i]["state"] == state))

    @rule(data=st.data(), names=st.lists(UNITS.filter(lambda n: n != "run"), min_size=1, max_size=3))
    def patch_out_of_band(self, data: st.DataObject, names: list[str]) -> None:
        """Someone edits drafts in the console: a unit changes, the rest of its section is kept."""
        for name in names:
            drafts = self._managed(state=model.NEW)
            if drafts:
                self._patch_unit(data.draw(st.sampled_from(drafts), label="job"), name, data)

    def _patch_unit(self, job_id: str, name: str, data: st.DataObject) -> None:
        job, value, store = self._jobs()[job_id], data.draw(unit_value(name), label="value"), self.server.store
        if name == "name":
            store.set_name(job_id, value)
        elif name in model.CONFIG_FIELDS:
            store.set_config(job_id, wire.parse_config({**(job["config"] or {}), name: value}))
        elif name in model.PARAM_UNITS:
            store.set_params(job_id, wire.parse_params({**(job["params"] or {}), name: value}))
        else:
            sides = {side: job[side] for side in model.SIDES if job[side]}
            store.set_data_sources(job_id, wire.parse_data_sources({**sides, name: model.resolve(value, ENV)}))

    @rule(data=st.data(), state=st.sampled_from(["JOB_STATE_STARTED", "JOB_STATE_COMPLETE", "JOB_STATE_FAILED"]))
    def move_on(self, data: st.DataObject, state: str) -> None:
        """A job leaves the draft state behind the tool's back (the console's run, an end, a failure)."""
        jobs = self._jobs()
        running = [i for i in self._managed() if jobs[i]["state"] not in ("JOB_STATE_COMPLETE", "JOB_STATE_FAILED")]
        if running:
            self.server.store.advance(data.draw(st.sampled_from(running), label="job"), state)

    @rule(data=st.data())
    def delete_draft(self, data: st.DataObject) -> None:
        drafts = self._managed(state=model.NEW)
        if drafts:
            self.server.store.delete(data.draw(st.sampled_from(drafts), label="job"))

    @rule(name=NAMES)
    def create_unmarked_draft(self, name: str) -> None:
        """A draft the tool does not own (no marker), carrying an inline key only the server knows."""
        params = {
            "name": "x",
            "bucketName": "b",
            "cloudRegion": "r",
            "accessKey": model.SERVER_SECRET,
            "secretKey": "k",
        }
        body = {"templateId": "other", "name": name, "dataSource": {"dataSourceDescriptor": "aws", "params": params}}
        self.server.store.create(wire.parse_create(body))

    # --- faults ---

    @precondition(lambda self: not self.faulty)
    @rule(kind=st.sampled_from(sorted(FAULTS)), seed=st.integers(0, 2**16))
    def faults_on(self, kind: str, seed: int) -> None:
        self.control.faults(**{**FAULTS_OFF, **FAULTS[kind], "seed": seed})
        self.faulty = True

    @precondition(lambda self: self.faulty)
    @rule()
    def faults_off(self) -> None:
        self.control.faults(**FAULTS_OFF)
        self.faulty = False

    # --- the commands ---

    @rule()
    def plan(self) -> None:
        self._plan()

    @rule()
    def apply(self) -> None:
        faulty = self.faulty
        outcome = self._invoke("apply", str(self.folder), "--auto-approve", declared=self._declared())
        self._check_apply(outcome, faulty, stale_allowed=False)
        if not faulty:
            self._converged()

    @rule()
    def save_plan(self) -> None:
        path = self.folder.parent / "plan.json"
        path.unlink(missing_ok=True)
        outcome = self._plan("--out", str(path))
        if outcome["exit_code"] in (0, 2, 3):
            self.plan_file = (path, self._declared())

    @precondition(lambda self: self.plan_file is not None)
    @rule()
    def apply_plan_file(self) -> None:
        """The saved plan after whatever happened since (drift, edits, faults): stale jobs are refused, never forced."""
        assert self.plan_file is not None
        path, declared = self.plan_file
        self.plan_file = None
        text = path.read_text()
        for secret in (model.SECRET_VALUE, model.SERVER_SECRET):
            assert secret not in text, "a secret value in the plan file"
        outcome = self._invoke("apply", str(path), declared=declared)
        self._check_apply(outcome, self.faulty, stale_allowed=True)

    def _plan(self, *extra: str) -> dict[str, Any]:
        outcome = self._invoke("plan", str(self.folder), "--detailed-exitcode", *extra, declared={})
        code, document = outcome["exit_code"], outcome["document"]
        if document is None:
            assert (code, self.faulty) == (1, True), f"plan exited {code} without a plan: {outcome['stderr'][-500:]}"
            return outcome
        summary = document["summary"]
        changes = sum(summary[k] for k in ("create", "update", "launch", "replace", "prune")) + summary["calls"]
        expected = 1 if summary["error"] else 3 if summary["blocked"] else 2 if changes else 0
        assert code == expected, f"plan exited {code}, its summary says {expected}: {summary}"
        return outcome

    def _declared(self) -> dict[str, dict[str, Any]]:
        return {model.job_id(slot, keyed): model.declared(spec, ENV) for slot, (keyed, spec) in self.manifests.items()}

    def _invoke(self, *args: str, declared: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """One CLI run, judged on its own: counts against the log, secrets, witnesses; its log joins the history."""
        self.control.clear_log()
        result = CliRunner().invoke(cli.cli, [*args, "--format", "json"], catch_exceptions=False)
        entries = self.control.requests()
        self.history.extend(entries)
        command = "apply PLANFILE" if args[1].endswith(".json") else args[0]
        Reconciling.tally.update({f"{command} exit {result.exit_code}": 1, "writes": model.counted(entries)["writes"]})
        Reconciling.tally.update({"faulted requests": sum(1 for e in entries if e["fault"])})
        for stream, text in (("stdout", result.stdout), ("stderr", result.stderr)):
            for secret in (model.SECRET_VALUE, model.SERVER_SECRET):
                assert secret not in text, f"a secret value in {args[0]}'s {stream}"
        try:
            document = json.loads(result.stdout)
        except json.JSONDecodeError:
            document = None
        if document is not None:
            assert document["requests"]["reads"] == model.counted(entries)["reads"], (document["requests"], entries)
            assert document["requests"]["writes"] == model.counted(entries)["writes"], (document["requests"], entries)
            if result.exit_code in (0, 2, 3):  # every call succeeded in the end: each faulted attempt was retried
                faulted = sum(1 for e in entries if e["fault"])
                assert document["requests"]["retries"] == faulted, (document["requests"], entries)
        assert not model.writes_to_non_drafts(entries), model.writes_to_non_drafts(entries)
        problems = model.incomplete_bodies(entries, declared)
        assert not problems, problems
        return {"exit_code": result.exit_code, "document": document, "stderr": result.stderr}

    def _check_apply(self, outcome: dict[str, Any], faulty: bool, *, stale_allowed: bool) -> None:
        code, document = outcome["exit_code"], outcome["document"]
        if document is None:
            assert (code, faulty) == (1, True), f"apply exited {code} without a report: {outcome['stderr'][-500:]}"
            return
        if document["kind"] == "plan":  # nothing to do, or a plan with errors: apply shows the plan, writes nothing
            assert code == (1 if document["summary"]["error"] else 0), (code, document["summary"])
            return
        summary = document["summary"]
        partial = sum(summary[k] for k in ("failed", "not attempted", "stale", "unconverged", "refused"))
        assert code == (4 if partial else 0), f"apply exited {code}, its report says {summary}"
        if not faulty and not stale_allowed:
            assert code == 0, f"a fault-free apply was partial: {summary}"

    def _converged(self) -> None:
        """The next plan proposes nothing but blocked jobs, and blocks exactly the non-drafts that differ."""
        outcome = self._plan()
        document = outcome["document"]
        assert document is not None
        pending = [
            (j["id"], j["action"], j["calls"])
            for j in document["jobs"]
            if j["action"] not in ("unchanged", "blocked", "orphan")
        ]
        assert not pending, f"after a fault-free apply, the plan still proposes {pending}"
        jobs = self._jobs()
        expected = set()
        for slot, (keyed, spec) in self.manifests.items():
            job = jobs.get(model.job_id(slot, keyed))
            assert job is not None, f"slot {slot}'s job was not created"
            if job["state"] != model.NEW and model.differs(spec, job, ENV):
                expected.add(job["id"])
            elif job["state"] == model.NEW:
                assert not model.differs(spec, job, ENV), (slot, model.differs(spec, job, ENV))
        blocked = {j["id"] for j in document["jobs"] if j["action"] == "blocked"}
        assert blocked == expected, f"blocked {sorted(blocked)}, the model expects {sorted(expected)}"

    @invariant()
    def launched_at_most_once(self) -> None:
        Reconciling.steps += 1
        twice = {job: n for job, n in model.launches(self.history).items() if n > 1}
        assert not twice, f"launched more than once: {twice}"


def test_the_tool_converges_under_any_history(
    witnessing: Control, server: EmulatorServer, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    Reconciling.control, Reconciling.server, Reconciling.folder = witnessing, server, tmp_path / "jobs"
    Reconciling.steps, Reconciling.tally = 0, collections.Counter()
    with stamina.set_testing(True, attempts=8, cap=True):
        run_state_machine_as_test(Reconciling, settings=PROFILE)
    print(f"model: {Reconciling.steps} steps in {EXAMPLES} examples: {dict(sorted(Reconciling.tally.items()))}")
    assert Reconciling.steps >= (5000 if SOAK == "1" else 200)  # hypothesis ends some histories before 50 steps
