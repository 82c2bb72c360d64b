"""What of a job may be shown: its secrets found in one walk, and every value masked through one object.

A job's secrets are the strings under its credential fields, at its sensitive paths (values taken from the
environment) and in URLs carrying a password, on either side. The walk that finds them also says whether
masking could change anything at all: most jobs hold no credential field, no such URL and no reference, and
for those every mask returns its input unchanged, without walking the values again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from reconciler.planning import diffs, names, redaction, references, states


@dataclass(frozen=True, slots=True)
class Exposure:
    """A job's secrets, by value, and whether any value of it needs masking at all.

    The secrets are what the manifest took from the environment (the template id too), and every credential
    leaf and every value at a sensitive path on either side: a value from this set is masked wherever a diff
    places it, and scrubbed from the API's error messages.
    """

    secrets: frozenset[str] = frozenset()
    needed: bool = False

    def __or__(self, other: Exposure) -> Exposure:
        return Exposure(self.secrets | other.secrets, self.needed or other.needed)


def exposure_of(job: states.Job | None, sensitive: frozenset[redaction.Path], *, desired: bool) -> Exposure:
    """One side's :class:`Exposure`; the desired side's is found once per run and kept with the manifests."""
    if job is None:
        return Exposure(needed=bool(sensitive))
    values: set[str] = set()
    needed = bool(sensitive)
    for unit, value in job.units.items():
        found, met = redaction.exposure(value, states.unit_path(unit), sensitive)
        values.update(found)
        needed = needed or met
    if desired and references.TEMPLATE in sensitive and job.template_id:
        values.add(job.template_id)
    values.discard("")
    return Exposure(frozenset(values), needed)


def secret_values(
    desired: states.Job | None, current: states.Job | None, sensitive: frozenset[redaction.Path]
) -> frozenset[str]:
    """The secrets of both sides of a job."""
    both = exposure_of(desired, sensitive, desired=True) | exposure_of(current, sensitive, desired=False)
    return both.secrets


def secrets_of(desired: Mapping[str, states.Job], sensitive: Mapping[str, frozenset[redaction.Path]]) -> set[str]:
    """Every secret the manifests hold, by value (a referenced templateId, a credential holding a list or a
    mapping): scrubbed from API error messages."""
    values: set[str] = set()
    for job_id, job in desired.items():
        values.update(secret_values(job, None, sensitive.get(job_id, frozenset())))
    return values


@dataclass(frozen=True, slots=True)
class Mask:
    """How one job's values are shown: by its sensitive paths, under the account's fingerprint key, with its
    secrets masked by value. ``needed`` false means nothing of the job is secret: every method returns its
    input (a unit filter aside, which masking exists to save and no reader depends on)."""

    sensitive: frozenset[redaction.Path]
    key: bytes
    secrets: frozenset[str] = frozenset()
    needed: bool = True

    @classmethod
    def of(
        cls,
        desired: states.Job | None,
        current: states.Job | None,
        sensitive: frozenset[redaction.Path],
        key: bytes,
        known: Exposure | None = None,
    ) -> Mask:
        """The mask of a job's two sides; ``known`` is the desired side's exposure, if found already."""
        ours = known if known is not None else exposure_of(desired, sensitive, desired=True)
        both = ours | exposure_of(current, sensitive, desired=False)
        return cls(sensitive, key, both.secrets, both.needed)

    def value(self, value: Any, path: redaction.Path) -> Any:
        if not self.needed:
            return value
        return redaction.mask(value, path, self.sensitive, self.key, self.secrets)

    def units(self, job: states.Job, only: Collection[str] | None = None) -> states.Job:
        """``job`` with its secrets masked; ``only`` limits it to the units that will be shown (masking costs)."""
        if not self.needed:
            return job
        units = {
            unit: redaction.mask(value, states.unit_path(unit), self.sensitive, self.key, self.secrets)
            for unit, value in job.units.items()
            if only is None or unit in only
        }
        template = job.template_id if references.TEMPLATE not in self.sensitive else self.template(job)
        return replace(job, units=units, template_id=template)

    def change(self, change: diffs.Change) -> diffs.Change:
        """A change fit to show. Masking by path alone is not enough: deepdiff reports a list change at the old
        position while the manifest's reference sits at the new one, so each side is also masked by value.
        """
        if not self.needed:
            return change

        def shown(value: Any) -> Any:
            return value if value is diffs.ABSENT else self.value(value, change.path)

        return diffs.Change(change.path, shown(change.before), shown(change.after))

    def name(self, job: states.Job) -> str | None:
        name = self.value(job.units.get("name"), ("name",))
        return str(name) if name is not None else None

    def template(self, job: states.Job) -> str:
        """A template id fit to show: a fingerprint when the manifest took it from the environment."""
        shown = redaction.mask(job.template_id, references.TEMPLATE, self.sensitive, self.key)
        return str(shown) if isinstance(shown, redaction.Sensitive) else repr(shown)

    def declared(self, units: Mapping[str, Any]) -> dict[str, Any]:
        """Declared values keep their references; any other value at a credential or sensitive path is masked.

        Callers pass the unresolved units, so only references sit at sensitive paths; should resolved values
        ever arrive here, they are masked rather than kept.
        """
        if not self.needed:
            return dict(units)
        return {unit: self._credentials(value, states.unit_path(unit)) for unit, value in units.items()}

    def _credentials(self, value: Any, path: redaction.Path) -> Any:
        if isinstance(value, str) and names.REFERENCE.match(value):
            return value
        if redaction.is_sensitive(path, self.sensitive):
            return redaction.mask(value, path, self.sensitive, self.key)
        if isinstance(value, dict):
            return {name: self._credentials(item, (*path, name)) for name, item in value.items()}
        if isinstance(value, list):
            return [self._credentials(item, (*path, index)) for index, item in enumerate(value)]
        return value
