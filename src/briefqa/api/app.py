"""The FastAPI app factory: loads the model and index once, maps errors, holds no logic."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import BriefqaError
from ..live import LiveIndex
from ..settings import Settings
from . import routes_admin, routes_pages, routes_search, routes_sources
from .schemas import NONBLANK
from .templating import STATIC, error_page, wants_html

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
            from ..embed import load_serving_embedder

            embedder = await asyncio.to_thread(load_serving_embedder, settings.model)
            app.state.live = LiveIndex(settings.corpus, settings.index, embedder)
        await asyncio.to_thread(app.state.live.refresh)
        watcher = asyncio.create_task(_watch_versions(app.state.live, settings.reload_interval))
        try:
            yield
        finally:
            watcher.cancel()

    app = FastAPI(
        title="briefqa",
        version="0.1.0",
        lifespan=lifespan,
        description="Answers questions with sentences quoted verbatim from policy briefs.",
    )
    app.state.settings = settings
    app.state.live = live
    app.include_router(routes_search.router)
    app.include_router(routes_sources.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _install_error_handlers(app)

    app.add_middleware(SecurityHeaders)
    return app


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response that does not set them itself.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` costs a task and a queue per
    request, measurable under concurrent load.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self._headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _watch_versions(live: LiveIndex, interval: float) -> None:
    """Pick up versions published by any builder (CLI or HTTP) within ``interval`` seconds."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(live.refresh)
        except Exception:
            log.exception("index refresh failed")


def _install_error_handlers(app: FastAPI) -> None:
    """The one mapping of errors to HTTP: every error is ``{"detail": ...}`` with its status.

    A browser asking for a page gets the same detail as a readable page instead.
    """

    def reply(request: Request, status: int, detail: object, headers: Mapping[str, str] | None = None) -> Response:
        if wants_html(request):
            return error_page(request, status, detail, headers)
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)

    @app.exception_handler(BriefqaError)
    async def briefqa_error(request: Request, exc: BriefqaError) -> Response:
        return reply(request, exc.http_status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return reply(request, 422, [_issue(e) for e in exc.errors()])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
            # FastAPI's word for a body json.loads cannot even decode (bytes that are not UTF-8/16/32);
            # the contract answers every malformed JSON body alike.
            return reply(request, 422, "the request body is not valid JSON text")
        return reply(request, exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"detail": "internal error"}, status_code=500)


_UNPARSABLE_BODY = "There was an error parsing the body"


def _issue(error: dict[str, object]) -> dict[str, object]:
    loc = error.get("loc", ())
    msg = str(error.get("msg", ""))
    ctx = error.get("ctx")
    if error.get("type") == "string_pattern_mismatch" and isinstance(ctx, dict) and ctx.get("pattern") == NONBLANK:
        msg = "must hold more than whitespace"  # the pattern itself reads as noise
    return {"loc": list(loc) if isinstance(loc, (list, tuple)) else [], "msg": msg, "type": str(error.get("type", ""))}
