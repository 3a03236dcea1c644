"""The FastAPI application: error shape, body limit, lifespan (event listener), routers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import traceback
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from kiosk import __version__
from kiosk.backoffice.asgi import replaying
from kiosk.backoffice.config import Settings, load_settings
from kiosk.backoffice.context import Backoffice
from kiosk.backoffice.csrf import SameOrigin
from kiosk.backoffice.db import reading, safe_error
from kiosk.backoffice.engine.errors import EngineError
from kiosk.backoffice.errors import ApiError, to_http
from kiosk.backoffice.events import listen_postgres
from kiosk.backoffice.schemas import Health
from kiosk.configfile import load_catalog

log = logging.getLogger(__name__)

ENV_DB = "WARD_BACKOFFICE_DB"
ENV_CONFIG = "WARD_BACKOFFICE_CONFIG"
ENV_CATALOG = "WARD_BACKOFFICE_CATALOG"

_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
                 413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
                 429: "rate_limited"}


class BodyLimit:
    """Refuse bodies over the limit with 413 before any route reads them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _too_large(self.limit, send)
            return
        if length is None and scope["method"] in ("POST", "PUT", "PATCH"):
            chunks: list[bytes] = []
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                more = message.get("more_body", False)
                if size > self.limit:
                    await _too_large(self.limit, send)
                    return
            await self.app(scope, replaying(b"".join(chunks), receive), send)
            return
        await self.app(scope, receive, send)


async def _too_large(limit: int, send: Send) -> None:
    body = (b'{"error":"payload_too_large","message":"the request body is larger than '
            + str(limit).encode() + b' bytes"}')
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _describe(errors: list[Any]) -> str:
    parts = []
    for e in errors[:5]:
        where = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts)


# An error is about one request (often one ticket or one code): never kept by a cache, as
# the successful answers of the same routes are not (deps.no_store).
NOT_CACHED = {"Cache-Control": "no-store"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status,
                            headers={**NOT_CACHED, **(exc.headers or {})})

    @app.exception_handler(EngineError)
    async def engine_error(_request: Request, exc: EngineError) -> JSONResponse:
        error = to_http(exc)
        return JSONResponse(error.body(), status_code=error.status, headers=NOT_CACHED)

    @app.exception_handler(RequestValidationError)
    async def validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"error": "bad_request",
                                 "message": "the body is not valid JSON"}, status_code=400,
                                headers=NOT_CACHED)
        clean = [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg")),
                  "type": str(e.get("type"))} for e in errors]
        return JSONResponse({"error": "validation_error", "message": _describe(errors),
                             "details": {"errors": clean}}, status_code=422,
                            headers=NOT_CACHED)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return JSONResponse({"error": code, "message": str(exc.detail)},
                            status_code=exc.status_code,
                            headers={**NOT_CACHED, **(getattr(exc, "headers", None) or {})})

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        # Handled here, not re-raised to the server's log: the message may quote a row.
        log.error("database error in %s %s: %s\n%s", request.method, request.url.path,
                  safe_error(exc), "".join(traceback.format_tb(exc.__traceback__)))
        return JSONResponse({"error": "internal", "message": "the server failed; see its log"},
                            status_code=500, headers=NOT_CACHED)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"error": "internal", "message": "the server failed; see its log"},
                            status_code=500, headers=NOT_CACHED)


def create_app(bo: Backoffice) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        bo.hub.bind(asyncio.get_running_loop())
        # The long-lived start-up objects (app, routes, catalog, models) leave the GC's
        # generations, and young collections run less often: fewer pauses in the tail.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        # More threads than connections only queue on the pool and fight over the GIL.
        anyio.to_thread.current_default_thread_limiter().total_tokens = \
            bo.settings.server.threads
        from kiosk.backoffice import catalog_versions, hash_key

        hash_key.start(bo.settings.appointments.hash_key_file)

        listener: asyncio.Task[None] | None = None
        fast: Any = None
        if not bo.is_pg and bo.settings.server.group_commit_max > 0:
            from kiosk.backoffice.groupcommit import GroupIssuer

            fast = GroupIssuer(bo)  # SQLite: one writer, group commit
            await fast.open()
            bo.fast_issuer = fast
        if bo.is_pg:
            from kiosk.backoffice.fastpath import FastIssuer

            fast = FastIssuer(bo)
            try:
                await fast.open()
            except Exception as exc:  # noqa: BLE001 — the general path still works
                log.warning("PostgreSQL hot path not available (%s); issuing the general way",
                            exc)
                await fast.close()
                fast = None
            bo.fast_issuer = fast
            ready = asyncio.Event()
            listener = asyncio.create_task(listen_postgres(
                bo.libpq_dsn(), bo.hub, ready, on_catalog=catalog_versions.notified(bo)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), 10)
        # The newest stored catalog version (the files become version 1 on the first
        # start), then a cheap poll for newer ones: see catalog_versions and docs.
        await anyio.to_thread.run_sync(catalog_versions.start, bo)
        watcher: asyncio.Task[None] | None = None
        if bo.settings.catalog.poll_seconds > 0:
            watcher = asyncio.create_task(
                catalog_versions.watch(bo, bo.settings.catalog.poll_seconds))
        purger: asyncio.Task[None] | None = None
        if bo.settings.retention.check_seconds > 0:
            from kiosk.backoffice.retention import purge_loop

            purger = asyncio.create_task(purge_loop(bo))
        notifier = None
        n = bo.settings.notify
        if n.push_on or n.email_on:  # the delivery worker: a thread apart from requests
            from kiosk.backoffice.notify_worker import Worker

            notifier = Worker(bo)
            notifier.start()
        no_shows: asyncio.Task[None] | None = None
        if bo.settings.appointments.no_show_check_seconds > 0:
            from kiosk.backoffice.engine.appointments import sweep_no_shows
            from kiosk.backoffice.periodic import run_every

            no_shows = asyncio.create_task(run_every(
                bo, bo.settings.appointments.no_show_check_seconds,
                (("marking no-shows", sweep_no_shows),)))
        places: asyncio.Task[None] | None = None
        if bo.settings.remote.sweep_seconds > 0:
            from kiosk.backoffice.engine.remote import sweep_all
            from kiosk.backoffice.periodic import run_every

            places = asyncio.create_task(run_every(
                bo, bo.settings.remote.sweep_seconds,
                (("sweeping places from home", sweep_all),)))
        try:
            yield
        finally:
            if notifier is not None:
                notifier.stop()
            for task in (watcher, purger, no_shows, places):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            bo.fast_issuer = None
            if fast is not None:
                await fast.close()
            bo.hub.close()
            if bo.positions is not None:
                bo.positions.close()
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            bo.engine.dispose()

    docs = bo.settings.security.api_docs  # off in production: no map of the API for free
    app = FastAPI(title="Ward back-office queue server", version=__version__,
                  lifespan=lifespan, description="Contract: docs/api.md",
                  docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None,
                  openapi_url="/openapi.json" if docs else None)
    app.state.backoffice = bo
    n = bo.settings.notify
    if n.push_on:  # a missing or wrong key stops the server at start, saying which file
        from kiosk.backoffice.webpush import Vapid

        app.state.vapid_public_key = Vapid.from_file(n.vapid_private_key,
                                                     n.vapid_subject).public_key
    install_error_handlers(app)
    from kiosk.backoffice.api import router as api_router
    from kiosk.backoffice.web import router as web_router

    app.include_router(api_router)
    try:
        from kiosk.backoffice.payments.router import router as payments_router
    except ImportError as exc:  # the payment part is optional for a queue-only server
        log.warning("payments API not available: %s", exc)
    else:
        app.include_router(payments_router, prefix="/api/v1")
    app.include_router(web_router)

    @app.get("/healthz", tags=["health"], response_model=Health,
             summary="Liveness and database check (public)")
    def healthz() -> dict[str, str]:
        with reading(bo.engine) as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok", "version": __version__}

    from kiosk.backoffice.fastpath import FastTickets

    app.add_middleware(FastTickets, bo=bo)  # inside BodyLimit: the limit holds for it too
    app.add_middleware(BodyLimit, limit=bo.settings.server.max_body_bytes)
    app.add_middleware(SameOrigin, public_url=bo.settings.server.public_url)  # outermost
    return app


def backoffice_from(db_url: str, config: str | None = None,
                    catalog: str | None = None) -> Backoffice:
    settings: Settings = load_settings(config)
    return Backoffice(db_url, settings, load_catalog(catalog))


def app_from_env() -> FastAPI:
    """uvicorn factory for worker processes: settings come through the environment."""
    from kiosk.logsetup import configure

    configure(os.environ.get("WARD_BACKOFFICE_LOG_LEVEL", "WARNING"))
    bo = backoffice_from(os.environ[ENV_DB], os.environ.get(ENV_CONFIG) or None,
                         os.environ.get(ENV_CATALOG) or None)
    return create_app(bo)
