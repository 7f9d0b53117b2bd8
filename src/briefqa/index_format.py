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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .lexical import LexicalIndex
from .records import Document
from .token_store import TokenStore

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
SPAN_ARRAYS = {
    "sentences": ("sent_doc", "sent_start", "sent_end", "sent_chunk", "sent_quote_start"),
    "chunks": ("chunk_doc", "chunk_start", "chunk_end", "chunk_first", "chunk_last"),
}


@dataclass(slots=True)
class IndexData:
    """One loaded index version, read-only once built; a searcher answers from exactly one."""

    version: str
    manifest: dict[str, Any]
    documents: list[Document]
    # Per sentence (global numbering): owning document, span, owning chunk.
    sent_doc: np.ndarray
    sent_start: np.ndarray
    sent_end: np.ndarray
    sent_chunk: np.ndarray
    # Where each sentence's quote starts: the sentence before it when it leans back on that one.
    sent_quote_start: np.ndarray
    # Per chunk: owning document, span, first and last sentence (global numbering), heading.
    chunk_doc: np.ndarray
    chunk_start: np.ndarray
    chunk_end: np.ndarray
    chunk_first: np.ndarray
    chunk_last: np.ndarray
    chunk_heading: list[str]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    dense: Any  # faiss.Index over chunk_vectors
    lexical: LexicalIndex
    tokens: TokenStore
    doc_index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.doc_index = {d.id: i for i, d in enumerate(self.documents)}

    @property
    def model(self) -> str:
        return str(self.manifest["model"])

    def passage_text(self, chunk: int) -> str:
        """Chunk ``chunk`` with its heading, as it was embedded and indexed."""
        text = self.documents[int(self.chunk_doc[chunk])].text
        return with_heading(self.chunk_heading[chunk], text[int(self.chunk_start[chunk]) : int(self.chunk_end[chunk])])

    def document(self, doc_id: str) -> Document | None:
        i = self.doc_index.get(doc_id)
        return None if i is None else self.documents[i]


def with_heading(heading: str, body: str) -> str:
    """A passage as it is embedded and searched: its heading as context, then its text."""
    return f"{heading}\n{body}" if heading else body


def write_version(folder: Path, manifest: dict[str, Any], documents: list[Document],
                  spans: dict[str, np.ndarray], headings: list[str], chunk_vectors: np.ndarray,
                  sentence_vectors: np.ndarray, lexical: LexicalIndex) -> None:
    """Write every file of a version but its word-piece vectors (``token_store``) into ``folder``."""
    import faiss

    docs = [
        {"id": d.id, "path": d.path, "title": d.title, "origin": d.origin, "text": d.text,
         "hash": d.content_hash, "metadata": d.metadata}
        for d in documents
    ]
    (folder / "documents.json").write_text(json.dumps({"documents": docs, "headings": headings}))
    np.savez(folder / "spans.npz", **spans)  # type: ignore[arg-type]
    np.save(folder / "chunk_vectors.npy", chunk_vectors)
    np.save(folder / "sentence_vectors.npy", sentence_vectors)
    faiss.write_index(dense_index(chunk_vectors), str(folder / "dense.faiss"))
    lexical.save(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))


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


def read_folder(folder: Path, manifest: dict[str, Any]) -> IndexData:
    """Read one version folder into memory (no file stays mapped) and check its shapes.

    Raises what the parsers raise on a damaged file (``OSError``, ``ValueError``, ``KeyError``,
    ``RuntimeError`` from faiss, ...); the caller turns it into one line.
    """
    import faiss

    data = read_json(folder / "documents.json")
    documents = [
        Document(id=d["id"], path=d["path"], title=d["title"], origin=d["origin"], text=d["text"],
                 content_hash=d["hash"], metadata=d["metadata"])
        for d in data["documents"]
    ]
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
    index = IndexData(
        version=folder.name.removeprefix(".building-"),
        manifest=manifest,
        documents=documents,
        sent_doc=arrays["sent_doc"], sent_start=arrays["sent_start"], sent_end=arrays["sent_end"],
        sent_chunk=arrays["sent_chunk"], sent_quote_start=arrays["sent_quote_start"],
        chunk_doc=arrays["chunk_doc"], chunk_start=arrays["chunk_start"], chunk_end=arrays["chunk_end"],
        chunk_first=arrays["chunk_first"], chunk_last=arrays["chunk_last"],
        chunk_heading=list(data["headings"]),
        chunk_vectors=chunk_vectors,
        sentence_vectors=sentence_vectors,
        dense=dense,
        lexical=lexical,
        tokens=TokenStore(folder),
    )
    check_shapes(index)
    return index


def check_shapes(index: IndexData) -> None:
    """``ValueError`` naming the first array whose shape disagrees with the manifest's counts."""
    m = index.manifest
    chunks, sentences, dim = int(m["chunks"]), int(m["sentences"]), int(m["dimension"])
    expected: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = [
        ("documents.json", (len(index.documents),), (int(m["documents"]),)),
        ("documents.json headings", (len(index.chunk_heading),), (chunks,)),
        ("chunk_vectors.npy", index.chunk_vectors.shape, (chunks, dim)),
        ("sentence_vectors.npy", index.sentence_vectors.shape, (sentences, dim)),
        ("dense.faiss", (int(index.dense.ntotal), int(index.dense.d)), (chunks, dim)),
        ("bm25/", (index.lexical.n_docs,), (chunks,)),
        ("token_offsets.npy", (len(index.tokens.offsets) - 1,), (sentences,)),
    ]
    for kind, count in (("sentences", sentences), ("chunks", chunks)):
        expected += [(f"spans.npz {n}", getattr(index, n).shape, (count,)) for n in SPAN_ARRAYS[kind]]
    for name, got, want in expected:
        if tuple(got) != want:
            raise ValueError(f"{name} has shape {tuple(got)}, the manifest says {want}")
