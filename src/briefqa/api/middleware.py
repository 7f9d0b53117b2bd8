"""The app's three ASGI middlewares: a cap on the request body, HEAD answered as GET, security headers.

Plain ASGI classes, not Starlette's ``BaseHTTPMiddleware``, which costs a task and a queue per
request, measurable under concurrent load.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
