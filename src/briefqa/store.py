"""The index on disk: versioned folders, a ``CURRENT`` pointer switched atomically, a build lock.

Layout of ``BRIEFQA_INDEX``::

    CURRENT                     name of the live version (replaced atomically)
    versions/<name>/            one complete index: manifest.json, documents.json, spans.npz,
                                chunk_vectors.npy, sentence_vectors.npy, dense.faiss, bm25/,
                                doc_freq.json, abstain.json
    versions/.building-<name>/  a version being written (or left by a killed build; collected)
    sources/<model>/<key>.npz   per-source cache of segmentation and vectors (incremental builds),
                                keyed by content hash, file kind, parser and segmenter versions
    .lock                       held by the one build that may write

Names of versions sort by age (UTC timestamps). Readers never see a version before ``CURRENT``
names it, and ``CURRENT`` only ever names a complete one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import threading
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexBusyError, IndexMismatchError, IndexMissingError
from .lexical import LexicalIndex
from .records import Chunk, Document, Sentence
from .token_store import TokenStore

log = logging.getLogger("briefqa.store")

FORMAT_VERSION = 3
# Past this many chunks the dense index is approximate (HNSW); below it exact search is cheap.
# Exact search over 50,000 vectors takes about 3 ms on two cores: below that, approximation
# buys nothing and costs recall.
HNSW_THRESHOLD = 50_000
# Wider graph and search than faiss's defaults: recall@10 must stay at 0.98 or above.
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 48, 200, 256
KEEP_VERSIONS = 3
# numpy parses every .npy header with ast.literal_eval, and CPython 3.11.7 can fail two threads
# parsing at once ("SystemError: AST constructor recursion depth mismatch"): a build and a reload
# of the live index in one process (an HTTP rebuild) must not read arrays at the same moment.
_ARRAY_READS = threading.Lock()


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """What the manifest says of one source."""

    id: str
    path: str
    hash: str
    title: str = ""
    chunks: int = 0
    sentences: int = 0
    error: str | None = None


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
    abstain: dict[str, Any] = field(default_factory=dict)
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


def current_version(root: Path) -> str | None:
    """Name of the live version, or None when nothing was ever built."""
    try:
        name = (root / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    return name if name and (root / "versions" / name / "manifest.json").is_file() else None


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest of the live version, or None when nothing was ever built."""
    name = current_version(root)
    if name is None:
        return None
    return json.loads((root / "versions" / name / "manifest.json").read_text())


def new_version_dir(root: Path) -> Path:
    """A fresh folder for a version being built; invisible to readers until ``publish``."""
    # UTC to the microsecond first, so sorting names sorts versions by age (garbage collection
    # relies on it) whatever the local clock does at a daylight-saving change.
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = root / "versions" / f".building-{stamp}-{uuid.uuid4().hex[:6]}"
    path.mkdir(parents=True)
    return path


def publish(root: Path, building: Path) -> str:
    """Make a completely written version the live one; returns its name.

    Two steps, each atomic: the finished folder loses its ``.building-`` prefix, then ``CURRENT``
    is replaced. A crash between them leaves an unused complete folder and the old version live.
    """
    name = seal(building)
    point_current(root, name)
    return name


def seal(building: Path) -> str:
    """Flush a written version to disk and give it its final name (still not live)."""
    name = building.name.removeprefix(".building-")
    _fsync_tree(building)
    os.replace(building, building.with_name(name))
    _fsync_dir(building.parent)
    return name


def point_current(root: Path, name: str) -> None:
    """Make version ``name`` the live one: readers see the old name or the new, never a mix."""
    tmp = root / f".CURRENT.{uuid.uuid4().hex}"
    with open(tmp, "w") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / "CURRENT")
    _fsync_dir(root)


def collect_garbage(root: Path, keep: int = KEEP_VERSIONS) -> None:
    """Drop unfinished builds and all but the newest ``keep`` versions (the live one always stays).

    Only a holder of ``BuildLock`` may call this: an unfinished build is someone's work in progress.
    Servers still answering from a dropped version are unaffected, as they hold its data in memory
    or memory-mapped (an unlinked file stays readable while mapped).
    """
    versions = root / "versions"
    if not versions.is_dir():
        return
    live = current_version(root)
    done = sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    stale = [p for p in versions.iterdir() if p.name.startswith(".building-")]
    old = [p for p in done[:-keep] if p.name != live] if len(done) > keep else []
    for path in stale + old:
        shutil.rmtree(path, ignore_errors=True)
    for tmp in root.glob(".CURRENT.*"):
        tmp.unlink(missing_ok=True)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BuildLock:
    """The one lock a build holds while it writes; a second build waits up to ``timeout`` seconds."""

    def __init__(self, root: Path, timeout: float = 600.0) -> None:
        from filelock import FileLock

        root.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(root / ".lock"))
        self._timeout = timeout
        self._root = root

    def __enter__(self) -> BuildLock:
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=0)
            return self
        except Timeout:
            # Say so once: otherwise a second `briefqa index` looks hung while it waits.
            log.warning("another build of %s is running; waiting up to %.0fs for it to finish",
                        self._root, self._timeout)
        try:
            self._lock.acquire(timeout=self._timeout)
        except Timeout:
            raise IndexBusyError(
                f"another build of {self._root} is still running (waited {self._timeout:.0f}s); "
                "try again when it finishes"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def model_key(model: str) -> str:
    """A folder-safe name for a model, keying cached vectors."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model)[-120:]


def save_source_cache(path: Path, doc: Document, sentences: list[Sentence], chunks: list[Chunk],
                      chunk_vectors: np.ndarray, sentence_vectors: np.ndarray,
                      tokens: list[np.ndarray], token_ids: list[np.ndarray]) -> None:
    """Cache one parsed, segmented, embedded source under its content hash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "id": doc.id, "path": doc.path, "title": doc.title, "origin": doc.origin,
        "text": doc.text, "hash": doc.content_hash, "metadata": doc.metadata,
        "headings": [c.heading for c in chunks],
    }
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.npz")
    np.savez(
        tmp,
        meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        sentences=np.array([(s.start, s.end, s.block) for s in sentences], dtype=np.int64).reshape(-1, 3),
        chunks=np.array([(c.start, c.end, c.first_sentence, c.last_sentence) for c in chunks],
                        dtype=np.int64).reshape(-1, 4),
        chunk_vectors=chunk_vectors,
        sentence_vectors=sentence_vectors,
        token_counts=np.array([len(t) for t in tokens], dtype=np.int64),
        token_vectors=np.vstack(tokens) if tokens else np.zeros((0, sentence_vectors.shape[1]), np.float16),
        token_ids=np.concatenate(token_ids) if token_ids else np.zeros(0, np.int32),
    )
    os.replace(tmp, path)


CachedSource = tuple[Document, list[Sentence], list[Chunk], np.ndarray, np.ndarray, list[np.ndarray],
                     list[np.ndarray]]


def load_source_cache(path: Path) -> CachedSource | None:
    """The cached source, or None if it is absent or unreadable (it is then rebuilt)."""
    try:
        with _ARRAY_READS, np.load(path) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            sents = [Sentence(int(a), int(b), int(c)) for a, b, c in data["sentences"]]
            heads = meta["headings"]
            chunks = [Chunk(int(a), int(b), heads[i], int(f), int(la))
                      for i, (a, b, f, la) in enumerate(data["chunks"])]
            cv = np.array(data["chunk_vectors"], dtype=np.float32)
            sv = np.array(data["sentence_vectors"], dtype=np.float32)
            cuts = np.cumsum(data["token_counts"])[:-1]
            tv = np.split(np.array(data["token_vectors"], dtype=np.float16), cuts)
            ti = np.split(np.array(data["token_ids"], dtype=np.int32), cuts)
    # A cache file is only ever renamed into place whole, but a disk error or a hand edit must
    # cost a re-embedding, not the build.
    except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile):
        return None
    if len(cv) != len(chunks) or len(sv) != len(sents) or len(tv) != len(sents):
        return None
    doc = Document(id=meta["id"], path=meta["path"], title=meta["title"], origin=meta["origin"],
                   text=meta["text"], content_hash=meta["hash"], metadata=meta["metadata"])
    return doc, sents, chunks, cv, sv, tv, ti


class WordVectors:
    """Vectors of single words for one model, kept across builds (``sources/<model>/words/``).

    A word's vector does not depend on the corpus, and the probes embed a couple of thousand
    words at every fit: each is embedded once per model, then read back.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._rows: dict[str, np.ndarray] = {}
        try:
            with _ARRAY_READS, np.load(path) as data:
                words = json.loads(bytes(data["words"]).decode())
                vectors = np.array(data["vectors"], dtype=np.float32)
            if len(words) == len(vectors):
                self._rows = dict(zip(words, vectors, strict=True))
        # Unreadable or absent: the words are embedded again, nothing else is lost.
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass

    def lookup(self, words: list[str], embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """Rows for ``words``, embedding (with ``embed``) and saving only the ones not seen before."""
        missing = [w for w in dict.fromkeys(words) if w not in self._rows]
        if missing:
            self._rows.update(zip(missing, np.asarray(embed(missing), dtype=np.float32), strict=True))
            self._save()
        if not words:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._rows[w] for w in words])

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.npz")
        words = list(self._rows)
        np.savez(tmp, words=np.frombuffer(json.dumps(words).encode(), dtype=np.uint8),
                 vectors=np.stack([self._rows[w] for w in words]))
        os.replace(tmp, self.path)


def write_version(folder: Path, manifest: dict[str, Any], documents: list[Document],
                  spans: dict[str, np.ndarray], headings: list[str], chunk_vectors: np.ndarray,
                  sentence_vectors: np.ndarray, lexical: LexicalIndex) -> None:
    """Write every file of a version except ``abstain.json`` into ``folder``."""
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


def load(root: Path, model: str | None = None, dimension: int | None = None,
         version: str | None = None) -> IndexData:
    """The live version (or the named one), checked against the model that will embed questions."""
    name = version or current_version(root)
    if name is None:
        raise IndexMissingError(f"no index in {root}; run `briefqa index` to build it")
    folder = root / "versions" / name
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except FileNotFoundError:
        raise IndexMissingError(f"index version {name} is gone from {root}; run `briefqa index`") from None
    check_manifest(manifest, model, dimension)
    return load_folder(folder, manifest)


def load_folder(folder: Path, manifest: dict[str, Any]) -> IndexData:
    """Read one version folder (already checked against the model)."""
    import faiss

    data = json.loads((folder / "documents.json").read_text())
    documents = [
        Document(id=d["id"], path=d["path"], title=d["title"], origin=d["origin"], text=d["text"],
                 content_hash=d["hash"], metadata=d["metadata"])
        for d in data["documents"]
    ]
    with _ARRAY_READS:
        with np.load(folder / "spans.npz") as spans:
            arrays = {k: np.array(spans[k]) for k in spans.files}
        # Plain ndarray views of the mappings: memmap's subclass machinery costs on every slice.
        chunk_vectors = np.asarray(np.load(folder / "chunk_vectors.npy", mmap_mode="r"))
        sentence_vectors = np.asarray(np.load(folder / "sentence_vectors.npy", mmap_mode="r"))
        lexical = LexicalIndex.load(folder)
    abstain_path = folder / "abstain.json"
    abstain = json.loads(abstain_path.read_text()) if abstain_path.is_file() else {}
    dense = faiss.read_index(str(folder / "dense.faiss"))
    if hasattr(dense, "hnsw"):
        dense.hnsw.efSearch = HNSW_EF_SEARCH
    return IndexData(
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
        abstain=abstain,
    )


def check_manifest(manifest: dict[str, Any], model: str | None, dimension: int | None) -> None:
    """Refuse an index of another format, model or dimension, saying what to run."""
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"the index has format {manifest.get('format')}, this briefqa reads format "
            f"{FORMAT_VERSION}; run `briefqa index --full` to rebuild it"
        )
    if model is not None and manifest.get("model") != model:
        raise IndexMismatchError(
            f"the index was built with model {manifest.get('model')!r} but BRIEFQA_MODEL is "
            f"{model!r}; run `briefqa index --full` to rebuild it with this model"
        )
    if dimension is not None and manifest.get("dimension") != dimension:
        raise IndexMismatchError(
            f"the index holds {manifest.get('dimension')}-dimensional vectors but the model gives "
            f"{dimension}; run `briefqa index --full`"
        )
