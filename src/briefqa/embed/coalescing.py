"""Concurrent questions sharing forward passes: the server's wrapper around any encoder."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from .encoded import BatchHook, Embedder, Encoded


class CoalescingEmbedder:
    """Merges encodes from concurrent threads into one model call.

    A server answers questions on many threads; one forward pass over eight questions costs far
    less than eight passes, and on two cores parallel passes only fight over them. The first
    caller to find the model idle encodes everything queued meanwhile, batch after batch, until
    the queue is empty; the others wait for their rows. Calls with a progress hook or many
    texts (builds) go straight to the model.
    """

    def __init__(self, inner: Embedder, max_batch: int = 64) -> None:
        self.inner = inner
        self.name = inner.name
        self.onnx_cache = getattr(inner, "onnx_cache", None)
        self.dimension = inner.dimension
        self.max_tokens = inner.max_tokens
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[tuple[list[str], Future[Encoded]]] = []
        self._busy = False
        self.model_calls = 0

    def encode(self, texts: Sequence[str], progress: BatchHook | None = None) -> np.ndarray:
        if progress is not None or len(texts) > self.max_batch:
            return self.inner.encode(texts, progress)
        return self.encode_full(texts).vectors

    def encode_full(self, texts: Sequence[str], progress: BatchHook | None = None, spans: bool = False) -> Encoded:
        if progress is not None or spans or len(texts) > self.max_batch:
            return self.inner.encode_full(texts, progress, spans)
        future: Future[Encoded] = Future()
        with self._lock:
            self._queue.append((list(texts), future))
            lead = not self._busy
            self._busy = True
        if lead:
            self._drain()
        return future.result()

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                if not batch:
                    self._busy = False
                    return
            try:
                texts = [t for part, _ in batch for t in part]
                encoded = self.inner.encode_full(texts)
                self.model_calls += 1
                at = 0
                for part, future in batch:
                    end = at + len(part)
                    future.set_result(Encoded(encoded.vectors[at:end], encoded.tokens[at:end], encoded.ids[at:end]))
                    at = end
            except BaseException as exc:  # every waiter must hear of the failure, never hang
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    with self._lock:
                        self._busy = False
                    raise

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def pieces(self) -> list[str]:
        return self.inner.pieces()
