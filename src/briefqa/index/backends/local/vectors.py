"""A local version's search: passage vectors under faiss, BM25 by bm25s, word pieces from the segments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...lexical import LexicalIndex
from ...segments.pieces import TokenRows, TokenStore
from ...vector_search import Candidates, SentenceRows, depth_for, fuse


class LocalVectors:
    """The local files' search: passage vectors under faiss, BM25 by bm25s, word pieces from segments."""

    def __init__(
        self,
        chunk_vectors: np.ndarray,
        dense: Any,
        lexical: LexicalIndex,
        tokens: TokenStore,
    ) -> None:
        chunk_vectors.flags.writeable = False
        self._chunk_vectors = chunk_vectors
        self._dense = dense  # faiss.Index over the chunk vectors
        self._lexical = lexical
        self._tokens = tokens

    @property
    def dense_kind(self) -> str:
        """The faiss index type answering dense search (``IndexFlatIP`` or ``IndexHNSWFlat``)."""
        return type(self._dense).__name__

    def candidates(self, query_vector: np.ndarray, query_terms: Sequence[str], n: int) -> Candidates:
        total = len(self._chunk_vectors)
        if total == 0:
            return Candidates.none()
        depth = depth_for(n, total)
        dense_ids = self.dense_ranking(query_vector, depth)
        bm25 = self._lexical.scores(query_terms)
        if bm25.any():
            top = np.argpartition(-bm25, min(depth, total) - 1)[:depth]
            lex_ids = [int(i) for i in top[np.argsort(-bm25[top])] if bm25[i] > 0]
        else:
            lex_ids = []
        chunk_ids = np.array(fuse((dense_ids, lex_ids), n), dtype=np.int64)
        top_bm25 = float(bm25.max()) if bm25.any() else 0.0
        return Candidates(
            chunks=chunk_ids,
            dense=self.chunk_vectors(chunk_ids) @ query_vector.reshape(-1),
            lexical=bm25[chunk_ids] / top_bm25 if top_bm25 > 0 else np.zeros(len(chunk_ids)),
            dense_top=dense_ids[0] if dense_ids else -1,
            lexical_top=lex_ids[0] if lex_ids else -1,
        )

    def sentence_rows(
        self, spans: Sequence[tuple[int, int]], tokens: np.ndarray, weightings: Sequence[np.ndarray]
    ) -> list[SentenceRows]:
        # MaxSim is left to the reader: the word pieces are in this process already.
        return [SentenceRows(self.token_rows(first, last), self.sentence_vectors(first, last)) for first, last in spans]

    def chunk_vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        vectors = self._chunk_vectors if rows is None else self._chunk_vectors[rows]
        return np.asarray(vectors, dtype=np.float32)

    def sentence_vectors(self, first: int = 0, last: int | None = None) -> np.ndarray:
        stop = self._tokens.sentences - 1 if last is None else last
        return self._tokens.sentence_vectors(first, stop)

    def token_rows(self, first: int, last: int) -> TokenRows:
        return self._tokens.rows(first, last)

    def dense_ranking(self, query_vector: np.ndarray, depth: int) -> list[int]:
        _sims, ids = self._dense.search(np.ascontiguousarray(query_vector.reshape(1, -1), dtype=np.float32), depth)
        return [int(i) for i in ids[0] if i >= 0]

    def shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return [
            ("chunk vectors", tuple(self._chunk_vectors.shape)),
            ("sentence vectors", (self._tokens.sentences, self._tokens.dimension)),
            ("dense index", (int(self._dense.ntotal), int(self._dense.d))),
            ("bm25/", (self._lexical.n_docs,)),
            ("piece offsets", (self._tokens.sentences,)),
        ]

    def close(self) -> None:
        self._tokens.close()
