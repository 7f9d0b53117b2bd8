"""Swagger UI at ``/docs`` and ReDoc at ``/redoc``, from the files the fastapi-offline package ships.

FastAPI's own pages load their scripts from a CDN, which the app's CSP blocks and a machine
without a network cannot reach; these pages load the same files from the server. ReDoc's bundle
also shows Redocly's logo from their CDN beside "API docs by Redocly"; the bundle is served with
that image left out (an empty inline SVG), so the page asks nothing of another host.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/static-docs"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
REDOC_JS = "redoc.standalone.js"
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
_EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='0' height='0'/%3E"


def redoc_bundle() -> bytes:
    """ReDoc's script with the CDN logo replaced by an empty inline image (``img-src`` allows ``data:``)."""
    return (ASSETS / REDOC_JS).read_bytes().replace(REDOC_LOGO.encode(), _EMPTY_SVG.encode())


def docs_csp(html: str) -> str:
    """A CSP for one docs page: its own inline start-up script by hash, nothing from elsewhere.

    Both viewers set styles from script, which only ``'unsafe-inline'`` styles allow; ReDoc runs its
    search in a worker made from a ``blob:`` URL. These pages show the app's own schema, no user text.
    """
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )


def _page(response: HTMLResponse, stylesheet: str | None = None) -> tuple[bytes, dict[str, str]]:
    """The page's bytes and headers: in English (``lang``), with ``stylesheet`` after the viewer's own."""
    html = bytes(response.body).decode().replace("<html>", '<html lang="en">', 1)
    if stylesheet:
        html = html.replace("</head>", f'<link rel="stylesheet" href="{stylesheet}">\n</head>', 1)
    return html.encode(), {"Content-Security-Policy": docs_csp(html)}


def install_docs(app: FastAPI) -> None:
    """Serve the docs pages and their assets on ``app`` (created with ``docs_url=redoc_url=None``)."""
    redoc_js = redoc_bundle()

    # Before the mount, so this route answers for the one file it replaces.
    @app.get(f"{ASSETS_URL}/{REDOC_JS}", include_in_schema=False)
    def redoc_script() -> Response:
        return Response(redoc_js, media_type="text/javascript; charset=utf-8")

    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="static-docs")
    openapi_url = app.openapi_url or "/openapi.json"
    swagger = _page(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            # Without deep links each operation's path is plain text: a link inside the button
            # that opens the operation is a control inside a control (axe: nested-interactive).
            swagger_ui_parameters={"deepLinking": False},
        ),
        stylesheet="/static/docs-contrast.css",
    )
    redoc = _page(
        get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/{REDOC_JS}",
            redoc_favicon_url="/static/favicon.svg",
            with_google_fonts=False,
        )
    )

    # Built once: the pages depend only on the app's title and schema address.
    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger[0], headers=swagger[1])

    @app.get("/redoc", include_in_schema=False)
    def redoc_ui() -> HTMLResponse:
        return HTMLResponse(redoc[0], headers=redoc[1])
