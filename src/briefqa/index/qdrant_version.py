"""One index version in Qdrant: its three collections, written once and read by a searcher.

Per version ``<name>`` (the same timestamped names as the local store's versions)::

    briefqa-<name>-passages   one point per passage (id: its number in the version): its vector
                              (``dense``, float16, inner product) and its BM25 weights (``bm25``,
                              a sparse vector over the version's own term ids)
    briefqa-<name>-sentences  one point per sentence: its word pieces (``pieces``, a float16
                              multivector compared by MaxSim) and its vector (``sentence``), both
                              on disk and without a graph index (they are only ever fetched by id)
    briefqa-<name>-sources    one point per source (id: its number + 1) holding its text, spans and
                              headings; point 0 holds the manifest and the lexicon (term ids and
                              document frequencies)

and the aliases ``briefqa-passages``, ``briefqa-sentences`` and ``briefqa-sources`` name the live
version's collections. A searcher resolves the aliases once and then reads the version's own
collections, so a request never meets half of a version, and a new version swaps in whole.

BM25 is briefqa's own: each passage's sparse vector holds its term weights as bm25s computes them
(the version's IDF and average length are in them) and a question is the count of each of its
terms, so a dot product is the local store's BM25 score. Qdrant's IDF modifier is never used: it
is computed per shard and not corrected after deletes (qdrant/qdrant#6735), while a version here is
written once, never updated, and carries corpus-wide statistics.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import BackendError, BriefqaError, IndexDamagedError, IndexMissingError
from ..records import Chunk, Document, Sentence, document_from_json, document_to_json
from .index_format import HNSW_EF_SEARCH, HNSW_THRESHOLD, check_shapes, read_segments, token_store
from .index_version import IndexVersion, span_arrays
from .lexical import LexicalIndex
from .manifest import Manifest
from .token_store import PieceRarity, TokenRows
from .vector_search import RRF_K, Candidates, SentenceRows, depth_for

PREFIX = "briefqa"
ROLES = ("passages", "sentences", "sources")
META_ID = 0  # the sources collection's point holding the manifest and the lexicon
UPLOAD_BATCH = 128  # points per request: a batch of sentences' word pieces is a few MB of JSON


def alias_of(role: str) -> str:
    return f"{PREFIX}-{role}"


def collection_of(version: str, role: str) -> str:
    return f"{PREFIX}-{version}-{role}"


def collections_of(version: str) -> dict[str, str]:
    """Each role's collection of ``version``."""
    return {role: collection_of(version, role) for role in ROLES}


def version_of(collection: str) -> str | None:
    """The version a collection of this store belongs to; None for any other collection."""
    for role in ROLES:
        tail = f"-{role}"
        if collection.startswith(f"{PREFIX}-") and collection.endswith(tail):
            return collection[len(PREFIX) + 1 : -len(tail)] or None
    return None


@dataclass(frozen=True, slots=True)
class Cluster:
    """How versions are laid out on a Qdrant server (ignored by the embedded mode)."""

    shard_number: int | None = None
    replication_factor: int | None = None
    write_consistency_factor: int | None = None


class QdrantClientGuard:
    """The one client of a process, every call through ``call``: failures become ``BackendError``.

    The embedded mode is a Python re-implementation that is not safe for concurrent use, so its
    calls are serialised; a server client is called from any thread at once.
    """

    def __init__(self, client: Any, where: str, embedded: bool) -> None:
        self.client = client
        self.where = where
        self.embedded = embedded
        self._lock: Any = threading.RLock() if embedded else None

    @contextmanager
    def call(self, doing: str) -> Iterator[Any]:
        try:
            if self._lock is None:
                yield self.client
            else:
                with self._lock:
                    yield self.client
        except BriefqaError:
            raise  # ours already says what is wrong
        except Exception as exc:  # the client raises many kinds (HTTP, gRPC, its own, ValueError)
            raise BackendError(f"Qdrant at {self.where} failed while {doing} ({first_line(exc)})") from None


def first_line(exc: BaseException) -> str:
    """What a client error says, in one short line (its type when it says nothing)."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def create_collections(guard: QdrantClientGuard, version: str, dimension: int, cluster: Cluster) -> None:
    """The empty collections of a version; dense search is exact below ``HNSW_THRESHOLD`` passages."""
    from qdrant_client import models as m

    layout = {
        "shard_number": cluster.shard_number,
        "replication_factor": cluster.replication_factor,
        "write_consistency_factor": cluster.write_consistency_factor,
    }
    f16 = m.Datatype.FLOAT16
    no_graph = m.HnswConfigDiff(m=0)
    with guard.call(f"creating the collections of version {version}") as client:
        client.create_collection(
            collection_of(version, "passages"),
            vectors_config={"dense": m.VectorParams(size=dimension, distance=m.Distance.DOT, datatype=f16)},
            sparse_vectors_config={"bm25": m.SparseVectorParams()},
            **layout,
        )
        client.create_collection(
            collection_of(version, "sentences"),
            vectors_config={
                "pieces": m.VectorParams(
                    size=dimension,
                    distance=m.Distance.DOT,
                    datatype=f16,
                    on_disk=True,
                    hnsw_config=no_graph,
                    multivector_config=m.MultiVectorConfig(comparator=m.MultiVectorComparator.MAX_SIM),
                ),
                "sentence": m.VectorParams(
                    size=dimension, distance=m.Distance.DOT, datatype=f16, on_disk=True, hnsw_config=no_graph
                ),
            },
            **layout,
        )
        client.create_collection(collection_of(version, "sources"), vectors_config={}, **layout)


def write_version(
    guard: QdrantClientGuard, root: Any, version: str, manifest: Manifest, lexical: LexicalIndex, cluster: Cluster
) -> None:
    """Upload a version whose segments are in the local segment store under ``root``."""
    from qdrant_client import models as m

    dim = manifest.dimension or 0
    segments = read_segments(root, manifest)
    tokens = token_store(segments, manifest)
    create_collections(guard, version, dim, cluster)
    vocab, weights = bm25_rows(lexical)
    names = collections_of(version)

    def upload(role: str, points: list[Any]) -> None:
        with guard.call(f"writing version {version}") as client:
            client.upsert(names[role], points, wait=True)

    chunk_base = sentence_base = 0
    for d, seg in enumerate(segments):
        counts = np.diff(seg.piece_offsets).tolist()
        payload = {
            "doc": document_to_json(seg.doc),
            "sentences": [
                [s.start, s.end, s.block, int(q)] for s, q in zip(seg.sentences, seg.quote_starts, strict=True)
            ],
            "chunks": [[c.start, c.end, c.first_sentence, c.last_sentence] for c in seg.chunks],
            "headings": [c.heading for c in seg.chunks],
            "pieces": counts,
            "piece_df": np.asarray(seg.piece_df).tolist(),
        }
        upload("sources", [m.PointStruct(id=d + 1, vector={}, payload=payload)])
        for start in range(0, len(seg.chunks), UPLOAD_BATCH):
            rows = range(start, min(start + UPLOAD_BATCH, len(seg.chunks)))
            upload(
                "passages",
                [
                    m.PointStruct(
                        id=chunk_base + i,
                        vector={
                            "dense": np.asarray(seg.chunk_vectors[i], np.float32).tolist(),
                            "bm25": m.SparseVector(**weights(chunk_base + i)),
                        },
                        payload={"doc": d},
                    )
                    for i in rows
                ],
            )
        vectors = np.asarray(seg.sentence_vectors, np.float32)
        for start in range(0, len(seg.sentences), UPLOAD_BATCH):
            stop = min(start + UPLOAD_BATCH, len(seg.sentences))
            pieces = tokens.rows(sentence_base + start, sentence_base + stop - 1)
            points = []
            for i in range(start, stop):
                rows_i = pieces.matrix[pieces.bounds[i - start] : pieces.bounds[i - start + 1]]
                # A multivector holds at least one row: a sentence without pieces gets a zero row,
                # and the reader keeps only as many rows as the source's payload counts.
                multi = rows_i if len(rows_i) else np.zeros((1, dim), np.float32)
                points.append(
                    m.PointStruct(
                        id=sentence_base + i,
                        vector={"pieces": multi.astype(np.float32).tolist(), "sentence": vectors[i].tolist()},
                    )
                )
            upload("sentences", points)
        chunk_base += len(seg.chunks)
        sentence_base += len(seg.sentences)
    meta = {
        "manifest": manifest.to_json(),
        "lexicon": {term: [vocab[term], lexical.doc_freq.get(term, 0)] for term in vocab},
        "n_docs": lexical.n_docs,
        "complete": True,  # written last: a version without it was never finished
    }
    upload("sources", [m.PointStruct(id=META_ID, vector={}, payload=meta)])


def bm25_rows(lexical: LexicalIndex) -> tuple[dict[str, int], Any]:
    """(term -> id, passage number -> its sparse BM25 vector) from the bm25s index of a version."""
    retriever = lexical.retriever
    vocab = {str(t): int(i) for t, i in retriever.vocab_dict.items()}
    scores = retriever.scores
    indptr, docs, data = (np.asarray(scores[k]) for k in ("indptr", "indices", "data"))
    terms_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    order = np.argsort(docs, kind="stable")
    by_doc = np.searchsorted(docs[order], np.arange(lexical.n_docs + 1))

    def weights(passage: int) -> dict[str, list[Any]]:
        rows = order[by_doc[passage] : by_doc[passage + 1]]
        return {"indices": terms_of[rows].tolist(), "values": data[rows].astype(np.float32).tolist()}

    return vocab, weights


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
        self, guard: QdrantClientGuard, version: str, vocab: dict[str, int], counts: np.ndarray, dim: int, total: int
    ) -> None:
        self._guard = guard
        self._version = version
        self._names = collections_of(version)
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
            raise _damaged(self._version, f"sentence {missing[0]} is missing")
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

    def token_rows(self, first: int, last: int) -> TokenRows:
        return self.sentence_rows([(first, last)], np.zeros((0, self._dim)))[0].pieces

    def dense_ranking(self, query_vector: np.ndarray, depth: int) -> list[int]:
        query = np.asarray(query_vector, np.float32).reshape(-1).tolist()
        with self._guard.call(f"searching version {self._version}") as client:
            found = client.query_points(
                self._names["passages"], query=query, using="dense", limit=depth, params=self._search_params()
            )
        return [int(p.id) for p in found.points]

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


def read_version(guard: QdrantClientGuard, version: str) -> IndexVersion:
    """Version ``version`` as a searcher reads it: texts and spans in memory, vectors in Qdrant.

    Raises ``IndexMissingError`` when its collections are gone, ``IndexDamagedError`` when one
    disagrees with the manifest (a collection short of points, a source that does not fit).
    """
    names = collections_of(version)
    with guard.call(f"opening version {version}") as client:
        existing = {c.name for c in client.get_collections().collections}
        if any(name not in existing for name in names.values()):
            raise IndexMissingError(
                f"index version {version} is gone from Qdrant at {guard.where}; run `briefqa index`"
            )
        meta = client.retrieve(names["sources"], ids=[META_ID], with_payload=True)
    if not meta or not meta[0].payload or not meta[0].payload.get("complete"):
        raise _damaged(version, "its manifest is missing: the build that wrote it did not finish")
    payload = meta[0].payload
    manifest = Manifest.from_json(payload["manifest"])
    sources = _read_sources(guard, names["sources"], manifest.documents)
    if len(sources) != manifest.documents:
        raise _damaged(version, f"{len(sources)} of {manifest.documents} sources are in Qdrant")
    documents: list[Document] = []
    parts: list[tuple[list[Sentence], list[Chunk], np.ndarray]] = []
    headings: list[str] = []
    counts: list[int] = []
    pairs: list[list[int]] = []
    for d in range(manifest.documents):
        src = sources[d + 1]
        doc = document_from_json(src["doc"])
        sentences = [Sentence(int(a), int(b), int(c)) for a, b, c, _q in src["sentences"]]
        if any(not 0 <= s.start <= s.end <= len(doc.text) for s in sentences) or len(src["pieces"]) != len(sentences):
            raise _damaged(version, f"source {doc.id}'s spans do not fit its text")
        chunks = [Chunk(a, b, src["headings"][i], f, la) for i, (a, b, f, la) in enumerate(src["chunks"])]
        documents.append(doc)
        parts.append((sentences, chunks, np.array([q for *_x, q in src["sentences"]], dtype=np.int64)))
        headings += [c.heading for c in chunks]
        counts += [int(c) for c in src["pieces"]]
        pairs += src["piece_df"]
    lexicon = payload["lexicon"]
    vocab = {term: int(pair[0]) for term, pair in lexicon.items()}
    df = {term: int(pair[1]) for term, pair in lexicon.items() if int(pair[1]) > 0}
    vectors = QdrantVectors(guard, version, vocab, np.array(counts, np.int64), manifest.dimension or 0, manifest.chunks)
    index = IndexVersion(
        version=version,
        manifest=manifest,
        documents=documents,
        spans=span_arrays(parts),
        headings=headings,
        vectors=vectors,
        lexical=LexicalIndex(None, df, int(payload["n_docs"])),
        rarity=PieceRarity.of_pairs(np.array(pairs, np.int64).reshape(-1, 2), len(counts)),
    )
    try:
        check_shapes(index)
    except ValueError as exc:
        raise _damaged(version, str(exc)) from None
    return index


def _read_sources(guard: QdrantClientGuard, name: str, documents: int) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    offset: Any = None
    while True:
        with guard.call("reading the sources") as client:
            points, offset = client.scroll(name, limit=64, offset=offset, with_payload=True, with_vectors=False)
        out.update({int(p.id): dict(p.payload or {}) for p in points if int(p.id) != META_ID})
        if offset is None:
            return out


def _damaged(version: str, why: str) -> IndexDamagedError:
    return IndexDamagedError(f"index version {version} in Qdrant is damaged ({why}); run `briefqa index` to repair it")
