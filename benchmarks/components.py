"""Parts of a search timed on their own: the encode inside a search, and lexical retrieval at scale."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from briefqa.index.lexical import LexicalIndex
from briefqa.terms import terms


class MeteredEmbedder:
    """Passes everything to the real embedder and records the time and texts of each ``encode``,
    so a search's own work can be told from the model's (questions with words the corpus lacks
    are embedded again without them: more than one text a search)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.name, self.dimension = inner.name, inner.dimension
        self.calls: list[tuple[int, float]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def encode(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        t = time.perf_counter()
        out = self._inner.encode(texts, progress)
        self.calls.append((len(texts), time.perf_counter() - t))
        return out  # type: ignore[no-any-return]


def lexical_latency(lexical: LexicalIndex, questions: Sequence[str], depth: int = 50) -> list[float]:
    """Seconds per question of what ``retrieve`` does lexically: tokenize, BM25 scores, top ``depth``."""
    out = []
    for q in questions:
        t = time.perf_counter()
        bm25 = lexical.scores(terms(q))
        if bm25.any():
            top = np.argpartition(-bm25, min(depth, len(bm25)) - 1)[:depth]
            top[np.argsort(-bm25[top])]
        out.append(time.perf_counter() - t)
    return out


def lexical_index_of(texts: Sequence[str]) -> tuple[LexicalIndex, float]:
    """briefqa's BM25 index over ``texts`` and the seconds it took to build."""
    t = time.perf_counter()
    index = LexicalIndex.from_terms([terms(t) for t in texts])
    return index, time.perf_counter() - t
