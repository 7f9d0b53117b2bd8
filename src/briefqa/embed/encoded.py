"""What every encoder gives and what the index and the searcher need of one: the records alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# Told the number of texts of each batch as it is encoded (the build's own ProgressHook counts stages).
BatchHook = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Encoded:
    """One forward pass over texts: a unit vector per text, and per text its word pieces.

    ``tokens[i]`` holds a unit vector per word piece of text ``i`` (special tokens left out), and
    ``ids[i]`` the tokenizer's ids of those pieces: late interaction matches them one by one.
    """

    vectors: np.ndarray
    tokens: list[np.ndarray]
    ids: list[np.ndarray]
    # With ``spans=True``: per text, the (start, end) characters of each kept word piece; and the
    # model's own (not normalised) output row of every token but the special ones, with their
    # characters, from which any stretch of the text gets its vector by mean pooling.
    spans: list[np.ndarray] | None = None
    raw: list[np.ndarray] | None = None
    raw_spans: list[np.ndarray] | None = None

    def pooled(self, i: int, stretches: Sequence[tuple[int, int]]) -> np.ndarray:
        """Unit vectors of ``stretches`` (character spans) of text ``i``: the mean of the rows of
        the tokens inside each, as the model pools a whole text. A stretch with no token inside
        (past the model's input length) gets a zero row."""
        if self.raw is None or self.raw_spans is None:
            raise ValueError("encode_full(..., spans=True) gives the rows to pool")
        rows, where = self.raw[i], self.raw_spans[i]
        out = np.zeros((len(stretches), rows.shape[1] if rows.ndim == 2 else 0), dtype=np.float32)
        for n, (a, b) in enumerate(stretches):
            inside = (where[:, 0] >= a) & (where[:, 0] < b)
            if inside.any():
                v = rows[inside].mean(axis=0)
                out[n] = v / max(float(np.linalg.norm(v)), 1e-12)
        return out


class Embedder(Protocol):
    """What the index and the searcher need of a model.

    ``max_tokens`` is the longest input it reads (the build's chunk budget follows from it);
    ``pieces()`` is its vocabulary, every word piece by id (the searcher weighs a question's pieces
    and knows its stopwords by them). A model that cannot say either fails to load.
    """

    name: str

    # Read-only: a model loaded on first use (``LazyEmbedder``) says them once it is loaded.
    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def encode(self, texts: Sequence[str], progress: BatchHook | None = None) -> np.ndarray: ...

    def encode_full(self, texts: Sequence[str], progress: BatchHook | None = None, spans: bool = False) -> Encoded: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def pieces(self) -> list[str]: ...
