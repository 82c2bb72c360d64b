"""What pydantic cannot see in a manifest: values that are not JSON, nulls, literal credentials, malformed
references, variables without a project."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Final

from reconciler.desired import variables as variables_module
from reconciler.desired import wording
from reconciler.planning import names

MAX_EXACT_DOUBLE: Final = 2**53


JSON_SCALARS: Final = (str, int, float, bool, type(None))


def plain_checks(data: Any, *, variables: bool = False) -> Iterator[tuple[wording.Loc, str]]:
    """What pydantic cannot see: values that are not JSON, nulls, literal credentials, malformed references.

    Manifests live in git, so a credential written in plain text is refused with the way out; a reference must
    be the whole value, so ``Bearer ${env:X}`` is refused rather than sent with the text ``${env:X}`` in it.
    """
    spec = data.get("spec") if isinstance(data, dict) else None
    if not variables and isinstance(data, dict):
        yield from _unresolved(data.get("metadata"))
    if isinstance(spec, dict):
        if suspect(spec, 1, params=False, credential=False):
            yield from check(spec, ("spec",), credential=None, variables=variables)
        description = spec.get("description")
        if isinstance(description, str) and "${env:" in description:
            yield (
                ("spec", "description"),
                "description is written once, at creation: it cannot be a reference",
            )
        if isinstance(description, str) and any(line.startswith("managed-by:") for line in description.splitlines()):
            yield ("spec", "description"), "a line starting 'managed-by:' is the tool's ownership marker: reword it"


def _unresolved(metadata: Any) -> Iterator[tuple[wording.Loc, str]]:
    """Without a project no variable is declared: a ``${var:...}`` would otherwise reach the API as text. The spec's
    scalars are checked in :func:`_check_scalar`, which walks them anyway; here the metadata's."""
    if not isinstance(metadata, dict):
        return
    labels = metadata.get("labels")
    items: list[tuple[wording.Loc, Any]] = [(("metadata", "key"), metadata.get("key"))]
    if isinstance(labels, dict):
        items += [(("metadata", "labels", name), value) for name, value in labels.items()]
    for loc, value in items:
        if isinstance(value, str) and variables_module.STARTED in value:
            yield loc, _undeclared(value)


def _undeclared(value: str) -> str:
    name = value.split(variables_module.STARTED, 1)[1].split("}", 1)[0]
    return variables_module.unknown(name, [])


def suspect(value: Any, depth: int, *, params: bool, credential: bool) -> bool:
    """Whether :func:`check` could find anything in ``value`` (at ``depth`` in the document, under
    ``spec.params`` or not, inside a credential field or not). Every manifest's every value passes here, and
    almost none holds a problem: this walk builds no location and no generator, and errs towards yes (any
    ``$`` or ``@`` in a string), leaving the exact problem and its position to :func:`check`.
    """
    if isinstance(value, str):
        return credential or "$" in value or "@" in value
    if isinstance(value, bool):
        return credential
    if isinstance(value, int):
        return credential or (params and depth > 3 and abs(value) > MAX_EXACT_DOUBLE)
    if isinstance(value, float):
        return credential or not math.isfinite(value)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return True
            inner = credential or names.is_credential_name(key)
            if suspect(item, depth + 1, params=params or (depth == 1 and key == "params"), credential=inner):
                return True
        return False
    if isinstance(value, list):
        for item in value:  # a loop, not any(): no generator per level  # noqa: SIM110
            if suspect(item, depth + 1, params=params, credential=credential):
                return True
        return False
    return True  # null (refused outside params' Structs) and every kind JSON does not have


def check(
    value: Any, loc: wording.Loc, *, credential: str | None, variables: bool
) -> Iterator[tuple[wording.Loc, str]]:
    struct = len(loc) > 3 and loc[1] == "params"  # inside params.<engine>: a free-form protobuf Struct
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield (*loc, key), f"keys must be strings, got {wording.kind_of(key)}: quote it"
                continue
            inner = key if names.is_credential_name(key) else credential
            yield from check(item, (*loc, key), credential=inner, variables=variables)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from check(item, (*loc, index), credential=credential, variables=variables)
        return
    yield from _check_scalar(value, loc, credential=credential, struct=struct, variables=variables)


def _check_scalar(
    value: Any, loc: wording.Loc, *, credential: str | None, struct: bool, variables: bool
) -> Iterator[tuple[wording.Loc, str]]:
    if not isinstance(value, JSON_SCALARS) or (isinstance(value, float) and not math.isfinite(value)):
        yield loc, f"{wording.kind_of(value)} is not a JSON value: quote it to make it a string"
    elif value is None and not struct:
        yield loc, "null is not allowed here: remove the key to leave it unmanaged, or give {} to clear it"
    elif struct and isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_EXACT_DOUBLE:
        yield loc, "params numbers travel as doubles: integers beyond 2^53 would change; quote it"
    elif not variables and isinstance(value, str) and variables_module.STARTED in value:
        yield loc, _undeclared(value)
    elif isinstance(value, str) and "${env:" in value and not names.REFERENCE.match(value):
        yield loc, "a reference must be the whole value, as ${env:NAME} (NAME: letters, digits, _)"
    elif isinstance(value, str) and value.startswith("${env:" + names.RESERVED_PREFIX):
        yield loc, f"{names.RESERVED_PREFIX}* variables are this tool's own settings: a manifest may not use them"
    elif credential is not None and not (isinstance(value, str) and names.REFERENCE.match(value)):
        yield loc, f"{credential} holds a literal credential: reference it instead, as ${{env:NAME}}"
    elif isinstance(value, str) and names.has_userinfo(value):
        yield loc, "a URL with user:password@ holds a literal credential: reference it instead, as ${env:NAME}"
