"""The one mapping of errors to HTTP: every error is ``{"detail": ...}`` with its status, or the
same detail as a readable page for a browser asking for one."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

from ..errors import BriefqaError
from .schemas import NONBLANK
from .templating import error_page, wants_html

log = logging.getLogger("briefqa.api")


def install_error_handlers(app: FastAPI) -> None:
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
