"""Searching one version in Qdrant: fused candidates, and its sentences' word pieces by MaxSim."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ....errors import IndexDamagedError
from ...segments.pieces import TokenRows
from ...vector_search import HNSW_EF_SEARCH, HNSW_THRESHOLD, RRF_K, Candidates, SentenceRows, depth_for
from ..interface import damage_phrase, damaged
from .client import QdrantClientGuard
from .schema import DEFAULT_PREFIX, collections_of


def query_weights(vocab: dict[str, int], query_terms: Sequence[str]) -> tuple[list[int], list[float]]:
    """A question's sparse vector: each known term's id and how often the question says it."""
    counts: dict[int, int] = {}
    for t in query_terms:
        if t in vocab:
            counts[vocab[t]] = counts.get(vocab[t], 0) + 1
    return list(counts), [float(c) for c in counts.values()]


def bm25_of(vector: Any, ids: list[int], counts: list[float]) -> float:
    """The dot product of a passage's sparse BM25 vector and a question's, summed in float32 as bm25s does."""
    if vector is None:
        return 0.0
    weight = dict(zip(vector.indices, vector.values, strict=True))
    total = np.float32(0.0)
    for term, count in zip(ids, counts, strict=True):
        total += np.float32(weight.get(term, 0.0)) * np.float32(count)
    return float(total)


class QdrantVectors:
    """The searching half of a version in Qdrant (``vector_search.VersionVectors``)."""

    dense_kind = "qdrant"

    def __init__(
        self,
        guard: QdrantClientGuard,
        version: str,
        vocab: dict[str, int],
        counts: np.ndarray,
        dim: int,
        total: int,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._guard = guard
        self._version = version
        self._names = collections_of(version, prefix)
        self._vocab = vocab
        self._piece_counts = counts  # per sentence, its word pieces (the stored multivector may pad)
        self._dim = dim
        self._total = total
        self._sizes: dict[str, int] = {}

    def _search_params(self) -> Any:
        from qdrant_client import models as m

        if self._guard.embedded:
            return None  # the embedded mode always searches exactly (and warns of any parameter)
        # The local store searches exactly below HNSW_THRESHOLD passages; so does this one.
        if self._total <= HNSW_THRESHOLD:
            return m.SearchParams(exact=True)
        return m.SearchParams(hnsw_ef=HNSW_EF_SEARCH)

    def candidates(self, query_vector: np.ndarray, query_terms: Sequence[str], n: int) -> Candidates:
        from qdrant_client import models as m

        depth = depth_for(n, self._total)
        dense_query = np.asarray(query_vector, np.float32).reshape(-1).tolist()
        ids, counts = query_weights(self._vocab, query_terms)
        params = self._search_params()
        dense = m.Prefetch(query=dense_query, using="dense", limit=depth, params=params)
        prefetch = [dense]
        requests = [m.QueryRequest(query=dense_query, using="dense", limit=1, params=params)]
        if ids:
            sparse = m.SparseVector(indices=ids, values=counts)
            prefetch.append(m.Prefetch(query=sparse, using="bm25", limit=depth))
            requests.append(m.QueryRequest(query=sparse, using="bm25", limit=1, with_vector=["bm25"]))
        # One request: the candidates fused by Qdrant (k + 1: its ranks count from 0), and the
        # first of each ranking (an abstention signal, and the best BM25 score to scale by).
        fused = m.QueryRequest(
            prefetch=prefetch,
            query=m.RrfQuery(rrf=m.Rrf(k=RRF_K + 1)),
            limit=n,
            with_vector=["dense", "bm25"],
        )
        with self._guard.call(f"searching version {self._version}") as client:
            found = client.query_batch_points(self._names["passages"], [fused, *requests])
        picked = found[0].points
        dense_top = found[1].points[0].id if found[1].points else -1
        lexical_points = found[2].points if ids else []
        lexical_points = [p for p in lexical_points if p.score > 0]
        chunk_ids = np.array([int(p.id) for p in picked], dtype=np.int64)
        vectors = np.array([_vector(p, "dense") for p in picked], dtype=np.float32).reshape(-1, self._dim)
        bm25 = np.array([bm25_of(_vector(p, "bm25"), ids, counts) for p in picked], dtype=np.float32)
        top_bm25 = bm25_of(_vector(lexical_points[0], "bm25"), ids, counts) if lexical_points else 0.0
        return Candidates(
            chunks=chunk_ids,
            dense=vectors @ np.asarray(query_vector, np.float32).reshape(-1),
            lexical=bm25 / top_bm25 if top_bm25 > 0 else np.zeros(len(chunk_ids)),
            dense_top=int(dense_top),
            lexical_top=int(lexical_points[0].id) if lexical_points else -1,
        )

    def sentence_rows(
        self, spans: Sequence[tuple[int, int]], tokens: np.ndarray, weightings: Sequence[np.ndarray] = ()
    ) -> list[SentenceRows]:
        """The candidates' sentences in one request: a MaxSim query per weighting over exactly
        these sentences (each question piece scaled by its weight: Qdrant sums each one's best
        match), the first also returning the sentences' word pieces and vectors."""
        from qdrant_client import models as m

        wanted: list[Any] = [i for first, last in spans for i in range(first, last + 1)]
        only = m.Filter(must=[m.HasIdCondition(has_id=wanted)])
        requests: list[Any] = []
        totals: list[float] = []
        for w in weightings if len(tokens) else ():
            keep = w > 0
            totals.append(float(w[keep].sum()))
            if totals[-1] > 0:
                query = (np.asarray(tokens, np.float32)[keep] * w[keep, None]).tolist()
                requests.append(
                    m.QueryRequest(
                        query=query,
                        using="pieces",
                        filter=only,
                        limit=len(wanted),
                        params=self._search_params(),
                        with_vector=not requests,
                    )
                )
        with self._guard.call(f"reading version {self._version}") as client:
            if len(requests) == len(weightings) and requests:
                found = client.query_batch_points(self._names["sentences"], requests)
                points = found[0].points
                scores = [{int(p.id): p.score for p in r.points} for r in found]
            else:  # a question without weighted pieces: the reader computes what it can
                points = client.retrieve(self._names["sentences"], ids=wanted, with_vectors=True, with_payload=False)
                scores = []
        by_id = {int(p.id): p for p in points}
        missing = [i for i in wanted if i not in by_id or any(i not in s for s in scores)]
        if missing:
            raise damaged_in_qdrant(self._version, f"sentence {missing[0]} is missing")
        out = []
        for first, last in spans:
            ids = range(first, last + 1)
            pieces = [
                np.asarray(_vector(by_id[i], "pieces"), np.float32).reshape(-1, self._dim)[: int(self._piece_counts[i])]
                for i in ids
            ]
            bounds = np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).astype(np.int64)
            matrix = np.vstack(pieces) if pieces else np.zeros((0, self._dim), np.float32)
            vectors = np.array([_vector(by_id[i], "sentence") for i in ids], np.float32).reshape(-1, self._dim)
            maxsim = (
                np.array([[s[i] / total for i in ids] for s, total in zip(scores, totals, strict=True)])
                if scores
                else None
            )
            out.append(SentenceRows(TokenRows(matrix, bounds), vectors, maxsim))
        return out

    def chunk_vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        ids = list(range(self._total)) if rows is None else [int(r) for r in np.asarray(rows).reshape(-1)]
        with self._guard.call(f"reading version {self._version}") as client:
            points = client.retrieve(self._names["passages"], ids=ids, with_vectors=["dense"], with_payload=False)
        by_id = {int(p.id): _vector(p, "dense") for p in points}
        return np.array([by_id[i] for i in ids], dtype=np.float32).reshape(-1, self._dim)

    def sentence_vectors(self, first: int = 0, last: int | None = None) -> np.ndarray:
        last = len(self._piece_counts) - 1 if last is None else last
        return self.sentence_rows([(first, last)], np.zeros((0, self._dim)))[0].vectors

    def count(self, role: str) -> int:
        """Points in the version's ``role`` collection, counted exactly once per load."""
        if role not in self._sizes:
            with self._guard.call(f"counting version {self._version}") as client:
                self._sizes[role] = int(client.count(self._names[role], exact=True).count)
        return self._sizes[role]

    def shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        passages, sentences = self.count("passages"), self.count("sentences")
        return [
            ("chunk vectors", (passages, self._dim)),
            ("sentence vectors", (sentences, self._dim)),
            ("dense index", (passages, self._dim)),
            ("bm25/", (passages,)),
            ("piece offsets", (len(self._piece_counts),)),
        ]

    def close(self) -> None:
        """The client is the store's, shared by every version it serves."""


def _vector(point: Any, name: str) -> Any:
    vector = point.vector
    return vector.get(name) if isinstance(vector, dict) else None


def damaged_in_qdrant(version: str, why: str) -> IndexDamagedError:
    """The one damage error (``interface.damaged``), saying the version is Qdrant's."""
    return damaged(damage_phrase(version, [why], " in Qdrant"))
