"""Where the page's templates and static files are, the templates' environment, and HTML-or-JSON error pages."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import Response

from .answer_marks import marked


def web_folder() -> Path:
    """Where the page's templates and static files are: ``briefqa/web`` inside an installed wheel
    (hatch's ``force-include`` puts the repository's ``web/`` there), else ``web/`` at the top of
    the checkout this package runs from (an editable install, or ``src`` on the path)."""
    package = Path(__file__).resolve().parent.parent
    shipped = package / "web"
    if shipped.is_dir():
        return shipped
    return package.parent.parent / "web"


WEB = web_folder()
STATIC = WEB / "static"

_env = Environment(
    loader=FileSystemLoader(WEB / "templates"),
    autoescape=True,  # every page shows source text and titles that may hold markup
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_env)

# How much of the passage on each side of the quote the chat shows; the source page has the rest.
CONTEXT_CHARS = 200


def around(passage: str, quote: str, width: int = CONTEXT_CHARS) -> tuple[str, str]:
    """The passage's text before and after ``quote``, each cut to about ``width`` at a word break.

    static/chat.js trims the same way, so a thread reads alike whether the server or the script drew it.
    """
    at = passage.find(quote)
    if at < 0:
        return "", ""
    before, after = passage[:at], passage[at + len(quote) :]
    if len(before) > width:
        cut = before.find(" ", len(before) - width)
        before = "… " + (before[cut + 1 :] if cut >= 0 else before[-width:])
    if len(after) > width:
        cut = after.rfind(" ", 0, width)
        after = after[: cut if cut > 0 else width] + " …"
    return before, after


_env.globals["around"] = around
_env.globals["marked"] = marked


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 passage``, ``2 passages``, ``12,400 characters``: a number with its noun agreeing."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


_env.filters["count"] = count

_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Busy",
    422: "Cannot read that request",
    429: "Too many requests",
    503: "Not ready yet",
}


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the JSON API) gets errors as a page; everyone else gets JSON."""
    path = request.url.path
    if path.startswith(("/api/", "/static/")) or path in ("/healthz", "/openapi.json", "/docs"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status_code: int, detail: Any, headers: Mapping[str, str] | None = None) -> Response:
    if isinstance(detail, list):  # validation issues: say which field and why, one line each
        lines = [f"{'.'.join(str(p) for p in i.get('loc', ())[1:]) or 'request'}: {i.get('msg', '')}" for i in detail]
    else:
        lines = [str(detail)]
    context = {"status": status_code, "title": _TITLES.get(status_code, "Error"), "lines": lines}
    response = page(request, "error.html", context, status_code=status_code)
    if headers:
        response.headers.update(headers)
    return response
