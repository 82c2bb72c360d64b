"""Jobs no manifest of this run may write or delete: drafts another environment created, and marked drafts no manifest
claims (orphans), judged only within the run's own roots and environment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.planning import markers, states


def claimed_elsewhere(current: Mapping[str, states.Job], scope: markers.Scope) -> dict[str, str]:
    """Jobs another environment created: never written from this one. Two environments sharing an account and
    the same keys would otherwise take turns rewriting one job. (A run with no environment, such as rendered
    manifests applied as they are, is no environment's: it may manage them, as before projects existed.)"""
    found: dict[str, str] = {}
    if scope.env is None:
        return found  # no environment's run: nothing to read the markers for
    for base_id, job in current.items():
        marker = markers.read(job.description)
        if marker is not None and marker.env is not None and marker.env != scope.env:
            found[base_id] = (
                f"job {job.id} was created by environment {marker.env}, not {scope.env}: environments that "
                "share an account need different keyPrefix values in the project file"
            )
    return found


def orphans(
    listing: Sequence[dict[str, Any]], identities: Iterable[markers.Identity], scope: markers.Scope
) -> tuple[list[tuple[markers.Marker, states.Job]], dict[str, int]]:
    """Marked drafts that no manifest claims, created from the run's own roots and environment; and how many
    marked drafts, per root, were created from a root that holds the run's (other manifests of that root may
    claim them, so they are counted and never judged).

    Never a started job, never an unmarked one, never one a manifest names by its id (whatever its marker says:
    a key moved to ``metadata.id`` still manages its job), never another folder's or environment's.
    """
    identities = list(identities)
    claimed = {identity.claim for identity in identities}
    managed = {identity.base_id for identity in identities}
    found = []
    wider: dict[str, int] = {}
    for raw in listing:
        marker = markers.read(str(raw.get("description") or ""))
        if marker is None or marker.claim in claimed or raw.get("state", states.DRAFT) != states.DRAFT:
            continue
        if str(raw.get("id")) in managed:
            continue
        standing = scope.standing(marker)
        if standing is markers.Standing.WIDER:
            root = marker.root or markers.ANCHOR
            wider[root] = wider.get(root, 0) + 1
        elif standing is markers.Standing.OWN:
            found.append((marker, states.from_api(raw)))
    return found, wider
