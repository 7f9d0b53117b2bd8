"""Index + question -> candidate passages: dense and lexical (BM25) rankings, fused by reciprocal rank.

The store holding the version does the searching (faiss and bm25s on local files, or Qdrant's
fused query); ``index.vector_search`` fuses both the same way.
"""

from __future__ import annotations

import numpy as np

from ..index.loaded_version import IndexVersion
from ..index.vector_search import RRF_K, Candidates

__all__ = ["RRF_K", "Candidates", "retrieve"]


def retrieve(index: IndexVersion, query_vector: np.ndarray, query_terms: list[str], n: int = 8) -> Candidates:
    """Fuse the dense and BM25 rankings of chunks by reciprocal rank; keep the best ``n``."""
    return index.candidates(query_vector, query_terms, n)
