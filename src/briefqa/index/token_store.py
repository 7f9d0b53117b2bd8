"""Per-sentence word-piece vectors on disk, for late interaction, read a few rows at a time.

A version holds ``token_vectors.npy`` (float16, one unit row per word piece of every sentence as
it is quoted), ``token_offsets.npy`` (sentence ``i`` owns rows ``offsets[i]:offsets[i+1]``) and
``token_ids.npy`` (the tokenizer's id of each row, for word-piece rarity). A query needs the rows
of about forty sentences, so the vectors are read with ``os.pread`` rather than loaded or mapped:
memory stays flat at any corpus size, and a file truncated under a running server gives a short
read (an error naming the file) instead of a SIGBUS.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IndexMismatchError

VECTORS, OFFSETS, IDS = "token_vectors.npy", "token_offsets.npy", "token_ids.npy"
TOKEN_FILES = (VECTORS, OFFSETS, IDS)
TOKEN_DTYPE = np.float16


def write_tokens(folder: Path, per_sentence: list[np.ndarray], ids: list[np.ndarray], dimension: int) -> None:
    """Write the word-piece rows of every sentence (in global sentence order) into ``folder``."""
    counts = np.array([len(rows) for rows in per_sentence], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    matrix = (np.vstack(per_sentence) if per_sentence else np.zeros((0, dimension))).astype(TOKEN_DTYPE)
    np.save(folder / VECTORS, np.ascontiguousarray(matrix.reshape(-1, dimension)))
    np.save(folder / OFFSETS, offsets)
    np.save(folder / IDS, (np.concatenate(ids) if ids else np.zeros(0)).astype(np.int32))


@dataclass(frozen=True, slots=True)
class TokenRows:
    """The word-piece rows of some sentences: ``matrix[bounds[i]:bounds[i+1]]`` is sentence ``i``."""

    matrix: np.ndarray
    bounds: np.ndarray


class TokenStore:
    """Reads sentences' word-piece rows; knows each word piece's rarity across the corpus."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / VECTORS
        self.offsets = np.load(folder / OFFSETS, allow_pickle=False)
        ids = np.load(folder / IDS, allow_pickle=False)
        with open(self.path, "rb") as fh:
            major, _minor = np.lib.format.read_magic(fh)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _fortran, dtype = read_header(fh)
            self._data_offset = fh.tell()
        if (
            dtype != np.dtype(TOKEN_DTYPE)
            or len(shape) != 2
            or (shape[0] != int(self.offsets[-1]) or int(self.offsets[-1]) != len(ids))
        ):
            raise IndexMismatchError(f"{self.path} does not match its offsets; run `briefqa index --full`")
        self.dimension = int(shape[1])
        self._row_bytes = self.dimension * np.dtype(TOKEN_DTYPE).itemsize
        self._fd = os.open(self.path, os.O_RDONLY)
        self._closing = threading.Lock()
        sentences = len(self.offsets) - 1
        # Word-piece document frequency over sentences: a piece that opens every sentence ("the")
        # says little about which one answers.
        owner = np.repeat(np.arange(sentences, dtype=np.int64), np.diff(self.offsets))
        vocab = int(ids.max()) + 1 if len(ids) else 1
        pairs = np.unique(owner * vocab + ids.astype(np.int64))
        self._df = np.bincount((pairs % vocab).astype(np.int64), minlength=vocab)
        self._sentences = sentences

    @property
    def sentences(self) -> int:
        """How many sentences the store holds rows for."""
        return self._sentences

    def idf(self, ids: np.ndarray) -> np.ndarray:
        """Smoothed inverse sentence frequency of each word piece (unseen pieces weigh the most)."""
        known = ids < len(self._df)
        df = np.zeros(len(ids), dtype=np.float64)
        df[known] = self._df[ids[known]]
        return np.log1p((self._sentences + 1) / (df + 0.5))

    def max_idf(self) -> float:
        return math.log1p((self._sentences + 1) / 0.5)

    def rows(self, first: int, last: int) -> TokenRows:
        """The rows of sentences ``first..last`` (inclusive, consecutive): one read."""
        start, end = int(self.offsets[first]), int(self.offsets[last + 1])
        nbytes = (end - start) * self._row_bytes
        raw = os.pread(self._fd, nbytes, self._data_offset + start * self._row_bytes) if nbytes else b""
        if len(raw) != nbytes:
            raise IndexMismatchError(f"{self.path} is shorter than its index says; run `briefqa index --full`")
        matrix = np.frombuffer(raw, dtype=TOKEN_DTYPE).reshape(-1, self.dimension)
        return TokenRows(matrix, self.offsets[first : last + 2] - start)

    def close(self) -> None:
        with self._closing:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __del__(self) -> None:
        # At interpreter shutdown the module's globals may be gone: nothing is left to release.
        with contextlib.suppress(Exception):
            self.close()
