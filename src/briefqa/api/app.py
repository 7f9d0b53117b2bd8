"""The FastAPI app factory: loads the model and index once, maps errors, holds no logic."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import BriefqaError
from ..live import LiveIndex
from ..settings import Settings
from . import routes_admin, routes_search, routes_sources

log = logging.getLogger("briefqa.api")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def create_app(settings: Settings | None = None, live: LiveIndex | None = None) -> FastAPI:
    """The app; ``live`` may be given (tests, ``briefqa serve``) or is built from ``settings``."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "live", None) is None:
            from ..embed import load_embedder

            embedder = await asyncio.to_thread(load_embedder, settings.model)
            app.state.live = LiveIndex(settings.corpus, settings.index, embedder)
        await asyncio.to_thread(app.state.live.refresh)
        watcher = asyncio.create_task(_watch_versions(app.state.live, settings.reload_interval))
        try:
            yield
        finally:
            watcher.cancel()

    app = FastAPI(title="briefqa", version="0.1.0", lifespan=lifespan,
                  description="Answers questions with sentences quoted verbatim from policy briefs.")
    app.state.settings = settings
    app.state.live = live
    app.include_router(routes_search.router)
    app.include_router(routes_sources.router)
    app.include_router(routes_admin.router)
    _install_error_handlers(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app


async def _watch_versions(live: LiveIndex, interval: float) -> None:
    """Pick up versions published by any builder (CLI or HTTP) within ``interval`` seconds."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(live.refresh)
        except Exception:
            log.exception("index refresh failed")


def _install_error_handlers(app: FastAPI) -> None:
    """The one mapping of errors to HTTP: every error is ``{"detail": ...}`` with its status."""

    @app.exception_handler(BriefqaError)
    async def briefqa_error(_: Request, exc: BriefqaError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"detail": "internal error"}, status_code=500)
