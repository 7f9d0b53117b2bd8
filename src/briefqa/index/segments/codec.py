"""How a word piece's vector is stored: 4 bits a value (192 bytes for MiniLM), or float16.

Late interaction keeps a vector per word piece, about 150 per passage. As float16 a piece costs
``2 x dimension`` bytes (768 for MiniLM). A scalar quantizer (faiss's ``ScalarQuantizer``,
``QT_4bit``) keeps each value in 4 bits over a range fitted per dimension: 192 bytes, and a
decoded piece has cosine 0.987 with the model's. A product quantizer (64 bytes: a centroid id for
each of 64 slices; tried and removed) reached only 0.898, and the abstainer, fitted on exact
pieces, counts question pieces matched above fixed cosines: on the SQuAD dev half it then
refused 3.6 points more answerable questions. Measured on that half and the brief's sets
(docs/how-quotes-are-chosen.md): 4 bits changes hit@1 by under 0.002 and abstain by +0.010,
false_abstain by +0.001; 6 bits (288 bytes) by under 0.003 everywhere.

The codebook (here, the ranges) is fixed, not trained on each corpus: it ships with briefqa
(``codebooks/<model>-<kind>.npy``), fitted once on the word pieces of 1,500 SQuAD 1.1 training
paragraphs (Wikipedia, none of the articles evaluated on; ``python -m training.fit_codebook``).
A segment written with it stays valid for every later version and every corpus, which a
per-corpus codebook would not allow (a retrained codebook invalidates every segment), and a
corpus of one brief has too few pieces to fit one. A model without a shipped codebook stores
float16 (``Float16Codec``): correct, only larger.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol

import numpy as np

CODEBOOKS = Path(__file__).with_name("codebooks")
# What a build stores pieces as (measured in docs/how-quotes-are-chosen.md): see the module docstring.
CODEC = "sq4"
TRAIN_SEED = 0


class PieceCodec(Protocol):
    """Unit vectors <-> the rows a segment stores; ``name`` says which codec and codebook."""

    name: str
    dtype: np.dtype
    width: int  # stored values per piece

    def encode(self, rows: np.ndarray) -> np.ndarray: ...

    def decode(self, codes: np.ndarray) -> np.ndarray: ...


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


class Float16Codec:
    """The vectors as they are, in float16."""

    def __init__(self, dimension: int) -> None:
        self.name = f"f16x{dimension}"
        self.dtype = np.dtype(np.float16)
        self.width = dimension

    def encode(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(rows, dtype=np.float16).reshape(-1, self.width)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return np.asarray(codes, dtype=np.float32)


class ScalarCodec:
    """``bits`` per value with a range per dimension (faiss's ``ScalarQuantizer``, non-uniform)."""

    def __init__(self, ranges: np.ndarray, bits: int, tag: str) -> None:
        import faiss

        dimension = len(ranges) // 2
        self._sq = faiss.ScalarQuantizer(dimension, getattr(faiss.ScalarQuantizer, f"QT_{bits}bit"))
        self._sq.trained.resize(len(ranges))
        faiss.copy_array_to_vector(np.ascontiguousarray(ranges, dtype=np.float32), self._sq.trained)
        digest = hashlib.blake2b(np.ascontiguousarray(ranges, dtype=np.float32).tobytes(), digest_size=6).hexdigest()
        self.name = f"sq{bits}-{tag}-{digest}"
        self.dtype = np.dtype(np.uint8)
        self.width = int(self._sq.code_size)

    def encode(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, self.width), dtype=np.uint8)
        return self._sq.compute_codes(np.ascontiguousarray(_unit(rows)))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, self.width)
        return _unit(self._sq.decode(codes)) if len(codes) else np.zeros((0, self._sq.d), np.float32)


def model_key(model: str) -> str:
    """A file-safe name for a model: it keys its segments' folder and its shipped codebooks."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model)[-120:]


def codebook_path(model: str, kind: str) -> Path:
    return CODEBOOKS / f"{model_key(model)}-{kind}.npy"


def codec_for(model: str, dimension: int, kind: str | None = None) -> PieceCodec:
    """The codec a build stores ``model``'s pieces with (``CODEC`` unless ``kind`` says otherwise):
    from its shipped codebook, else float16."""
    kind = kind or CODEC
    path = codebook_path(model.removeprefix("sentence-transformers/"), kind)
    if path.is_file():
        book = np.load(path, allow_pickle=False)
        if kind.startswith("sq") and book.shape == (2 * dimension,):
            return ScalarCodec(book, int(kind[2:]), f"s{TRAIN_SEED}")
    return Float16Codec(dimension)


def codec_named(model: str, dimension: int, name: str) -> PieceCodec:
    """The codec a segment says it was written with (``ValueError`` when this briefqa has none)."""
    for codec in (codec_for(model, dimension), Float16Codec(dimension)):
        if codec.name == name:
            return codec
    raise ValueError(f"word pieces stored as {name!r}, which this briefqa does not decode")


def train_codebook(vectors: np.ndarray, kind: str) -> np.ndarray:
    """The ``sq4``/``sq6``/``sq8`` ranges (a minimum and a width per dimension) fitted on unit ``vectors``."""
    import faiss

    if not kind.startswith("sq"):
        raise ValueError(f"codebook kind {kind!r}: briefqa stores word pieces as sq4, sq6 or sq8")
    sq = faiss.ScalarQuantizer(vectors.shape[1], getattr(faiss.ScalarQuantizer, f"QT_{int(kind[2:])}bit"))
    sq.train(np.ascontiguousarray(_unit(vectors)))
    return faiss.vector_to_array(sq.trained)
