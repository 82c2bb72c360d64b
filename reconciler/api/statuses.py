"""What came back, read as the error tree: an HTTP status and its body, or a failure below HTTP.

The API's errors are rpcStatus bodies (``{"code", "message", "details"}``) behind a status. A job is missing
only when the API says so (a 404 carrying its rpcStatus of code 5 on the job's path); any other 404 is an
:class:`errors.EndpointError`, no error of this call but of the address every call goes to, so no plan proposes
a create from a wrong address. Every message quoted from the server is scrubbed of the run's secrets first.
"""

from __future__ import annotations

import re
from collections.abc import Set
from typing import Any, Final

import httpx

from reconciler import errors
from reconciler.api import retrying
from reconciler.planning import redaction

TRANSIENT_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
GRPC_FAILED_PRECONDITION: Final = 9
GRPC_NOT_FOUND: Final = 5
SHOWN_BODY: Final = 80  # characters of a non-JSON body quoted in an error, after scrubbing
JOB_PATH: Final = re.compile(r"^/jobs/[^/]+(/[a-z]+)?$")
LONE_SURROGATE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
HINT_URL: Final = "BYTENITE_API_URL must be the API root, ending in /v1 (https://api.bytenite.com/v1)"
HINT_PREFIX: Final = "the jobs prefix is /customer (BYTENITE_JOBS_PREFIX)"
HINT_PROXY: Final = "a proxy or login page may be answering in the API's place"


def decode(response: httpx.Response, path: str, secrets: Set[str]) -> dict[str, Any]:
    """The JSON object a successful answer holds; anything else raises the error it means."""
    if not response.is_success:
        raise error(response, path, secrets)
    if not _is_json(response):
        detail = what_came_back(response, secrets)
        status = response.status_code
        raise errors.NotJson("the server answered with a page, not JSON", status=status, detail=detail)
    try:
        answer = response.json()
    except ValueError:
        raise errors.TransientError("the server sent a malformed JSON body", status=response.status_code) from None
    if not isinstance(answer, dict):
        raise errors.TransientError("the server sent a body that is not a JSON object", status=response.status_code)
    if LONE_SURROGATE.search(response.content):
        cleaned: dict[str, Any] = _without_lone_surrogates(answer)
        return cleaned
    return answer


def error(response: httpx.Response, path: str, secrets: Set[str]) -> errors.ApiError:
    """The error a failed answer means; a 404 that is not the API's own raises :class:`errors.EndpointError`
    instead, since it is no error of this call but of the address every call goes to."""
    status = response.status_code
    code, message = _status_of(response)
    message = redaction.scrub(message, secrets)
    if status == 429:
        return errors.RateLimited(message, retry_after=retrying.retry_after(response.headers.get("Retry-After")))
    if status in TRANSIENT_STATUSES:
        wait = retrying.retry_after(response.headers.get("Retry-After"))
        return errors.TransientError(message, status=status, code=code, retry_after=wait)
    if status in (401, 403):
        return errors.AuthError(message or "the API refused the credentials", status=status, code=code)
    if status == 404:
        if code == GRPC_NOT_FOUND and JOB_PATH.match(path):
            return errors.NotFound(message, status=status, code=code)
        # Not the API's "no such job": a wrong prefix or address. Judging jobs by it would plan creates.
        detail = what_came_back(response, secrets)
        raise errors.EndpointError(f"{detail}: this path is not served; {HINT_PREFIX}; {HINT_URL}")
    if code == GRPC_FAILED_PRECONDITION:
        return errors.FailedPrecondition(message, status=status, code=code)
    if 400 <= status < 500:
        return errors.BadRequest(message, status=status, code=code)
    return errors.ApiError(message, status=status, code=code)


def unreachable(failure: httpx.TransportError, *, call: str, address: str, secrets: Set[str]) -> errors.TransientError:
    """The error a failure below HTTP means: worth another try, named by ``call`` (``GET /jobs/ID``). A certificate
    that does not verify is no passing fault: retrying cannot fix it, so it raises :class:`errors.EndpointError`,
    naming ``address`` (the method and the whole URL), and the run ends."""
    reason = _transport_reason(failure, secrets)
    if reason.startswith("TLS verification failed"):
        raise errors.EndpointError(
            f"{address}: {reason}; the server's certificate is not trusted for this address: {HINT_URL}"
        ) from None
    return errors.TransientError(f"{call}: {reason}")


def what_came_back(response: httpx.Response, secrets: Set[str]) -> str:
    """``METHOD URL answered STATUS TYPE ("first bytes")``: enough to tell a login page from a wrong path."""
    request = response.request
    url = str(request.url.copy_with(query=None))
    kind = response.headers.get("content-type", "").split(";", 1)[0].strip() or "no content type"
    text = " ".join(response.content[: SHOWN_BODY * 4].decode("utf-8", "replace").split())
    shown = redaction.scrub(text, secrets, SHOWN_BODY)
    quoted = f' ("{shown}")' if shown else ""
    return f"{request.method} {url} answered {response.status_code} {kind}{quoted}"


def _is_json(response: httpx.Response) -> bool:
    """A JSON content type, or none at all (the body then decides); anything else is a page, not the API."""
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return not media or media == "application/json" or media.endswith("+json")


def _without_lone_surrogates(value: Any) -> Any:
    """``"\\ud800"`` decodes to a string no terminal or file can encode: each lone half becomes U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_without_lone_surrogates(key): _without_lone_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    return value


def _transport_reason(failure: httpx.TransportError, secrets: Set[str]) -> str:
    """What went wrong below HTTP, in words: a refused connection, a failed TLS check, a dropped answer."""
    detail = str(failure) or str(failure.__cause__ or "")
    if "CERTIFICATE_VERIFY_FAILED" in detail or "certificate" in detail.lower():
        return f"TLS verification failed ({redaction.scrub(detail, secrets, 160)})"
    return f"{type(failure).__name__}: {redaction.scrub(detail, secrets, 160)}" if detail else type(failure).__name__


def _status_of(response: httpx.Response) -> tuple[int | None, str]:
    """The gRPC code and message of an rpcStatus body, or what can be said of any other body."""
    try:
        body = response.json()
    except ValueError:
        return None, response.reason_phrase or f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return None, f"HTTP {response.status_code}"
    code = body.get("code")
    message = body.get("message")
    nested = body.get("error")
    if not isinstance(message, str) and isinstance(nested, dict):
        message = nested.get("message")
    if not isinstance(message, str):
        message = response.reason_phrase or ""
    return (code if isinstance(code, int) and not isinstance(code, bool) else None), message
