"""How a word piece's vector is stored: 64 bytes of product-quantizer codes, or float16.

Late interaction keeps a vector per word piece, about 150 per passage. As float16 a piece costs
``2 x dimension`` bytes (768 for MiniLM); a product quantizer (faiss's ``ProductQuantizer``)
splits the vector into ``M`` slices of ``dimension / M`` values and stores, per slice, which of
256 centroids it is nearest: ``M`` bytes. Questions are matched against the decoded vectors.

The codebook is fixed, not trained on each corpus: it ships with briefqa
(``codebooks/<model>-pq<M>.npy``), fitted once on the word pieces of SQuAD 1.1 training
paragraphs (Wikipedia, none of the articles evaluated on) by ``python -m briefqa.index.piece_codec``.
A segment written with it stays valid for every later version and every corpus, which a
per-corpus codebook would not allow (a retrained codebook invalidates every segment), and a
corpus of one brief has too few pieces to train 256 centroids per slice. A model without a
shipped codebook stores float16 (``Float16Codec``): correct, only larger.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Protocol

import numpy as np

CODEBOOKS = Path(__file__).with_name("codebooks")
SLICES = 64  # bytes per piece: one centroid id per slice
CENTROIDS = 256
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


class ProductCodec:
    """``M`` centroid ids per piece over a fixed codebook (``M x 256 x dimension/M`` floats)."""

    def __init__(self, codebook: np.ndarray, tag: str) -> None:
        import faiss

        slices, centroids, sub = codebook.shape
        self._codebook = np.ascontiguousarray(codebook, dtype=np.float32)
        self._pq = faiss.ProductQuantizer(slices * sub, slices, int(np.log2(centroids)))
        faiss.copy_array_to_vector(self._codebook.ravel(), self._pq.centroids)
        # The digest names the codebook: a segment coded with another one is never decoded with this.
        digest = hashlib.blake2b(self._codebook.tobytes(), digest_size=6).hexdigest()
        self.name = f"pq{slices}-{tag}-{digest}"
        self.dtype = np.dtype(np.uint8)
        self.width = slices
        self._slices = np.arange(slices)

    def encode(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, self.width), dtype=np.uint8)
        return self._pq.compute_codes(np.ascontiguousarray(_unit(rows)))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Unit vectors of ``codes`` (a centroid per slice, put back together and renormalised)."""
        codes = np.asarray(codes, dtype=np.intp).reshape(-1, self.width)
        parts = self._codebook[self._slices, codes]  # pieces x slices x sub
        return _unit(parts.reshape(len(codes), -1))


def codebook_path(model: str) -> Path:
    return CODEBOOKS / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', model)}-pq{SLICES}.npy"


def codec_for(model: str, dimension: int) -> PieceCodec:
    """The codec a build stores ``model``'s pieces with: its shipped codebook, else float16."""
    path = codebook_path(model.removeprefix("sentence-transformers/"))
    if path.is_file():
        codebook = np.load(path, allow_pickle=False)
        if codebook.ndim == 3 and codebook.shape[0] * codebook.shape[2] == dimension:
            return ProductCodec(codebook, f"s{TRAIN_SEED}")
    return Float16Codec(dimension)


def train_codebook(vectors: np.ndarray, slices: int = SLICES, seed: int = TRAIN_SEED) -> np.ndarray:
    """A product-quantizer codebook (``slices x 256 x dim/slices``) fitted on unit ``vectors``."""
    import faiss

    dim = vectors.shape[1]
    pq = faiss.ProductQuantizer(dim, slices, int(np.log2(CENTROIDS)))
    pq.cp.seed = seed
    pq.train(np.ascontiguousarray(_unit(vectors)))
    return faiss.vector_to_array(pq.centroids).reshape(slices, CENTROIDS, dim // slices)
