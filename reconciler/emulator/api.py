"""ByteNite's routes: ``POST /v1/auth/access_token`` and the jobs API under ``/v1/customer``.

Each handler parses (``wire``), authorises, applies (``store``) and answers; errors become rpcStatus
bodies here and nowhere else: 400 code 3 for a malformed request, 400 code 9 for a write to a job that is
not a draft, 401 code 16 for a missing, unknown or expired token, 404 code 5 for an unknown job.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reconciler.emulator import observing, wire
from reconciler.emulator import store as jobs_store
from reconciler.emulator.tokens import Tokens

Handler = Callable[[Request], Awaitable[Response]]

_INTEGER = re.compile(r"-?[0-9]+")

# gRPC codes the gateway maps to HTTP statuses.
INVALID_ARGUMENT = 3
NOT_FOUND = 5
FAILED_PRECONDITION = 9
UNAUTHENTICATED = 16


class Unauthenticated(Exception):
    """No live token on the request."""


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An rpcStatus answer."""
    return JSONResponse(wire.rpc_status(code, message), status_code=status, headers=headers)


def _answers(handler: Handler) -> Handler:
    """Turn the exceptions of parsing, auth and state rules into the gateway's error answers."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except Unauthenticated as exc:
            return error(401, UNAUTHENTICATED, str(exc))
        except wire.BadRequest as exc:
            return error(400, INVALID_ARGUMENT, str(exc))
        except jobs_store.NotFound as exc:
            return error(404, NOT_FOUND, str(exc))
        except jobs_store.FailedPrecondition as exc:
            return error(400, FAILED_PRECONDITION, str(exc))

    return endpoint


def _query_int(request: Request, name: str) -> int:
    # pagination.* are int64 query parameters: anything but an integer is a 400, a missing one is 0 (unset).
    values = request.query_params.getlist(name)
    if not values:
        return 0
    if not _INTEGER.fullmatch(values[-1]) or not wire.INT64_MIN <= int(values[-1]) <= wire.INT64_MAX:
        raise wire.BadRequest(f"{name}: expected an int64 integer, got {values[-1]!r}")
    return int(values[-1])


async def _body(request: Request) -> Any:
    return wire.parse_json(await request.body())


class CustomerApi:
    """The handlers, bound to one store and one token registry."""

    def __init__(self, store: jobs_store.Store, tokens: Tokens) -> None:
        self.store = store
        self.tokens = tokens

    def auth_routes(self) -> list[BaseRoute]:
        """Routes under ``/v1/auth``."""
        return [Route("/access_token", _answers(self.access_token), methods=["POST"])]

    def job_routes(self) -> list[BaseRoute]:
        """Routes under the jobs root (``/v1/customer``). One Route per path, so a 405 lists every method."""
        return [
            Route("/jobs", _answers(self.jobs), methods=["GET", "POST"]),
            Route("/jobs/{jobId}", _answers(self.job), methods=["GET", "DELETE"]),
            Route("/jobs/{jobId}/jobname", _answers(self.set_name), methods=["PATCH"]),
            Route("/jobs/{jobId}/datasource", _answers(self.set_data_sources), methods=["PATCH"]),
            Route("/jobs/{jobId}/params", _answers(self.set_params), methods=["PATCH"]),
            Route("/jobs/{jobId}/configs", _answers(self.set_config), methods=["PATCH"]),
            Route("/jobs/{jobId}/run", _answers(self.run), methods=["POST"]),
            Route("/jobs/{jobId}/abort", _answers(self.abort), methods=["POST"]),
        ]

    def _authorise(self, request: Request) -> None:
        # The raw token, no "Bearer " prefix, as ByteNite's own examples send it.
        token = request.headers.get("authorization")
        if not token:
            raise Unauthenticated("missing Authorization header (send the raw access token)")
        if not self.tokens.valid(token):
            raise Unauthenticated("unknown or expired access token")

    def _witness(self, request: Request, job_id: str | None, body: Any) -> None:
        # Taken after the body was read and before the store applies it, with no await between: on the one
        # event loop, the job seen here is the job the write meets (the stepper thread aside, under
        # --step-seconds 0 there is none).
        before = None if job_id is None else self.store.find(job_id)
        observing.witness(request.scope, job_id, before, body)

    async def access_token(self, request: Request) -> Response:
        """Exchange an API key for a token; ``expiresIn`` is an int64, hence a string."""
        body = wire.require_object(await _body(request), "body")
        api_key = wire.require_string(body.get("apiKey", ""), "apiKey")
        if not self.tokens.accepts(api_key):
            raise Unauthenticated("invalid API key")
        token = self.tokens.issue()
        return JSONResponse({"token": token, "expiresIn": str(self.tokens.ttl_seconds), "scope": "customer"})

    async def jobs(self, request: Request) -> Response:
        """``GET /jobs`` (one page) and ``POST /jobs`` (create, or upsert a draft)."""
        self._authorise(request)
        if request.method == "POST":
            raw = await _body(request)
            create = wire.parse_create(raw)
            self._witness(request, create.job_id or None, raw)
            return JSONResponse(wire.job_response(self.store.create(create)))
        page = self.store.page(_query_int(request, "pagination.limit"), _query_int(request, "pagination.offset"))
        pagination = {
            "total": str(page.total),
            "offset": str(page.offset),
            "hasPrevious": page.offset > 0,
            "hasNext": page.has_next,
        }
        return JSONResponse({"pagination": pagination, "data": page.jobs})

    async def job(self, request: Request) -> Response:
        """``GET /jobs/{id}`` and ``DELETE /jobs/{id}`` (a draft only)."""
        self._authorise(request)
        job_id = request.path_params["jobId"]
        if request.method == "DELETE":
            self._witness(request, job_id, None)
            self.store.delete(job_id)
            return _generic(f"job {job_id} deleted")
        return JSONResponse(wire.job_response(self.store.get(job_id)))

    async def set_name(self, request: Request) -> Response:
        """``PATCH /jobname``: the body is a bare JSON string."""
        self._authorise(request)
        raw = await _body(request)
        name = wire.parse_name(raw)
        self._witness(request, request.path_params["jobId"], raw)
        return JSONResponse(wire.job_response(self.store.set_name(request.path_params["jobId"], name)))

    async def set_data_sources(self, request: Request) -> Response:
        """``PATCH /datasource``: replaces both data source and destination."""
        self._authorise(request)
        raw = await _body(request)
        sections = wire.parse_data_sources(raw)
        self._witness(request, request.path_params["jobId"], raw)
        job = self.store.set_data_sources(request.path_params["jobId"], sections)
        return JSONResponse(wire.job_response(job))

    async def set_params(self, request: Request) -> Response:
        """``PATCH /params``: replaces partitioner, assembler and app."""
        self._authorise(request)
        raw = await _body(request)
        params = wire.parse_params(raw, "body")
        self._witness(request, request.path_params["jobId"], raw)
        return JSONResponse(wire.job_response(self.store.set_params(request.path_params["jobId"], params)))

    async def set_config(self, request: Request) -> Response:
        """``PATCH /configs``: replaces all three config fields."""
        self._authorise(request)
        raw = await _body(request)
        config = wire.parse_config(raw, "body")
        self._witness(request, request.path_params["jobId"], raw)
        return JSONResponse(wire.job_response(self.store.set_config(request.path_params["jobId"], config)))

    async def run(self, request: Request) -> Response:
        """``POST /run``: a JSON object body is required (an empty body is 400 code 3, per the spec)."""
        self._authorise(request)
        raw = await _body(request)
        config = wire.parse_run(raw)
        job_id = request.path_params["jobId"]
        self._witness(request, job_id, raw)
        self.store.run(job_id, config)
        return _generic(f"job {job_id} started")

    async def abort(self, request: Request) -> Response:
        """``POST /abort``: deletes a draft, fails a running job."""
        self._authorise(request)
        job_id = request.path_params["jobId"]
        self._witness(request, job_id, None)
        outcome = self.store.abort(job_id)
        return _generic(f"job {job_id} {outcome}")


def _generic(message: str) -> Response:
    return JSONResponse(wire.generic_response(uuid.uuid4().hex, message))
