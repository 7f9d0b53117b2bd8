"""The embedding step: the real model offline, and concurrent questions sharing passes."""

import threading

import numpy as np
import pytest

from briefqa.embed import CoalescingEmbedder, load_embedder
from briefqa.errors import ModelError


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="no-such-model-anywhere"):
        load_embedder("no-such-model-anywhere")


def test_missing_model_folder_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelError, match="no such folder"):
        load_embedder(str(tmp_path / "absent"))


@pytest.mark.slow
def test_real_model_gives_unit_vectors(embedder) -> None:  # type: ignore[no-untyped-def]
    vectors = embedder.encode(["Japan's space budget", "the capital of Australia"])
    assert vectors.shape == (2, embedder.dimension) == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.count_tokens(["U.S.-Japan alliance"])[0] > 3


@pytest.mark.slow
def test_concurrent_questions_share_forward_passes(embedder) -> None:  # type: ignore[no-untyped-def]
    merged = CoalescingEmbedder(embedder)
    questions = [f"What does the brief say about topic number {i}?" for i in range(24)]
    expected = embedder.encode(questions)
    results: dict[int, np.ndarray] = {}
    start = threading.Barrier(len(questions))

    def ask(i: int) -> None:
        start.wait()
        results[i] = merged.encode([questions[i]])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, q in enumerate(questions):
        assert results[i].shape == (1, embedder.dimension)
        assert float(results[i][0] @ expected[i]) > 0.9999, q
    assert merged.model_calls < len(questions)


def test_a_failing_model_fails_every_waiter() -> None:
    class Broken:
        name, dimension, max_tokens = "broken", 4, 256

        def encode(self, texts, progress=None):  # type: ignore[no-untyped-def]
            raise RuntimeError("model exploded")

        def encode_full(self, texts, progress=None, spans=False):  # type: ignore[no-untyped-def]
            raise RuntimeError("model exploded")

    merged = CoalescingEmbedder(Broken())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="exploded"):
        merged.encode(["q"])
    with pytest.raises(RuntimeError, match="exploded"):
        merged.encode(["q again"])  # the lock was released
    with pytest.raises(RuntimeError, match="exploded"):
        merged.encode_full(["q once more"])


@pytest.mark.slow
def test_full_encode_gives_word_pieces_with_their_characters(embedder) -> None:  # type: ignore[no-untyped-def]
    text = "The Normans conquered England in 1066."
    full = embedder.encode_full([text, "Where is Canberra?"], spans=True)
    assert full.vectors.shape == (2, embedder.dimension)
    # The same text vector as a plain encode: one forward pass serves both.
    assert float(full.vectors[0] @ embedder.encode([text])[0]) > 0.9999
    tokens, ids, spans = full.tokens[0], full.ids[0], full.spans[0]
    assert tokens.shape[1] == embedder.dimension and len(tokens) == len(ids) == len(spans) > 5
    assert np.allclose(np.linalg.norm(tokens, axis=1), 1.0, atol=1e-4)
    pieces = embedder.pieces()
    said = [text[a:b].lower() for a, b in spans]
    # Each kept piece is a word piece of the text at its characters; punctuation is not kept.
    for piece_id, chars in zip(ids.tolist(), said, strict=True):
        assert pieces[piece_id].removeprefix("##") == chars
    assert "normans" in "".join(said) and "." not in said
    assert embedder.encode_full(["x"]).spans is None


@pytest.mark.slow
def test_concurrent_full_encodes_share_passes_and_keep_their_rows(embedder) -> None:  # type: ignore[no-untyped-def]
    merged = CoalescingEmbedder(embedder)
    questions = [f"Which river flows through city number {i}?" for i in range(12)]
    expected = embedder.encode_full(questions)
    results = {}
    start = threading.Barrier(len(questions))

    def ask(i: int) -> None:
        start.wait()
        results[i] = merged.encode_full([questions[i]])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(len(questions)):
        assert np.array_equal(results[i].ids[0], expected.ids[i])
        assert results[i].tokens[0].shape == expected.tokens[i].shape
        assert float(results[i].vectors[0] @ expected.vectors[i]) > 0.9999
