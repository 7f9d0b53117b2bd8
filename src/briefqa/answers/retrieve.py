"""Index + question -> candidate passages: dense (FAISS) and lexical (BM25) rankings, fused."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..index.store import IndexVersion

RRF_K = 60  # the usual reciprocal-rank-fusion constant: ranks past ~60 barely count


@dataclass(frozen=True, slots=True)
class Candidates:
    """The best chunks, best first, with the evidence each ranking gave them."""

    chunks: np.ndarray  # chunk numbers
    dense: np.ndarray  # cosine of question and chunk
    lexical: np.ndarray  # BM25 score divided by the best BM25 score of the question
    dense_top: int  # the dense ranking's first chunk (-1 if none)
    lexical_top: int  # the lexical ranking's first chunk (-1 if none)


def retrieve(index: IndexVersion, query_vector: np.ndarray, query_terms: list[str], n: int = 8) -> Candidates:
    """Fuse the dense and BM25 rankings of chunks by reciprocal rank; keep the best ``n``."""
    total = index.chunk_count
    if total == 0:
        empty = np.zeros(0)
        return Candidates(empty.astype(np.int64), empty, empty, -1, -1)
    depth = min(total, max(4 * n, 50))
    dense_ids = index.dense_ranking(query_vector, depth)
    bm25 = index.lexical.scores(query_terms)
    if bm25.any():
        top = np.argpartition(-bm25, min(depth, total) - 1)[:depth]
        lex_ids = [int(i) for i in top[np.argsort(-bm25[top])] if bm25[i] > 0]
    else:
        lex_ids = []
    fused: dict[int, float] = {}
    for ranking in (dense_ids, lex_ids):
        for rank, cid in enumerate(ranking):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
    best = sorted(fused, key=lambda c: -fused[c])[:n]
    chunk_ids = np.array(best, dtype=np.int64)
    dense = index.chunk_vectors(chunk_ids) @ query_vector.reshape(-1)
    top_bm25 = float(bm25.max()) if bm25.any() else 0.0
    lexical = bm25[chunk_ids] / top_bm25 if top_bm25 > 0 else np.zeros(len(chunk_ids))
    return Candidates(
        chunks=chunk_ids,
        dense=dense,
        lexical=lexical,
        dense_top=dense_ids[0] if dense_ids else -1,
        lexical_top=lex_ids[0] if lex_ids else -1,
    )
