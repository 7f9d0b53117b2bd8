"""Requests whose bytes are not the text they claim to be, refused with 422 before any route reads them.

Starlette decodes a query string with replacement characters, so ``q=%FF`` would be searched as
"\ufffd"; Python's JSON reader takes a body in UTF-16 or UTF-32 too and meets a nesting it cannot
follow only at the interpreter's recursion limit, where FastAPI's one reply is "error parsing the
body". Here each of those is named: the parameter or the body that is not UTF-8 (RFC 8259 asks
JSON exchanged between systems to be UTF-8; so do URLs, RFC 3986), and a body nested past
``MAX_DEPTH`` arrays or objects (no request of the API holds more than two).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from ..errors import InputError

MAX_DEPTH = 64

# A JSON string (escapes included, the closing quote optional so an unfinished one swallows the
# rest as a parser would) or one bracket: brackets inside strings are text, not nesting.
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.S)


def check_query(query_string: bytes) -> None:
    """``InputError`` naming the first query parameter whose name or value is not UTF-8 text."""
    # Percent-escapes undone byte for byte (latin-1 maps each byte to one character), so a
    # parameter's bytes can be checked as UTF-8 and the failing byte named.
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        for part in (name, value):
            raw = part.encode("latin-1")
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                shown = name.encode("latin-1").decode("utf-8", "replace")
                raise InputError(f"query parameter {shown!r} is not UTF-8 text ({_where(exc, raw)})") from None


def check_json_body(body: bytes) -> None:
    """``InputError`` for a body that is not UTF-8 text or nests past ``MAX_DEPTH``; an empty or
    otherwise malformed body is left for the JSON reader to refuse."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"the request body is not UTF-8 text ({_where(exc, body)}); send JSON as UTF-8") from None
    depth = 0
    for token in _STRUCTURE.findall(text):
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"the request body nests arrays or objects more than {MAX_DEPTH} deep")
        elif token in ("]", "}"):
            depth -= 1


def _where(exc: UnicodeDecodeError, raw: bytes) -> str:
    return f"byte 0x{raw[exc.start]:02X} at position {exc.start}: {exc.reason}"


class CheckedRoute(APIRoute):
    """A route that refuses a query string or JSON body that is not UTF-8 before FastAPI decodes it.

    Raised from the route, the ``InputError`` takes the app's one error mapping: JSON for the API,
    a page for a browser asking for one.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        reads_body = self.body_field is not None

        async def checked(request: Request) -> Response:
            check_query(request.scope.get("query_string", b""))
            if reads_body:
                check_json_body(await request.body())
            return await handler(request)

        return checked
