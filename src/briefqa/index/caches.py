"""What builds keep for later builds: each source parsed and embedded, and batches of a large one.

Layout under ``BRIEFQA_INDEX/sources/<model>/``::

    <key>.npz                 one source: text, metadata, sentences, chunks and their vectors,
                              keyed by content hash, file kind, parser and segmenter versions
    partial/<key>-b<n>/<i>.npz  vectors of batch ``i`` of a source still being embedded

Every file is an ``.npz`` (a zip whose members carry a CRC-32) renamed into place whole, so a
damaged or half-written entry fails to read and costs a re-embedding, never a wrong vector.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..records import Chunk, Document, Sentence, document_from_json, document_to_json
from .index_format import ARRAY_READS

# What reading a damaged cache file can raise; each means "embed it again".
_UNREADABLE = (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, zipfile.BadZipFile)


def model_key(model: str) -> str:
    """A folder-safe name for a model, keying cached vectors."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model)[-120:]


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.npz")
    np.savez(tmp, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)


def save_source_cache(
    path: Path,
    doc: Document,
    sentences: list[Sentence],
    chunks: list[Chunk],
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    tokens: list[np.ndarray],
    token_ids: list[np.ndarray],
) -> None:
    """Cache one parsed, segmented, embedded source under its content hash."""
    meta = {
        **document_to_json(doc),
        "headings": [c.heading for c in chunks],
    }
    _save_npz(
        path,
        meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        sentences=np.array([(s.start, s.end, s.block) for s in sentences], dtype=np.int64).reshape(-1, 3),
        chunks=np.array([(c.start, c.end, c.first_sentence, c.last_sentence) for c in chunks], dtype=np.int64).reshape(
            -1, 4
        ),
        chunk_vectors=chunk_vectors,
        sentence_vectors=sentence_vectors,
        **pack_tokens(tokens, token_ids, sentence_vectors.shape[1]),
    )


def pack_tokens(tokens: list[np.ndarray], token_ids: list[np.ndarray], dimension: int) -> dict[str, np.ndarray]:
    """Per-sentence word-piece rows as three flat arrays (an ``.npz`` holds no ragged lists)."""
    return {
        "token_counts": np.array([len(t) for t in tokens], dtype=np.int64),
        "token_vectors": np.vstack(tokens) if tokens else np.zeros((0, dimension), np.float16),
        "token_ids": np.concatenate(token_ids) if token_ids else np.zeros(0, np.int32),
    }


def unpack_tokens(data: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The inverse of ``pack_tokens`` for a loaded ``.npz``."""
    counts = np.asarray(data["token_counts"])
    if not len(counts):
        return [], []
    cuts = np.cumsum(counts)[:-1]
    return (
        np.split(np.array(data["token_vectors"], dtype=np.float16), cuts),
        np.split(np.array(data["token_ids"], dtype=np.int32), cuts),
    )


CachedSource = tuple[Document, list[Sentence], list[Chunk], np.ndarray, np.ndarray, list[np.ndarray], list[np.ndarray]]


def load_source_cache(path: Path) -> CachedSource | None:
    """The cached source, or None if it is absent or damaged (it is then parsed and embedded again)."""
    try:
        with ARRAY_READS, np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            sents = [Sentence(int(a), int(b), int(c)) for a, b, c in data["sentences"]]
            heads = meta["headings"]
            chunks = [
                Chunk(int(a), int(b), heads[i], int(f), int(la)) for i, (a, b, f, la) in enumerate(data["chunks"])
            ]
            cv = np.array(data["chunk_vectors"], dtype=np.float32)
            sv = np.array(data["sentence_vectors"], dtype=np.float32)
            tv, ti = unpack_tokens(data)
        doc = document_from_json(meta)
    # The zip's CRC catches scrambled bytes; a disk error or a hand edit costs a re-embedding.
    except _UNREADABLE:
        return None
    size = len(doc.text)
    if (
        len(cv) != len(chunks)
        or len(sv) != len(sents)
        or len(heads) != len(chunks)
        or len(tv) != len(sents)
        or any(not 0 <= s.start <= s.end <= size for s in sents)
    ):
        return None
    return doc, sents, chunks, cv, sv, tv, ti


class PartialVectors:
    """The vectors of one large source, kept batch by batch while it is being embedded.

    A 20 MB source takes many minutes to embed; a build killed halfway resumes at the first
    batch it had not finished. The folder is named by the source's cache key and the batch size,
    so a batch is only ever reused for exactly the texts it was made from.
    """

    def __init__(self, cache_dir: Path, key: str, batch: int) -> None:
        self.folder = cache_dir / "partial" / f"{key}-b{batch}"

    def get(self, i: int, rows: int) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]] | None:
        """Batch ``i`` (its vectors, and the word pieces of its chunks' sentences) if it was
        embedded before and has ``rows`` rows, else None."""
        try:
            with ARRAY_READS, np.load(self.folder / f"{i}.npz", allow_pickle=False) as data:
                vectors = np.array(data["vectors"], dtype=np.float32)
                tokens, ids = unpack_tokens(data)
        except _UNREADABLE:
            return None
        return (vectors, tokens, ids) if len(vectors) == rows else None

    def put(self, i: int, vectors: np.ndarray, tokens: list[np.ndarray], ids: list[np.ndarray]) -> None:
        _save_npz(self.folder / f"{i}.npz", vectors=vectors, **pack_tokens(tokens, ids, vectors.shape[1]))

    def drop(self) -> None:
        """Forget the batches once the whole source is cached."""
        shutil.rmtree(self.folder, ignore_errors=True)


def prune_partials(cache_dir: Path, keep: set[str]) -> None:
    """Drop partial embeddings of sources the corpus no longer holds."""
    folder = cache_dir / "partial"
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.name.rsplit("-b", 1)[0] not in keep:
            shutil.rmtree(path, ignore_errors=True)
