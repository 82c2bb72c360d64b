"""The emulator assembled: its parts, the Starlette app and the gateway in front of the API routes.

Routes: ``/v1/auth`` (token exchange), ``/v1/customer`` (jobs; also mounted at ``/v1/computing``, the root
ByteNite announced moving to) and ``/_emulator`` (test control, see ``control``). A path no route serves
answers a plain-text 404, as the web server in front of the gateway does, so that a client can tell a wrong
address from the API's own "no such job" (an rpcStatus 404 of code 5, from the job routes). A known path
with a method it does not take answers rpcStatus 405 code 12 with ``Allow``, as the gateway does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount

from reconciler.emulator import persistence
from reconciler.emulator.api import CustomerApi, error
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.control import Control
from reconciler.emulator.faults import Faults
from reconciler.emulator.gateway import Gateway
from reconciler.emulator.observing import RequestLog
from reconciler.emulator.store import Store
from reconciler.emulator.tokens import Tokens

logger = logging.getLogger("reconciler.emulator")

JOBS_ROOTS = ("/v1/customer", "/v1/computing")
UNSERVED = "404 page not found\n"
DOCUMENTED_JOB_PATH = re.compile(
    r"^/v1/(customer|computing)/jobs/[^/]*(/(jobname|datasource|params|configs|run|abort))?$", re.S
)


@dataclass
class Emulator:
    """Everything one emulator holds; ``asgi`` is what uvicorn serves."""

    config: EmulatorConfig
    base_url: str
    store: Store
    tokens: Tokens
    faults: Faults
    log: RequestLog
    asgi: Gateway


def build(config: EmulatorConfig, base_url: str) -> Emulator:
    """Make an emulator for ``config``, serving at ``base_url`` (used for the tempUrls it hands out)."""
    state_file = config.state_file

    def save(jobs: list[dict[str, Any]]) -> None:
        if state_file is not None:
            persistence.save_jobs(state_file, jobs)

    store = Store(upload_url=lambda job_id: f"{base_url}/_emulator/uploads/{job_id}", on_change=save)
    if state_file is not None:
        store.load(persistence.load_jobs(state_file))
    if config.seed_file is not None:
        store.seed(persistence.read_seed_file(config.seed_file))
    tokens = Tokens(api_key=config.api_key, ttl_seconds=config.token_ttl)
    faults = Faults(config.faults)
    log = RequestLog()
    api = CustomerApi(store, tokens)
    control = Control(store=store, tokens=tokens, faults=faults, log=log, initial=config.faults)
    routes = [
        Mount("/v1/auth", routes=api.auth_routes()),
        *(Mount(root, routes=api.job_routes()) for root in JOBS_ROOTS),
        Mount("/_emulator", routes=control.routes()),
    ]
    starlette = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=_stepping(store, config.step_seconds),
    )
    # "/jobs/" must not be redirected to "/jobs": the gateway answers it 404 (an empty job id).
    starlette.router.redirect_slashes = False
    for mount in starlette.router.routes:
        if isinstance(mount, Mount):
            mount.app.redirect_slashes = False  # type: ignore[attr-defined]
    asgi = Gateway(starlette, faults=faults, log=log)
    return Emulator(config=config, base_url=base_url, store=store, tokens=tokens, faults=faults, log=log, asgi=asgi)


async def _http_error(request: Request, exc: Exception) -> Response:
    # An unserved path: plain text, never the rpcStatus of code 5 that means "no such job". A wrong method on a
    # served path: the gateway's 405 UNIMPLEMENTED (12), keeping `Allow`.
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        raw = request.scope.get("raw_path")  # still percent-encoded: an id holding "%2F" stays one segment
        if DOCUMENTED_JOB_PATH.match(raw.decode("latin-1") if raw else request.url.path):
            # A documented operation whose id the router could not take (a newline, say): no such job.
            return error(404, 5, "job not found")
        return PlainTextResponse(UNSERVED, status_code=404)
    code = {404: 5, 405: 12}.get(exc.status_code, 2)
    return error(exc.status_code, code, exc.detail, headers=dict(exc.headers or {}))


async def _server_error(request: Request, exc: Exception) -> Response:
    # A bug in the emulator still answers in the gateway's shape (500, INTERNAL), and says what broke.
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error(500, 13, f"internal error: {type(exc).__name__}: {exc}")


def _stepping(store: Store, step_seconds: float) -> Any:
    """A lifespan that advances running jobs one state per ``step_seconds`` (none when it is 0)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_step_forever(store, step_seconds)) if step_seconds > 0 else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return lifespan


async def _step_forever(store: Store, step_seconds: float) -> None:
    tick = min(step_seconds / 4, 0.25)
    while True:
        await asyncio.sleep(tick)
        try:
            store.tick(step_seconds)
        except Exception:  # a failed tick (say, a full disk for the state file) must not stop the stepper
            logger.exception("advancing running jobs failed")
