"""Which manifests a run covers (its targets, exclusions and label selectors), and what planning keeps of each."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from reconciler import errors
from reconciler.desired import jobs, loading, manifests, positions
from reconciler.desired import validation as validating
from reconciler.planning import markers, masking, redaction, references, states


@dataclass(frozen=True)
class Selection:
    """Which manifests a run covers; a partial run says so in every format."""

    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    selectors: tuple[tuple[str, str], ...] = ()
    key_prefix: str = ""  # the environment's keyPrefix: a key is named with or without it

    @property
    def partial(self) -> bool:
        return bool(self.targets or self.excludes or self.selectors)

    def names(self, entry: validating.Entry) -> set[str | None]:
        key = entry.manifest.metadata.key
        short = key.removeprefix(self.key_prefix) if key is not None and self.key_prefix else None
        return {entry.job_id, key, short} - {None}

    def keeps(self, entry: validating.Entry) -> bool:
        labels, names = entry.manifest.metadata.labels, self.names(entry)
        if self.targets and not names & set(self.targets):
            return False
        if names & set(self.excludes):
            return False
        return all(labels.get(name) == value for name, value in self.selectors)

    def unanswered(self, answers: Answers) -> list[str]:
        """Each ``--target`` and ``--selector`` that no manifest answers to (a typo there would otherwise plan
        nothing and exit 0, reading as "in sync"), from the answers gathered as the manifests were validated."""
        missing = [f"--target {target}" for target in self.targets if target not in answers.names]
        return missing + [
            f"--selector {name}={value}" for name, value in self.selectors if (name, value) not in answers.labels
        ]


@dataclass
class Answers:
    """The names and labels the manifests of a run answer to (every manifest, selected or not)."""

    names: set[str | None] = field(default_factory=set)
    labels: set[tuple[str, str]] = field(default_factory=set)

    def add(self, selection: Selection, entry: validating.Entry) -> None:
        if selection.targets:
            self.names |= selection.names(entry)
        if selection.selectors:
            self.labels.update(entry.manifest.metadata.labels.items())


@dataclass(frozen=True, slots=True)
class Managed:
    """A valid manifest as planning needs it once its desired state is built: where it was found, how its job
    is named, and whether it asks for a launch. The rest of the manifest lives on in the desired state; its
    parsed tree and validated model are let go (at 10,000 manifests, a third of a plan's memory)."""

    document: loading.Document  # its position (validation with keep_data=False dropped its data)
    metadata: manifests.Metadata
    job_id: str
    run: bool = False

    @classmethod
    def of(cls, entry: validating.Entry) -> Managed:
        return cls(entry.document, entry.manifest.metadata, entry.job_id, entry.manifest.spec.run)

    @property
    def source(self) -> str:
        return f"{self.document.file}:{self.document.line}"


@dataclass(frozen=True)
class Prepared:
    """Valid manifests, their desired state with references resolved, and the paths that are sensitive."""

    entries: tuple[Managed, ...]
    desired: Mapping[str, states.Job]
    sensitive: Mapping[str, frozenset[redaction.Path]]
    declared: Mapping[str, states.Job]
    scope: markers.Scope = field(default_factory=markers.Scope)
    roots: Mapping[str, str] = field(default_factory=dict)  # job id -> the root its manifest was found under
    exposures: Mapping[str, masking.Exposure] = field(default_factory=dict)  # the desired side's secrets, by job

    def identity(self, entry: Managed) -> markers.Identity:
        """How the entry's job is named, and the root and environment a job created for it records."""
        root = self.roots.get(entry.job_id, markers.ANCHOR)
        return markers.Identity(entry.job_id, entry.metadata.key, root, self.scope.env)


@dataclass
class Building:
    """The desired states of the selected manifests, built one manifest at a time as validation hands them over,
    and the references found unset on the way (reported only if validation found nothing)."""

    environ: Mapping[str, str]
    keys: Collection[str]  # the project environments' API key variables, which no manifest may reference
    managed: list[Managed] = field(default_factory=list)
    desired: dict[str, states.Job] = field(default_factory=dict)
    declared: dict[str, states.Job] = field(default_factory=dict)
    sensitive: dict[str, frozenset[redaction.Path]] = field(default_factory=dict)
    exposures: dict[str, masking.Exposure] = field(default_factory=dict)
    problems: list[errors.ManifestProblem] = field(default_factory=list)

    def add(self, entry: validating.Entry) -> None:
        self.managed.append(Managed.of(entry))
        wanted = jobs.from_manifest(entry.manifest)
        resolved, missing = references.resolve(wanted, self.environ)
        for item in missing:
            where = positions.locate(entry.document.file, entry.document.index, ("spec", *item.path))
            reason = "holds a project environment's API key: a manifest may not reference it"
            reason = reason if item.variable in self.keys else item.reason
            self.problems.append(errors.ManifestProblem(where, f"environment variable {item.variable} {reason}"))
        self.desired[entry.job_id] = resolved
        self.declared[entry.job_id] = wanted
        self.sensitive[entry.job_id] = found = references.sensitive_paths(wanted)
        self.exposures[entry.job_id] = masking.exposure_of(resolved, found, desired=True)
