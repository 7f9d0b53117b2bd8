"""Reading one version out of Qdrant: texts and spans into memory, its vectors left in Qdrant."""

from __future__ import annotations

from typing import Any

import numpy as np

from ....errors import IndexMissingError
from ....records import Chunk, Document, Sentence, document_from_json
from ...lexical import LexicalIndex
from ...loaded_version import IndexVersion, check_shapes, span_arrays
from ...manifest import Manifest
from ...segments.pieces import PieceRarity
from .client import QdrantClientGuard
from .schema import DEFAULT_PREFIX, META_ID, collections_of
from .search import QdrantVectors, damaged_in_qdrant


def read_version(guard: QdrantClientGuard, version: str, prefix: str = DEFAULT_PREFIX) -> IndexVersion:
    """Version ``version`` as a searcher reads it: texts and spans in memory, vectors in Qdrant.

    Raises ``IndexMissingError`` when its collections are gone, ``IndexDamagedError`` when one
    disagrees with the manifest (a collection short of points, a source that does not fit).
    """
    names = collections_of(version, prefix)
    with guard.call(f"opening version {version}") as client:
        existing = {c.name for c in client.get_collections().collections}
        if any(name not in existing for name in names.values()):
            raise IndexMissingError(
                f"index version {version} is gone from Qdrant at {guard.where}; run `briefqa index`"
            )
        meta = client.retrieve(names["sources"], ids=[META_ID], with_payload=True)
    if not meta or not meta[0].payload or not meta[0].payload.get("complete"):
        raise damaged_in_qdrant(version, "its manifest is missing: the build that wrote it did not finish")
    payload = meta[0].payload
    manifest = Manifest.from_json(payload["manifest"])
    sources = _read_sources(guard, names["sources"], manifest.documents)
    if len(sources) != manifest.documents:
        raise damaged_in_qdrant(version, f"{len(sources)} of {manifest.documents} sources are in Qdrant")
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
            raise damaged_in_qdrant(version, f"source {doc.id}'s spans do not fit its text")
        chunks = [Chunk(a, b, src["headings"][i], f, la) for i, (a, b, f, la) in enumerate(src["chunks"])]
        documents.append(doc)
        parts.append((sentences, chunks, np.array([q for *_x, q in src["sentences"]], dtype=np.int64)))
        headings += [c.heading for c in chunks]
        counts += [int(c) for c in src["pieces"]]
        pairs += src["piece_df"]
    lexicon = payload["lexicon"]
    vocab = {term: int(pair[0]) for term, pair in lexicon.items()}
    df = {term: int(pair[1]) for term, pair in lexicon.items() if int(pair[1]) > 0}
    vectors = QdrantVectors(
        guard, version, vocab, np.array(counts, np.int64), manifest.dimension or 0, manifest.chunks, prefix
    )
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
        raise damaged_in_qdrant(version, str(exc)) from None
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
