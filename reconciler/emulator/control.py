"""Test control under ``/_emulator/``: outside ByteNite's API, no token needed, never faulted or logged.

    GET  /_emulator/requests            {"requests": [{"method", "path", "query", "route", "status",
                                                       "latencyMs", "fault"}]}   (arrival order)
    GET  /_emulator/counters            {"total", "reads", "writes", "byRoute": {"PATCH /jobs/{jobId}/params": N},
                                         "byStatus": {"200": N, "dropped": N}}
    POST /_emulator/reset               body optional {"jobs": true, "log": true, "faults": false}
                                        -> {"ok": true}   (tokens stay valid)
    POST /_emulator/jobs                body: one job in API shape (any state, ``id`` kept) -> the job;
                                        or {"jobs": [...]} -> {"jobs": [...]}   (bulk seeding)
    POST /_emulator/jobs/{jobId}/advance  body optional {"state": "JOB_STATE_X"} -> jobsJobResponse
    GET  /_emulator/faults              the fault settings (see ``faults.FaultSettings.to_json``)
    PUT  /_emulator/faults              body: some of those keys -> the merged settings; ``seed`` restarts draws
    GET  /_emulator/log                 {"witness": bool}
    PUT  /_emulator/log                 body {"witness": bool} -> the same: write witnesses on or off
    POST /_emulator/tokens/expire       -> {"expired": N}
    PUT  /_emulator/uploads/{jobId}     where a ``file`` data source's tempUrl points; accepts and discards

Errors are rpcStatus bodies with status 400 (bad body), 404 (unknown job) or 409 (state rule).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reconciler.emulator import store as jobs_store
from reconciler.emulator import wire
from reconciler.emulator.api import error
from reconciler.emulator.faults import Faults, FaultSettings
from reconciler.emulator.observing import RequestLog
from reconciler.emulator.tokens import Tokens


async def _optional_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    return {} if not body.strip() else wire.require_object(wire.parse_json(body), "body")


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise wire.BadRequest(f"{name}: expected a boolean")
    return value


class Control:
    """The handlers, bound to the emulator's parts."""

    def __init__(
        self, *, store: jobs_store.Store, tokens: Tokens, faults: Faults, log: RequestLog, initial: FaultSettings
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.faults = faults
        self.log = log
        self.initial = initial

    def routes(self) -> list[BaseRoute]:
        """Routes under ``/_emulator``."""
        return [
            Route("/requests", self.requests, methods=["GET"]),
            Route("/counters", self.counters, methods=["GET"]),
            Route("/reset", self._guarded(self.reset), methods=["POST"]),
            Route("/jobs", self._guarded(self.seed), methods=["POST"]),
            Route("/jobs/{jobId}/advance", self._guarded(self.advance), methods=["POST"]),
            Route("/faults", self._guarded(self.fault_settings), methods=["GET", "PUT"]),
            Route("/log", self._guarded(self.log_settings), methods=["GET", "PUT"]),
            Route("/tokens/expire", self.expire_tokens, methods=["POST"]),
            Route("/uploads/{jobId}", self.upload, methods=["PUT"]),
        ]

    @staticmethod
    def _guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)  # type: ignore[no-any-return]
            except (wire.BadRequest, ValueError) as exc:
                return error(400, 3, str(exc))
            except jobs_store.NotFound as exc:
                return error(404, 5, str(exc))
            except jobs_store.FailedPrecondition as exc:
                return error(409, 9, str(exc))

        return endpoint

    async def requests(self, request: Request) -> Response:
        """The request log."""
        return JSONResponse({"requests": self.log.requests()})

    async def counters(self, request: Request) -> Response:
        """Request counters."""
        return JSONResponse(self.log.counters())

    async def reset(self, request: Request) -> Response:
        """Clear jobs and/or the log (tokens stay valid); optionally restore the start-up fault settings."""
        body = await _optional_object(request)
        if _flag(body, "jobs", True):
            self.store.reset()
        if _flag(body, "log", True):
            self.log.clear()
        if _flag(body, "faults", False):
            self.faults.reset(self.initial)
        return JSONResponse({"ok": True})

    async def seed(self, request: Request) -> Response:
        """Seed one job, or ``{"jobs": [...]}``, exactly as given (any state, ids kept)."""
        body = wire.require_object(wire.parse_json(await request.body()), "body")
        if isinstance(body.get("jobs"), list):
            return JSONResponse({"jobs": self.store.seed(body["jobs"])})
        return JSONResponse(self.store.seed([body])[0])

    async def advance(self, request: Request) -> Response:
        """Move a job one state on, or to the given state."""
        body = await _optional_object(request)
        state = wire.parse_state(body["state"]) if "state" in body else None
        return JSONResponse(wire.job_response(self.store.advance(request.path_params["jobId"], state)))

    async def fault_settings(self, request: Request) -> Response:
        """Read or merge the fault settings."""
        if request.method == "PUT":
            self.faults.update(wire.require_object(wire.parse_json(await request.body()), "body"))
        return JSONResponse(self.faults.settings.to_json())

    async def log_settings(self, request: Request) -> Response:
        """Read or set whether writes carry witnesses (see ``observing``); reset leaves this alone."""
        if request.method == "PUT":
            self.log.witness = _flag(await _optional_object(request), "witness", self.log.witness)
        return JSONResponse({"witness": self.log.witness})

    async def expire_tokens(self, request: Request) -> Response:
        """Expire every token now."""
        return JSONResponse({"expired": self.tokens.expire_all()})

    async def upload(self, request: Request) -> Response:
        """Accept (and discard) a file PUT to a tempUrl."""
        size = len(await request.body())
        return JSONResponse({"ok": True, "jobId": request.path_params["jobId"], "bytes": size})
