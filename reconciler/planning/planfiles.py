"""Plan files: the JSON plan read back, so a pipeline applies exactly what was reviewed.

A plan file is untrusted input (it may have been edited or come from another version), so it is read
through pydantic models; the same models generate ``schemas/plan.schema.json``
(``python -m reconciler.planning.planfiles``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler import errors
from reconciler.planning import diffs, markers, names, plans, redaction, references, states

Segment = str | int


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChangeDoc(_Model):
    path: str = Field(description="Dotted path in the job object, e.g. params.app.steps")
    segments: list[Segment]
    kind: Literal["add", "remove", "change"]
    before: Any = Field(default=None, description="Absent for an added field; sensitive values are fingerprints")
    after: Any = Field(default=None, description="Absent for a removed field")
    line: int | None = Field(default=None, description="Manifest line declaring the field")


class CallDoc(_Model):
    method: Literal["PATCH", "POST", "DELETE"]
    section: Literal["jobname", "datasource", "params", "configs", "create", "run", "abort", "delete"]
    path: str
    target: str = Field(description="The job the call addresses")
    destructive: bool = False
    body: Any = Field(description="Redacted: apply rebuilds the real body from a fresh read")


class JobDoc(_Model):
    id: str
    source: str
    action: Literal["create", "update", "launch", "replace", "prune", "unchanged", "orphan", "blocked", "error"]
    destructive: bool = False
    lifecycle: str | None
    name: str | None
    reason: str | None
    template_id: str | None = None
    changes: list[ChangeDoc]
    calls: list[CallDoc]
    declared: dict[str, Any] = Field(default_factory=dict, description="Declared units, references unresolved")
    basis: dict[str, Any] = Field(default_factory=dict, description="Redacted server values the bodies depend on")
    sensitive: list[list[Segment]] = Field(default_factory=list)
    description: str = Field(default="", description="The description a created job carries, marker included")
    generation: int | None = None


class SummaryDoc(_Model):
    create: int = 0
    update: int
    launch: int = 0
    replace: int = 0
    prune: int = 0
    destructive: int = 0
    blocked: int
    error: int
    unchanged: int
    orphan: int = 0
    calls: int


class RequestsDoc(_Model):
    reads: int
    writes: int
    retries: int


class UnjudgedDoc(_Model):
    root: str
    drafts: int


class ScopeDoc(_Model):
    """What the plan owns: ``--prune`` deletes only drafts created from these roots in this environment."""

    roots: list[str] = Field(min_length=1)
    env: Annotated[str, Field(pattern=names.ENVIRONMENT_PATTERN)] | None = None
    unjudged: list[UnjudgedDoc] = []


class PlanDoc(_Model):
    """A plan, as ``plan --format json`` prints it and ``plan --out`` saves it."""

    model_config = ConfigDict(
        json_schema_extra={"title": "ByteNite reconciler plan", "$id": "https://reconciler.bytenite.io/v1/plan"}
    )

    format_version: Literal[1]
    kind: Literal["plan", "drift"]
    partial: bool
    # Absent in plans written before roots were recorded: those owned the whole tree (the anchor, ".").
    scope: ScopeDoc = ScopeDoc(roots=["."])
    api_url: str | None = None
    jobs_prefix: str | None = None
    created_at: str | None = None
    summary: SummaryDoc
    requests: RequestsDoc
    jobs: list[JobDoc]


MAX_DEPTH: Final = 64  # as for manifests: deeper nesting is no plan this tool wrote, and recursion must not crash


def load(path: str) -> PlanDoc:
    """The document at ``path`` if it is a plan file or a drift report this reconciler can read, else a
    :class:`~reconciler.errors.PlanFileError` in one line.

    ``format_version`` must be the integer this reconciler writes (``true`` equals 1 in Python, and is
    refused). ``show`` renders what this returns; :func:`read` adds what applying needs on top.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except RecursionError:
        raise errors.PlanFileError(f"{path}: nested more than {MAX_DEPTH} levels deep: refused") from None
    except (OSError, ValueError) as error:
        raise errors.PlanFileError(f"{path}: not a readable JSON plan file ({error})") from None
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if type(version) is not int or version != plans.FORMAT_VERSION:
        raise errors.PlanFileError(
            f"{path}: plan format_version {version!r}; this reconciler reads {plans.FORMAT_VERSION}"
        )
    if _too_deep(raw):
        raise errors.PlanFileError(f"{path}: nested more than {MAX_DEPTH} levels deep: refused")
    try:
        return PlanDoc.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise errors.PlanFileError(f"{path}: not a valid plan file: {where}: {first['msg']}") from None


def read(path: str) -> PlanDoc:
    """The plan file at ``path``, ready to apply, or a :class:`~reconciler.errors.PlanFileError` saying why not.

    Beyond :func:`load`: a drift report is refused, ``api_url`` must be present (a plan without it could be
    applied against any API), and the file must be consistent with itself.
    """
    document = load(path)
    if document.kind != "plan":
        raise errors.PlanFileError(
            f"{path}: a drift report (plan --drift) cannot be applied; save a plan without --drift"
        )
    if not document.api_url:
        raise errors.PlanFileError(f"{path}: the plan file does not say which API it was made against (api_url)")
    check(document, path)
    return document


def check(document: PlanDoc, path: str) -> None:
    """Refuse, whole, a plan whose calls, targets or counts disagree with each other: no plan this tool wrote."""
    from reconciler.planning import planchecks

    inconsistent = planchecks.problems(document)
    if inconsistent:
        shown = "; ".join(inconsistent[:3]) + (f"; and {len(inconsistent) - 3} more" if len(inconsistent) > 3 else "")
        raise errors.PlanFileError(f"{path}: not a plan this tool wrote, refused whole: {shown}")


META_FIELDS: Final = ("api_url", "jobs_prefix", "created_at")


def meta(document: PlanDoc) -> dict[str, Any]:
    """Where and when the plan was made, as the file has it (keys it lacks stay absent, so JSON reads back)."""
    return {name: getattr(document, name) for name in META_FIELDS if name in document.model_fields_set}


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests deeper than :data:`MAX_DEPTH`; iterative, so it cannot overflow the stack."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
    return False


def is_plan_file(path: str) -> bool:
    """A single argument that is a JSON file holding ``format_version``: apply it instead of planning."""
    candidate = Path(path)
    if not candidate.is_file() or candidate.suffix.lower() in (".yaml", ".yml"):
        return False
    try:
        with candidate.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return head.lstrip().startswith(b"{") and b'"format_version"' in head


def to_plan(document: PlanDoc) -> plans.Plan:
    return plans.Plan(
        tuple(_job(job) for job in document.jobs),
        plans.Requests(document.requests.reads, document.requests.writes, document.requests.retries),
        markers.Scope.of(document.scope.roots, document.scope.env),
        tuple((item.root, item.drafts) for item in document.scope.unjudged),
    )


def _job(job: JobDoc) -> plans.JobPlan:
    return plans.JobPlan(
        job_id=job.id,
        source=job.source,
        action=plans.Action(job.action),
        lifecycle=job.lifecycle,
        name=job.name,
        changes=tuple(
            diffs.Change(
                tuple(change.segments),
                _value(change.before) if change.kind != "add" else diffs.ABSENT,
                _value(change.after) if change.kind != "remove" else diffs.ABSENT,
            )
            for change in job.changes
        ),
        calls=tuple(
            plans.Call(call.method, call.section, call.path, _value(call.body), call.destructive, call.target)
            for call in job.calls
        ),
        reason=job.reason or "",
        basis={unit: _value(value) for unit, value in job.basis.items()},
        declared={unit: _value(value) for unit, value in job.declared.items()},
        sensitive=frozenset(tuple(path) for path in job.sensitive),
        template_id=job.template_id,
        lines={change.path: change.line for change in job.changes if change.line is not None},
        description=job.description,
        generation=job.generation,
    )


def _value(value: Any) -> Any:
    """JSON back to plan values: ``{"sensitive": true, "fingerprint": ...}`` becomes a Sensitive again."""
    if isinstance(value, dict):
        if value.keys() == {"sensitive", "fingerprint"} and value["sensitive"] is True:
            return redaction.Sensitive(str(value["fingerprint"]))
        return {key: _value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_value(item) for item in value]
    return value


def schema_text() -> str:
    schema = PlanDoc.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")


def check_env(document: PlanDoc, env: str | None) -> None:
    """A plan file made for one environment is applied in that one only: its calls were planned against the
    other's jobs, and its ids may carry the other's keyPrefix."""
    if document.scope.env != env:
        made = f"environment {document.scope.env}" if document.scope.env else "no environment"
        given = f"environment {env}" if env else "no environment (no --env)"
        raise errors.ConfigError(f"the plan file was made for {made}; this run is for {given}: refused")


def desired_of_plan(jobs: Sequence[plans.JobPlan], environ: Mapping[str, str]) -> dict[str, states.Job]:
    """The desired state a plan file's jobs declare, their references resolved from ``environ`` (all or none)."""
    desired: dict[str, states.Job] = {}
    missing: list[str] = []
    for job in jobs:
        wanted = states.Job(job.job_id, job.declared, job.template_id, description=job.description)
        resolved, unset = references.resolve(wanted, environ)
        missing.extend(f"{item.variable} {item.reason} (needed by {job.source})" for item in unset)
        desired[job.job_id] = resolved
    if missing:
        raise errors.ConfigError("environment variables not usable: " + "; ".join(sorted(set(missing))))
    return desired
