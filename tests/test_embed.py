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
        name, dimension = "broken", 4

        def encode(self, texts, progress=None):  # type: ignore[no-untyped-def]
            raise RuntimeError("model exploded")

    merged = CoalescingEmbedder(Broken())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="exploded"):
        merged.encode(["q"])
    with pytest.raises(RuntimeError, match="exploded"):
        merged.encode(["q again"])  # the lock was released
