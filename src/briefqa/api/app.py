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
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..answers.live import LiveIndex
from ..errors import BriefqaError
from ..settings import Settings
from . import routes_admin, routes_pages, routes_search, routes_sources, routes_transcript
from .docs import install_docs
from .rate_limit import RateLimit
from .schemas import NONBLANK
from .templating import STATIC, error_page, wants_html
from .thread_signing import signer_of

log = logging.getLogger("briefqa.api")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Other sites learn nothing; a source page learns which conversation linked to it (its way back).
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

# The largest request body read. The largest ask the contract allows (a question and 20 earlier
# ones of 1000 characters) fits as UTF-8 JSON up to three bytes a character (ASCII: 21 KB; CJK:
# 63 KB). Written with every character escaped as \uXXXX it could not, nor could a thread of
# 1000-character questions made of emoji: questions that long are rare, a 300 MB body is not.
MAX_BODY = 64 * 1024
# After a 413, the rest of the body is read and dropped before the connection closes, up to these
# bounds, as nginx's lingering close does: a client that sends its whole body before it reads
# (Python's urllib and requests do) would otherwise meet a reset connection or a broken pipe
# instead of the 413. Past either bound the connection closes as it stands.
DRAIN_BYTES = 32 * 1024 * 1024
DRAIN_SECONDS = 10.0


def create_app(settings: Settings | None = None, live: LiveIndex | None = None) -> FastAPI:
    """The app; ``live`` may be given (tests, ``briefqa serve``) or is built from ``settings``."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "live", None) is None:
            from ..embed import load_serving_embedder, share_cores
            from ..index.stores import open_store

            key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
            # Before the model: a Qdrant that cannot be reached stops the start at once, saying why.
            store = await asyncio.to_thread(open_store, settings.index, settings.qdrant, key)
            if settings.workers > 1:
                share_cores(settings.workers)
            embedder = await asyncio.to_thread(load_serving_embedder, settings.model)
            app.state.live = LiveIndex(settings.corpus, store, embedder)
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
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.live = live
    app.state.signer = signer_of(settings)
    app.include_router(routes_search.router)
    app.include_router(routes_transcript.router)
    app.include_router(routes_sources.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_docs(app)
    _install_error_handlers(app)

    # Added last is outermost: security headers go on every response, the 413 included.
    app.add_middleware(HeadAsGet)
    app.add_middleware(RateLimit, budget=settings.rate_budget)
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(SecurityHeaders)
    return app


async def _send_too_large(send: Send, receive: Receive, detail: str, *, drain: bool) -> None:
    """The 413 in the one JSON shape, from middleware that answers before the app does.

    With ``drain``, the rest of the body is read and dropped between the status line and the
    response body (see ``DRAIN_BYTES``): the server closes the connection once the body is sent,
    and from then on reads nothing.
    """
    body = JSONResponse({"detail": detail}).body
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the body is not read on to the next request
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    if drain:
        await _drain(receive)
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive) -> None:
    """Read and drop the request body until its end, ``DRAIN_BYTES`` or ``DRAIN_SECONDS``."""
    dropped = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            while dropped <= DRAIN_BYTES:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
                dropped += len(message.get("body", b""))


class BodyLimit:
    """413 for a request body over ``limit`` bytes, before any of it is parsed.

    A declared ``Content-Length`` over the limit is refused at once; a body without one (chunked)
    is read up to the limit first and then handed to the app whole, so nothing downstream ever
    holds more than ``limit`` bytes of it.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"the request body is over {self.limit} bytes"
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        # A client that waits for "100 Continue" has sent no body, and sends none after a 413.
        waiting = headers.get(b"expect", b"").lower() == b"100-continue"
        # The server's parser has already refused a Content-Length that is not a number.
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            drain = not waiting and int(declared) <= DRAIN_BYTES
            await _send_too_large(send, receive, too_large, drain=drain)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            if len(body) > self.limit:
                drain = message.get("more_body", False)
                await _send_too_large(send, receive, too_large, drain=drain)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)


class HeadAsGet:
    """``HEAD`` wherever ``GET`` exists: the GET response's status and headers, without its body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


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
        headers = exc.headers
        allowed = _allowed_methods(app, request.url.path) if exc.status_code == 405 else None
        if allowed:
            # Starlette names the methods of one route of the path; a path served by two routes
            # (GET and POST /api/transcript) answers both.
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        return reply(request, exc.status_code, exc.detail, headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"detail": "internal error"}, status_code=500)


_UNPARSABLE_BODY = "There was an error parsing the body"


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the app's schema documents for ``path`` (none for a path it does not document)."""
    methods: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        if compile_path(template)[0].fullmatch(path):
            methods |= {method.upper() for method in operations if method.upper() in _HTTP_METHODS}
    return sorted(methods)


_HTTP_METHODS = {"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}


def _issue(error: dict[str, object]) -> dict[str, object]:
    loc = error.get("loc", ())
    msg = str(error.get("msg", ""))
    ctx = error.get("ctx")
    if error.get("type") == "string_pattern_mismatch" and isinstance(ctx, dict) and ctx.get("pattern") == NONBLANK:
        msg = "must hold a visible character"  # the pattern itself reads as noise
    return {"loc": list(loc) if isinstance(loc, (list, tuple)) else [], "msg": msg, "type": str(error.get("type", ""))}
