"""How word pieces are coded: float16 exactly, or 4 bits a value over the shipped codebook."""

from __future__ import annotations

import numpy as np
import pytest

from briefqa.index.segments.codec import CODEC, Float16Codec, ScalarCodec, codec_for, train_codebook
from briefqa.settings import DEFAULT_MODEL


def test_float16_codec_is_exact_to_float16() -> None:
    codec = Float16Codec(8)
    rows = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    assert codec.width == 8 and codec.dtype == np.float16
    assert np.array_equal(codec.decode(codec.encode(rows)), rows.astype(np.float16).astype(np.float32))


def test_the_default_model_ships_a_4_bit_codebook() -> None:
    codec = codec_for(DEFAULT_MODEL, 384)
    assert CODEC == "sq4" and isinstance(codec, ScalarCodec)
    assert codec.width == 192 and codec.dtype == np.uint8, "4 bits a value: a quarter of float16"
    assert codec_for(DEFAULT_MODEL, 512).name.startswith("f16"), "a codebook of another dimension is not used"
    assert codec_for("some/other-model", 384).name == "f16x384"


def test_a_fitted_4_bit_codebook_codes_a_piece_in_half_a_byte_a_value() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(4000, 16)).astype(np.float32)
    codec = ScalarCodec(train_codebook(vectors, "sq4"), 4, "test")
    codes = codec.encode(vectors[:10])
    assert codes.shape == (10, 8) and codes.dtype == np.uint8
    decoded = codec.decode(codes)
    assert np.allclose(np.linalg.norm(decoded, axis=1), 1.0, atol=1e-5)
    unit = vectors[:10] / np.linalg.norm(vectors[:10], axis=1, keepdims=True)
    assert (decoded * unit).sum(axis=1).mean() > 0.9
    with pytest.raises(ValueError, match="sq4"):
        train_codebook(vectors, "pq4")


@pytest.mark.slow
def test_coded_word_pieces_stay_close_to_the_model_s(embedder) -> None:  # type: ignore[no-untyped-def]
    codec = codec_for(embedder.name, embedder.dimension)
    text = (
        "The treaty obliges both parties to share early-warning data from their satellites, and "
        "commits Japan to fund two ground stations in Hokkaido before the end of the decade."
    )
    pieces = embedder.encode_full([text]).tokens[0]
    decoded = codec.decode(codec.encode(pieces))
    cosine = (decoded * pieces).sum(axis=1)
    assert np.allclose(np.linalg.norm(decoded, axis=1), 1.0, atol=1e-5)
    assert cosine.mean() > 0.98 and cosine.min() > 0.95
