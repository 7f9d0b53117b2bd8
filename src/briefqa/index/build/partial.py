"""What a build keeps of a large source still being embedded: its batches, one by one.

Layout under ``BRIEFQA_INDEX/segments/<model>/`` (a finished source is a segment, ``segments.store``)::

    partial/<key>-b<n>/<i>.npz  vectors of batch ``i`` of a source still being embedded

Every file is an ``.npz`` (a zip whose members carry a CRC-32) renamed into place whole, so a
damaged or half-written batch fails to read and costs a re-embedding, never a wrong vector.
"""

from __future__ import annotations

import os
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..segments.file import ARRAY_READS

# What reading a damaged cache file can raise; each means "embed it again".
_UNREADABLE = (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, zipfile.BadZipFile)


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.npz")
    np.savez(tmp, **arrays)  # type: ignore[arg-type]
    os.replace(tmp, path)


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
