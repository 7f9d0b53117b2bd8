"""uvicorn's HTTP protocol with its one plain-text reply, a 400 for a request it cannot parse, in JSON.

uvicorn answers an unknown method, an overlong URL or broken header bytes itself, before the app
sees a request, as ``text/plain``; ``uvicorn.run(http=...)`` takes a protocol class, so this
subclass gives that reply the app's one error shape.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol


class JsonErrorsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"detail": msg}).encode()
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"x-content-type-options: nosniff\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
