"""Each client's budget of search requests: a token bucket per client address, answered with 429.

A search costs an encode on the CPU; a client that sends them as fast as it can would take the
cores from everyone else. Each client address holds a bucket of ``RateBudget.requests`` tokens,
refilled at that many per ``RateBudget.seconds``; a search takes one, and a client with none left
is answered 429 with ``Retry-After`` (whole seconds until a token is back) in the one JSON error
shape. Clients on this machine (loopback, a Unix socket, a test client) are not counted unless
the budget says ``+loopback``: a reverse proxy on the same host would otherwise be one client for
all. Only the routes that search are counted; pages, sources and health are not.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..settings import RateBudget

# Paths whose every request searches; "/" searches only when it carries a question.
SEARCH_PATHS = frozenset({"/api/search", "/api/ask", "/api/transcript"})
# Buckets kept at most; a full bucket is the same as none, so those go first.
MAX_CLIENTS = 65536


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """One bucket per key; ``take`` answers how long until a token is back (0: taken now)."""

    def __init__(self, budget: RateBudget, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget = budget
        self._rate = budget.requests / budget.seconds
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        now = self._clock()
        bucket = self._buckets.pop(key, None) or _Bucket(float(self.budget.requests), now)
        bucket.tokens = min(float(self.budget.requests), bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        self._buckets[key] = bucket  # the most recent last
        if len(self._buckets) > MAX_CLIENTS:
            self._forget(now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self._rate

    def _forget(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * self._rate >= self.budget.requests]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) > MAX_CLIENTS:
            self._buckets.popitem(last=False)


def is_local(host: str | None) -> bool:
    """Whether a client address is this machine's: loopback, or no IP address at all."""
    if not host:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return True  # a Unix socket's peer or a test client: nothing that came over the network


def searches(scope: Scope) -> bool:
    path = scope.get("path", "")
    if path in SEARCH_PATHS:
        return True
    return path == "/" and b"question=" in scope.get("query_string", b"")


class RateLimit:
    """The ASGI middleware holding each client to ``budget`` on the search routes (None: off)."""

    def __init__(self, app: ASGIApp, budget: RateBudget | None) -> None:
        self.app = app
        self._buckets = TokenBuckets(budget) if budget is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        buckets = self._buckets
        if buckets is None or scope["type"] != "http" or not searches(scope):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        host = client[0] if client else None
        if is_local(host) and not buckets.budget.loopback:
            await self.app(scope, receive, send)
            return
        wait = buckets.take(host or "")
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        detail = f"too many searches from this address: try again in {seconds} s"
        response = JSONResponse({"detail": detail}, status_code=429, headers={"Retry-After": str(seconds)})
        await response(scope, receive, send)
