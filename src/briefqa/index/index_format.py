"""One index version's files: writing them, reading them back into memory, checking their shapes.

A version folder holds ``manifest.json``, ``documents.json``, ``spans.npz``, ``chunk_vectors.npy``,
``sentence_vectors.npy``, ``dense.faiss``, ``bm25/``, ``doc_freq.json``, the word-piece vectors
of ``token_store`` and, once sealed, ``checksums.json``. Nothing is memory-mapped: a file
truncated in place under a running server (a restore with ``cp`` or ``rsync --inplace``) would
kill it with SIGBUS on the next page it touched, while arrays read into memory are the server's
own. The word-piece vectors, too large to hold at scale, are read a few rows at a time with
``pread``: a truncated file there is an error for that request, never a crash.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..records import Document, document_from_json, document_to_json
from .index_version import CHUNK_ARRAYS, SENTENCE_ARRAYS, IndexVersion, with_heading
from .lexical import LexicalIndex
from .manifest import Manifest
from .token_store import TokenStore

__all__ = [
    "ARRAY_READS",
    "HNSW_EF_CONSTRUCTION",
    "HNSW_EF_SEARCH",
    "HNSW_M",
    "HNSW_THRESHOLD",
    "IndexVersion",
    "dense_index",
    "read_folder",
    "read_json",
    "with_heading",
    "write_version",
]

# Past this many chunks the dense index is approximate (HNSW); below it exact search is cheap.
# Exact search over 50,000 vectors takes about 3 ms on two cores: below that, approximation
# buys nothing and costs recall.
HNSW_THRESHOLD = 50_000
# Wider graph and search than faiss's defaults: recall@10 must stay at 0.98 or above.
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 48, 200, 256
# numpy parses every .npy header with ast.literal_eval, and CPython 3.11.7 can fail two threads
# parsing at once ("SystemError: AST constructor recursion depth mismatch"): a build and a reload
# of the live index in one process (an HTTP rebuild) must not read arrays at the same moment.
ARRAY_READS = threading.Lock()


def write_version(
    folder: Path,
    manifest: Manifest,
    documents: list[Document],
    spans: dict[str, np.ndarray],
    headings: list[str],
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    lexical: LexicalIndex,
) -> None:
    """Write every file of a version but its word-piece vectors (``token_store``) into ``folder``."""
    import faiss

    docs = [document_to_json(d) for d in documents]
    (folder / "documents.json").write_text(json.dumps({"documents": docs, "headings": headings}))
    np.savez(folder / "spans.npz", **spans)  # type: ignore[arg-type]
    np.save(folder / "chunk_vectors.npy", chunk_vectors)
    np.save(folder / "sentence_vectors.npy", sentence_vectors)
    faiss.write_index(dense_index(chunk_vectors), str(folder / "dense.faiss"))
    lexical.save(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest.to_json(), indent=1))


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
    """Read one version folder into memory (no file stays mapped) and check its shapes.

    Raises what the parsers raise on a damaged file (``OSError``, ``ValueError``, ``KeyError``,
    ``RuntimeError`` from faiss, ...); the caller turns it into one line.
    """
    import faiss

    data = read_json(folder / "documents.json")
    documents = [document_from_json(d) for d in data["documents"]]
    with ARRAY_READS:
        with np.load(folder / "spans.npz", allow_pickle=False) as spans:
            arrays = {k: np.array(spans[k]) for k in spans.files}
        chunk_vectors = np.load(folder / "chunk_vectors.npy", allow_pickle=False)
        sentence_vectors = np.load(folder / "sentence_vectors.npy", allow_pickle=False)
        lexical = LexicalIndex.load(folder)
    # Through a buffer in memory, not faiss's own file reader, which may map the file.
    raw = np.frombuffer((folder / "dense.faiss").read_bytes(), dtype=np.uint8)
    dense = faiss.deserialize_index(raw)
    if hasattr(dense, "hnsw"):
        dense.hnsw.efSearch = HNSW_EF_SEARCH
    index = IndexVersion(
        version=folder.name.removeprefix(".building-"),
        manifest=manifest,
        documents=documents,
        spans=arrays,
        headings=list(data["headings"]),
        chunk_vectors=chunk_vectors,
        sentence_vectors=sentence_vectors,
        dense=dense,
        lexical=lexical,
        tokens=TokenStore(folder),
    )
    check_shapes(index)
    return index


def check_shapes(index: IndexVersion) -> None:
    """``ValueError`` naming the first part whose shape disagrees with the manifest's counts."""
    m = index.manifest
    chunks, sentences, dim = m.chunks, m.sentences, m.dimension or 0
    expected = {
        "documents.json": (m.documents,),
        "documents.json headings": (chunks,),
        "chunk_vectors.npy": (chunks, dim),
        "sentence_vectors.npy": (sentences, dim),
        "dense.faiss": (chunks, dim),
        "bm25/": (chunks,),
        "token_offsets.npy": (sentences,),
        **{f"spans.npz {n}": (sentences,) for n in SENTENCE_ARRAYS},
        **{f"spans.npz {n}": (chunks,) for n in CHUNK_ARRAYS},
    }
    for name, got in index.shapes():
        if got != expected[name]:
            raise ValueError(f"{name} has shape {got}, the manifest says {expected[name]}")
