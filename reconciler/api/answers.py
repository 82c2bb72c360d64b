"""The API's answers, checked at the edge before anything downstream trusts them.

A 2xx is not proof of a sound body: a proxy, a newer API or a hostile server can send another job than the
one asked for, ``{"job": null}``, a config number as text or ``params`` as a string. Downstream code (states,
plans, bodies) assumes the contract's shapes, so each answer is validated here, once, against models of what
``openapi-customer.json`` and ``openapi-auth.json`` promise; what fails becomes an :class:`errors.BadAnswer`
naming the field, never the value (a value may be a credential). The raw dicts are handed on unchanged, so a
valid answer behaves exactly as before; validating 10,000 listed jobs costs about 70 ms.
"""

from __future__ import annotations

import functools
import math
from typing import Annotated, Any, Final, Required

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from typing_extensions import TypedDict

from reconciler import errors

DEFAULT_TOKEN_LIFETIME: Final = 3600.0
BROKEN: Final = "the server's answer breaks the API contract"

# int64 fields arrive as JSON strings ("3600"); input and older servers send numbers.
Int64 = StrictInt | Annotated[str, StringConstraints(pattern=r"^-?[0-9]{1,19}$")]
Struct = dict[str, Any]


class _Config(TypedDict, total=False):
    taskTimeout: Int64 | None
    jobTimeout: Int64 | None
    isTestJob: StrictBool | None


class _Params(TypedDict, total=False):
    partitioner: Struct | None
    assembler: Struct | None
    app: Struct | None


class _Source(TypedDict, total=False):
    dataSourceDescriptor: StrictStr | None
    params: Struct | None


class _Job(TypedDict, total=False):
    id: Required[Annotated[StrictStr, Field(min_length=1)]]
    name: StrictStr | None
    description: StrictStr | None
    state: StrictStr | None
    templateId: StrictStr | None
    config: _Config | None
    params: _Params | None
    dataSource: _Source | None
    dataDestination: _Source | None


class _JobAnswer(TypedDict):
    job: _Job


class _Pagination(TypedDict, total=False):
    total: Annotated[StrictInt, Field(ge=0)] | Annotated[str, StringConstraints(pattern=r"^[0-9]{1,19}$")] | None


class _Page(TypedDict, total=False):
    data: list[_Job] | None
    pagination: _Pagination | None


class _Token(TypedDict, total=False):
    # The token goes back in a header: printable ASCII only, or httpx fails to encode it.
    token: Required[Annotated[StrictStr, StringConstraints(pattern=r"^[\x21-\x7e]+$")]]
    expiresIn: Int64 | StrictFloat | None


@functools.cache
def _adapter(shape: Any) -> TypeAdapter[Any]:
    """One validator per answer's shape, built the first time that answer arrives: a plan that lists jobs never
    builds the single job's, and none is built at import (their schemas cost more than httpx's import)."""
    return TypeAdapter(shape)


def job(answer: dict[str, Any], *, where: str, asked: str | None = None) -> dict[str, Any]:
    """The job of a ``{"job": {...}}`` answer; ``asked`` is the id the request named, and the job must be it."""
    _check(_adapter(_JobAnswer), answer, where)
    found: dict[str, Any] = answer["job"]
    if asked is not None and found["id"] != asked:
        raise errors.BadAnswer(f"{where}: the server answered with another job, {found['id']!r}")
    return found


def page(answer: dict[str, Any], *, where: str) -> tuple[list[dict[str, Any]], int]:
    """The jobs of one ``GET /jobs`` page and the total the server reports."""
    _check(_adapter(_Page), answer, where)
    total = (answer.get("pagination") or {}).get("total") or 0
    return list(answer.get("data") or []), int(total)


def token(answer: dict[str, Any], *, where: str) -> tuple[str, float]:
    """The token and its lifetime in seconds; an absent lifetime is the documented hour."""
    _check(_adapter(_Token), answer, where)
    raw = answer.get("expiresIn")
    lifetime = DEFAULT_TOKEN_LIFETIME if raw in (None, "") else float(raw)
    if not math.isfinite(lifetime) or lifetime <= 0:
        raise errors.BadAnswer(f"{where}: {BROKEN}: expiresIn: not a positive number of seconds")
    return str(answer["token"]), lifetime


def _check(adapter: TypeAdapter[Any], answer: dict[str, Any], where: str) -> None:
    try:
        adapter.validate_python(answer)
    except ValidationError as error:
        raise errors.BadAnswer(f"{where}: {describe(error)}") from None


def describe(error: ValidationError) -> str:
    """The first problem of an answer, by field and kind: never the value, which may be a credential."""
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"] if not _is_union_branch(part)) or "the body"
    more = error.error_count() - 1
    extra = f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""
    return f"{BROKEN}: {where}: {first['msg']}{extra}"


def _is_union_branch(part: int | str) -> bool:
    """pydantic names the branch of a union it tried (``int``, ``str``, ``constrained-str``): not a field."""
    return isinstance(part, str) and (part in {"int", "str", "float", "bool", "none"} or "[" in part or "-" in part)
