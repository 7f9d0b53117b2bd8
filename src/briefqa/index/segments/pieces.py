"""Per-sentence word-piece vectors for late interaction, read from the segments a few rows at a time.

Each segment holds the codes of its source's pieces (``codec``) and where each sentence's
rows start. A query needs the rows of about forty sentences of a few passages, so the codes are
read with ``os.pread`` and decoded, never loaded or mapped: memory stays flat at any corpus
size, and a segment truncated under a running server gives a short read (an error naming the
file) instead of a SIGBUS. They are read through the descriptor each ``SegmentFile`` keeps open,
so a segment that a later build prunes stays readable for the versions still loaded. Rarity of
each piece across the version is summed from the segments' per-sentence counts when the
version loads.

The codes are stored zlib-compressed, one block per passage (``pack_codes``): 4-bit codes are
far from uniform (2.85 bits of entropy a value on SQuAD paragraphs), and zlib keeps 0.65 of
their bytes, about 10 KB a passage less. A query reads its candidates' blocks whole (one
``pread`` per run of sentences, as before) and inflates them: the codes come back bit for bit,
so ranking and abstention cannot change.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ...errors import IndexMismatchError
from .codec import PieceCodec
from .file import SegmentError, SegmentFile

PIECES = "pieces"
SENTENCE_VECTORS = "sentence_vectors"
# (first sentence, first byte in ``PIECES``) of each compressed block, and (sentences, bytes) last.
BLOCKS = "piece_blocks"
ZLIB_LEVEL = 6  # level 1 keeps 0.67 of the bytes, 6 keeps 0.65 for twice the build's few ms a passage


def pack_codes(codes: np.ndarray, offsets: np.ndarray, starts: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Compress ``codes`` (rows of sentence i: ``offsets[i]:offsets[i+1]``) in blocks of the
    sentences from each of ``starts`` to the next: the bytes and the ``BLOCKS`` table."""
    sentences = len(offsets) - 1
    bounds = sorted({0, sentences, *(s for s in starts if 0 <= s <= sentences)})
    blobs = [zlib.compress(codes[offsets[a] : offsets[b]].tobytes(), ZLIB_LEVEL) for a, b in itertools.pairwise(bounds)]
    at = np.concatenate([[0], np.cumsum([len(b) for b in blobs], dtype=np.int64)]).astype(np.int64)
    table = np.stack([np.array(bounds, dtype=np.int64), at], axis=1)
    return np.frombuffer(b"".join(blobs), dtype=np.uint8), table


def blocks_fit(blocks: np.ndarray, sentences: int, nbytes: int) -> bool:
    """Whether a ``BLOCKS`` table covers ``sentences`` sentences and ``nbytes`` bytes in order."""
    return (
        blocks.ndim == 2
        and blocks.shape[1] == 2
        and len(blocks) >= 1
        and blocks[0].tolist() == [0, 0]
        and blocks[-1].tolist() == [sentences, nbytes]
        and bool(np.all(np.diff(blocks[:, 0]) > 0))
        and bool(np.all(np.diff(blocks[:, 1]) >= 0))
    )


@dataclass(frozen=True, slots=True)
class TokenRows:
    """The word-piece rows of some sentences: ``matrix[bounds[i]:bounds[i+1]]`` is sentence ``i``."""

    matrix: np.ndarray
    bounds: np.ndarray


@dataclass(frozen=True, slots=True)
class PieceSource:
    """One segment as the store reads it: the file, its sentences' piece offsets, its rarity counts."""

    file: SegmentFile
    offsets: np.ndarray
    blocks: np.ndarray  # ``BLOCKS``
    df: np.ndarray  # (piece id, sentences holding it)
    codec: PieceCodec

    def codes(self, first: int, last: int) -> np.ndarray:
        """The stored codes of sentences ``first..last`` (this segment's numbering): one read."""
        starts, at = self.blocks[:, 0], self.blocks[:, 1]
        i = int(np.searchsorted(starts, first, side="right")) - 1
        j = int(np.searchsorted(starts, last, side="right"))
        raw = self.file.span(PIECES, int(at[i]), int(at[j])).tobytes()
        width, dtype = self.codec.width, self.codec.dtype
        parts = []
        for k in range(i, j):
            rows = int(self.offsets[starts[k + 1]] - self.offsets[starts[k]])
            try:
                data = zlib.decompress(raw[int(at[k] - at[i]) : int(at[k + 1] - at[i])])
            except zlib.error:
                data = b""
            if len(data) != rows * width * dtype.itemsize:
                raise SegmentError(f"{self.file.path.name}: the word pieces of sentences {first}-{last} are damaged")
            parts.append(np.frombuffer(data, dtype=dtype).reshape(rows, width))
        base = int(self.offsets[starts[i]])
        codes = np.vstack(parts) if parts else np.zeros((0, width), dtype)
        return codes[int(self.offsets[first]) - base : int(self.offsets[last + 1]) - base]


class PieceRarity:
    """How rare each word piece is across a version's sentences, from per-piece sentence counts."""

    def __init__(self, df: np.ndarray, sentences: int) -> None:
        self.df = df
        self.sentences = sentences

    @classmethod
    def of_pairs(cls, pairs: np.ndarray, sentences: int) -> PieceRarity:
        """From (piece id, sentences holding it) pairs, an id may recur (one pair per segment)."""
        vocab = int(pairs[:, 0].max()) + 1 if len(pairs) else 1
        return cls(np.bincount(pairs[:, 0].astype(np.int64), weights=pairs[:, 1], minlength=vocab), sentences)

    def idf(self, ids: np.ndarray) -> np.ndarray:
        """Smoothed inverse sentence frequency of each word piece (unseen pieces weigh the most)."""
        known = ids < len(self.df)
        df = np.zeros(len(ids), dtype=np.float64)
        df[known] = self.df[ids[known]]
        return np.log1p((self.sentences + 1) / (df + 0.5))

    def max_idf(self) -> float:
        return math.log1p((self.sentences + 1) / 0.5)


class TokenStore:
    """Reads sentences' word-piece rows (global sentence numbers); knows each piece's rarity."""

    def __init__(self, sources: Sequence[PieceSource], dimension: int) -> None:
        self.dimension = dimension
        self._sources = tuple(sources)
        counts = [len(s.offsets) - 1 for s in self._sources]
        # Global number of each segment's first sentence.
        self._first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._sentences = int(self._first[-1])
        pairs = [s.df for s in self._sources if len(s.df)]
        # Word-piece document frequency over sentences: a piece that opens every sentence ("the")
        # says little about which one answers.
        self.rarity = PieceRarity.of_pairs(
            np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64), self._sentences
        )

    @property
    def sentences(self) -> int:
        """How many sentences the store holds rows for."""
        return self._sentences

    def idf(self, ids: np.ndarray) -> np.ndarray:
        return self.rarity.idf(ids)

    def max_idf(self) -> float:
        return self.rarity.max_idf()

    def _runs(self, first: int, last: int) -> Iterator[tuple[PieceSource, int, int]]:
        """Sentences ``first..last`` (global) as runs within one segment: (segment, first, last)."""
        sentence = first
        while sentence <= last:
            s = int(np.searchsorted(self._first, sentence, side="right")) - 1
            a = sentence - int(self._first[s])
            b = min(last, int(self._first[s + 1]) - 1) - int(self._first[s])
            yield self._sources[s], a, b
            sentence = b + int(self._first[s]) + 1

    def rows(self, first: int, last: int) -> TokenRows:
        """The rows of sentences ``first..last`` (inclusive, consecutive): one read per segment."""
        parts: list[np.ndarray] = []
        bounds: list[np.ndarray] = []
        at = 0
        for src, a, b in self._runs(first, last):
            start, stop = int(src.offsets[a]), int(src.offsets[b + 1])
            try:
                codes = src.codes(a, b)
            except SegmentError as exc:
                raise IndexMismatchError(f"{exc}; run `briefqa index` to repair it") from None
            parts.append(src.codec.decode(codes))
            bounds.append(src.offsets[a : b + 1] - start + at)
            at += stop - start
        matrix = np.vstack(parts) if parts else np.zeros((0, self.dimension), np.float32)
        return TokenRows(matrix.reshape(-1, self.dimension), np.concatenate([*bounds, [at]]).astype(np.int64))

    def sentence_vectors(self, first: int, last: int) -> np.ndarray:
        """Unit vectors of sentences ``first..last`` (inclusive), float32, read like the pieces
        (one ``pread`` per segment): no worker holds a copy of them, the page cache holds one
        for all (3.8 KB a SQuAD paragraph: the largest per-passage array a server would hold)."""
        parts = []
        for src, a, b in self._runs(first, last):
            try:
                parts.append(src.file.rows(SENTENCE_VECTORS, a, b + 1))
            except SegmentError as exc:
                raise IndexMismatchError(f"{exc}; run `briefqa index` to repair it") from None
        rows = np.vstack(parts) if parts else np.zeros((0, self.dimension), np.float16)
        return np.asarray(rows, dtype=np.float32).reshape(-1, self.dimension)

    def close(self) -> None:
        """Nothing to do: each segment's descriptor closes when its last reader lets the version go
        (a request in flight may still hold it after the server swapped)."""
