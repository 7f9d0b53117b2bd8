"""A real Qdrant client that fails on chosen calls, as a flaky network or a busy node would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from briefqa.index.backends.qdrant.store import QdrantStore

# (method name, its positional arguments, its keyword arguments) -> whether this call fails
Chooser = Callable[[str, tuple[Any, ...], dict[str, Any]], bool]


class FaultyClient:
    """Every call goes to the real client underneath, but the chosen ones raise first, up to ``times``."""

    def __init__(self, real: Any, chooser: Chooser, times: int = 1) -> None:
        self._real = real
        self._chooser = chooser
        self.left = times
        self.raised: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.left > 0 and self._chooser(name, args, kwargs):
                self.left -= 1
                self.raised.append(name)
                # What the HTTP client raises when a node answers 503 or the connection drops.
                raise ConnectionError(f"injected fault in {name}")
            return attr(*args, **kwargs)

        return call


@contextmanager
def faulty(store: QdrantStore, chooser: Chooser, times: int = 1) -> Iterator[FaultyClient]:
    """``store``'s client (shared by every store on its folder) failing as ``chooser`` says, then restored."""
    guard = store._guard
    real = guard.client
    wrapper = FaultyClient(real, chooser, times)
    guard.client = wrapper
    try:
        yield wrapper
    finally:
        guard.client = real


def on(method: str, collection_suffix: str | None = None, **match: Any) -> Chooser:
    """Fail calls of ``method`` (on a collection ending so, with these keyword arguments)."""

    def chooser(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        if name != method:
            return False
        target = args[0] if args else kwargs.get("collection_name", "")
        if collection_suffix is not None and not str(target).endswith(collection_suffix):
            return False
        return all(kwargs.get(k) == v for k, v in match.items())

    return chooser
