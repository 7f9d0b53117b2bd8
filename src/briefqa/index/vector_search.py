"""What a version searches with, whichever store holds it: candidates fused from two rankings, and
the vectors of the sentences the ranker reads.

``VersionVectors`` is the searching half of a loaded version: the local files answer it with
faiss, bm25s and the segments' word pieces (``backends.local.vectors``), Qdrant with its
collections (``backends.qdrant.search``). Both fuse the same way (``fuse``: reciprocal rank, the dense ranking's
entries first among equals), so a store changes where vectors live, never which quotes come out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .segments.pieces import TokenRows

RRF_K = 60  # the usual reciprocal-rank-fusion constant: ranks past ~60 barely count
# Past this many chunks dense search is approximate (HNSW) in either backend; below it exact search
# is cheap. Exact search over 50,000 vectors takes about 3 ms on two cores: below that,
# approximation buys nothing and costs recall.
HNSW_THRESHOLD = 50_000
# Wider graph and search than faiss's defaults: recall@10 must stay at 0.98 or above.
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 48, 200, 256


@dataclass(frozen=True, slots=True)
class Candidates:
    """The best chunks, best first, with the evidence each ranking gave them."""

    chunks: np.ndarray  # chunk numbers
    dense: np.ndarray  # cosine of question and chunk
    lexical: np.ndarray  # BM25 score divided by the best BM25 score of the question
    dense_top: int  # the dense ranking's first chunk (-1 if none)
    lexical_top: int  # the lexical ranking's first chunk (-1 if none)

    @classmethod
    def none(cls) -> Candidates:
        empty = np.zeros(0)
        return cls(empty.astype(np.int64), empty, empty, -1, -1)


def depth_for(n: int, total: int) -> int:
    """How deep each ranking is read before fusing, for ``n`` candidates out of ``total`` chunks."""
    return min(total, max(4 * n, 50))


def fuse(rankings: Sequence[Sequence[int]], n: int) -> list[int]:
    """The best ``n`` chunks by reciprocal rank over ``rankings`` (ties: first seen first)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(fused, key=lambda c: -fused[c])[:n]


@dataclass(frozen=True, slots=True)
class SentenceRows:
    """A run of sentences as the ranker reads it: word pieces, unit vectors, and, when the store
    computed it, MaxSim of the question's weighted pieces against each sentence."""

    pieces: TokenRows
    vectors: np.ndarray
    # Per weighting asked for (rows) and sentence (columns): the weighted mean over the question's
    # word pieces of each one's best cosine in the sentence. None: the reader computes it.
    maxsim: np.ndarray | None = None


class VersionVectors(Protocol):
    """The searching half of one loaded version (sentence and chunk numbers are global)."""

    def candidates(self, query_vector: np.ndarray, query_terms: Sequence[str], n: int) -> Candidates:
        """The best ``n`` chunks, dense and BM25 rankings fused by reciprocal rank."""
        ...

    def sentence_rows(
        self, spans: Sequence[tuple[int, int]], tokens: np.ndarray, weightings: Sequence[np.ndarray]
    ) -> list[SentenceRows]:
        """Per run of sentences ``(first, last)``: their word pieces and unit vectors, and MaxSim
        of the question's word pieces ``tokens`` under each of ``weightings`` if the store does it."""
        ...

    def chunk_vectors(self, rows: np.ndarray | None = None) -> np.ndarray: ...

    def sentence_vectors(self, first: int = 0, last: int | None = None) -> np.ndarray: ...

    def shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """Each stored part's name and shape, to check against the manifest's counts."""
        ...

    def close(self) -> None: ...
