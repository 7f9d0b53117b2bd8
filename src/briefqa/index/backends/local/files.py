"""One index version's files: writing them, reading them and their segments into memory, checking shapes.

A version folder holds ``manifest.json`` (which lists the segments it is made of, in order),
``bm25/``, ``doc_freq.json``, ``dense.faiss`` when the dense index is approximate (HNSW: too slow
to build at every load; exact search is built from the passage vectors when the version loads)
and, once sealed, ``checksums.json``. Everything per source (its text, spans, vectors and word
pieces) is in its segment (``segments.store``), shared with the other versions.

Nothing is memory-mapped: a file truncated in place under a running server (a restore with ``cp``
or ``rsync --inplace``) would kill it with SIGBUS on the next page it touched, while arrays read
into memory are the server's own. The word pieces and the sentence vectors, too large to hold at
scale (and, held, copied into every worker), are read a few rows at a time with ``pread`` on a
descriptor kept open: the page cache keeps one copy for all the workers, a truncated segment is an
error for that request, never a crash, and a segment a later build prunes stays readable while the
version is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ...lexical import LexicalIndex
from ...loaded_version import IndexVersion, check_shapes, span_arrays
from ...manifest import Manifest
from ...segments.file import ARRAY_READS
from ...segments.store import SourceSegment, read_segments, token_store
from ...vector_search import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M, HNSW_THRESHOLD
from .vectors import LocalVectors


def write_version(folder: Path, manifest: Manifest, chunk_vectors: np.ndarray, lexical: LexicalIndex) -> None:
    """Write the files of a version into ``folder``; its segments are already in the segment store."""
    import faiss

    if len(chunk_vectors) > HNSW_THRESHOLD:
        faiss.write_index(dense_index(chunk_vectors), str(folder / DENSE))
    lexical.save(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest.to_json(), indent=1))


DENSE = "dense.faiss"


def dense_index(vectors: np.ndarray):  # type: ignore[no-untyped-def]
    """Exact inner-product search for small corpora, HNSW past ``HNSW_THRESHOLD`` chunks."""
    import faiss

    dim = vectors.shape[1]
    index: Any
    if len(vectors) > HNSW_THRESHOLD:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def read_json(path: Path) -> Any:
    return json.loads(path.read_bytes())


def read_folder(folder: Path, manifest: Manifest) -> IndexVersion:
    """Read one version folder and its segments into memory (no file stays mapped); check shapes.

    Raises what the parsers raise on a damaged file (``OSError``, ``ValueError``, ``KeyError``,
    ``RuntimeError`` from faiss, ...); the caller turns it into one line.
    """
    import faiss

    segments = read_segments(folder.parent.parent, manifest, sentence_vectors=False)
    with ARRAY_READS:
        lexical = LexicalIndex.load(folder)
    arrays = _spans(segments)
    dim = manifest.dimension or 0
    chunk_vectors = _stack([s.chunk_vectors for s in segments], dim)
    if (folder / DENSE).is_file():
        # Through a buffer in memory, not faiss's own file reader, which may map the file.
        dense = faiss.deserialize_index(np.frombuffer((folder / DENSE).read_bytes(), dtype=np.uint8))
        if hasattr(dense, "hnsw"):
            dense.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        if len(chunk_vectors) > HNSW_THRESHOLD:
            raise ValueError(f"{DENSE} is missing")
        dense = dense_index(chunk_vectors)
    tokens = token_store(segments, manifest)
    index = IndexVersion(
        version=folder.name.removeprefix(".building-"),
        manifest=manifest,
        documents=[s.doc for s in segments],
        spans=arrays,
        headings=[c.heading for s in segments for c in s.chunks],
        vectors=LocalVectors(chunk_vectors, dense, lexical, tokens),
        lexical=lexical,
        rarity=tokens.rarity,
    )
    check_shapes(index)
    return index


def _stack(parts: list[np.ndarray], dim: int) -> np.ndarray:
    return np.vstack(parts) if parts else np.zeros((0, dim), dtype=np.float16)


def _spans(segments: list[SourceSegment]) -> dict[str, np.ndarray]:
    """The global span arrays of ``IndexVersion`` (sentences and chunks numbered across sources)."""
    return span_arrays([(s.sentences, s.chunks, s.quote_starts) for s in segments])
