"""Writing one version into Qdrant: its collections filled from the local segments, the manifest last."""

from __future__ import annotations

from typing import Any

import numpy as np

from ....records import document_to_json
from ...lexical import LexicalIndex
from ...manifest import Manifest
from ...segments.store import read_segments, token_store
from .client import Cluster, QdrantClientGuard
from .schema import DEFAULT_PREFIX, META_ID, UPLOAD_BATCH, collections_of, create_collections


def write_version(
    guard: QdrantClientGuard,
    root: Any,
    version: str,
    manifest: Manifest,
    lexical: LexicalIndex,
    cluster: Cluster,
    prefix: str = DEFAULT_PREFIX,
) -> None:
    """Upload a version whose segments are in the local segment store under ``root``."""
    from qdrant_client import models as m

    dim = manifest.dimension or 0
    segments = read_segments(root, manifest)
    tokens = token_store(segments, manifest)
    create_collections(guard, version, dim, cluster, prefix)
    vocab, weights = bm25_rows(lexical)
    names = collections_of(version, prefix)

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
