"""The BM25 index over a version's passages (bm25s), over the terms of ``briefqa.terms``."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np


@lru_cache(maxsize=1)
def _bm25s():  # type: ignore[no-untyped-def]
    import bm25s

    # bm25s sets its logger to DEBUG when first imported; its per-build chatter is not ours to print.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class LexicalIndex:
    """BM25 over chunk texts, plus document frequencies for term weights."""

    def __init__(self, retriever, doc_freq: dict[str, int], n_docs: int) -> None:  # type: ignore[no-untyped-def]
        self._retriever = retriever
        self.doc_freq = doc_freq
        self.n_docs = n_docs

    @classmethod
    def from_terms(cls, per_text: Sequence[Sequence[str]]) -> LexicalIndex:
        """The index over texts already cut into ``terms`` (a build keeps each source's terms)."""
        bm25s = _bm25s()
        tokenized = [list(t) or ["\x00"] for t in per_text]  # bm25s rejects an empty document
        retriever = bm25s.BM25()
        retriever.index(tokenized, show_progress=False)
        df: Counter[str] = Counter()
        for toks in tokenized:
            df.update(set(toks))
        return cls(retriever, dict(df), len(tokenized))

    @property
    def retriever(self):  # type: ignore[no-untyped-def]
        """The bm25s index (None for a version whose BM25 a vector database searches)."""
        return self._retriever

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk for these terms (zeros when none is known)."""
        known = [t for t in query_terms if t in self.doc_freq]
        if not known:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency; a term the corpus lacks weighs the most."""
        return math.log(1.0 + (self.n_docs + 1) / (self.doc_freq.get(term, 0) + 0.5))

    def save(self, folder: Path) -> None:
        import json

        self._retriever.save(str(folder / "bm25"))
        (folder / "doc_freq.json").write_text(json.dumps({"n_docs": self.n_docs, "df": self.doc_freq}))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import json

        bm25s = _bm25s()
        # Read into memory, not mapped: a mapped file truncated under a server kills it (SIGBUS).
        retriever = bm25s.BM25.load(str(folder / "bm25"), mmap=False)
        data = json.loads((folder / "doc_freq.json").read_text())
        return cls(retriever, data["df"], int(data["n_docs"]))
