"""Dense and BM25 rankings of chunks, fused by reciprocal rank (the fake embedder: plumbing only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from briefqa.answers.retrieve import retrieve
from briefqa.answers.searcher import open_searcher
from briefqa.index.build.pipeline import build_index
from briefqa.index.loaded_version import IndexVersion
from briefqa.terms import terms

from ..conftest import FakeEmbedder, write_source

TOPICS = ("fisheries", "railways", "glaciers", "pensions", "harbours", "forests")


@pytest.fixture
def index(tmp_path: Path) -> tuple[IndexVersion, FakeEmbedder]:
    corpus = tmp_path / "corpus"
    for topic in TOPICS:
        write_source(corpus, f"{topic}.md", topic)
    emb = FakeEmbedder()
    build_index(corpus, tmp_path / "index", emb)
    return open_searcher(tmp_path / "index", emb).index, emb


def _retrieve(index: IndexVersion, emb: FakeEmbedder, question: str, n: int = 8):  # type: ignore[no-untyped-def]
    return retrieve(index, emb.encode([question])[0], terms(question), n=n)


def test_the_chunk_both_rankings_put_first_comes_first(index) -> None:  # type: ignore[no-untyped-def]
    data, emb = index
    cand = _retrieve(data, emb, "glaciers budget critics")
    top = data.chunk(int(cand.chunks[0]))
    assert data.documents[top.doc].id == "glaciers"
    assert cand.dense_top == cand.lexical_top == int(cand.chunks[0])


def test_at_most_n_distinct_chunks_with_their_evidence(index) -> None:  # type: ignore[no-untyped-def]
    data, emb = index
    question = "Who funds railways research?"
    cand = _retrieve(data, emb, question, n=3)
    assert len(cand.chunks) == 3 and len(set(cand.chunks.tolist())) == 3
    # dense: the cosine of the question and each chunk's stored vector
    vector = emb.encode([question])[0]
    assert cand.dense == pytest.approx(data.chunk_vectors(cand.chunks) @ vector, abs=1e-6)
    # lexical: BM25 relative to the question's best BM25 score over all chunks
    bm25 = data.lexical.scores(terms(question))
    assert cand.lexical == pytest.approx(bm25[cand.chunks] / bm25.max())
    assert cand.lexical.max() <= 1.0 + 1e-9


def test_each_rankings_first_is_reported_and_fusion_needs_both_to_win(index) -> None:  # type: ignore[no-untyped-def]
    data, emb = index
    question = "pensions results"
    cand = _retrieve(data, emb, question, n=data.chunk_count)
    assert cand.dense_top == int(np.argmax(data.chunk_vectors() @ emb.encode([question])[0]))
    bm25 = data.lexical.scores(terms(question))
    assert bm25[cand.lexical_top] == bm25.max()
    # A chunk ranked by one side only scores at most 1 / (RRF_K + 1); a chunk both rank scores
    # more than that, so every chunk with a BM25 score comes before every chunk without one.
    lexical = [bool(bm25[c] > 0) for c in cand.chunks.tolist()]
    assert lexical == sorted(lexical, reverse=True)


def test_words_no_chunk_has_leave_the_lexical_side_empty(index) -> None:  # type: ignore[no-untyped-def]
    data, emb = index
    cand = _retrieve(data, emb, "zeppelin quasar")
    assert cand.lexical_top == -1 and not cand.lexical.any()
    assert len(cand.chunks) > 0 and cand.dense_top == int(cand.chunks[0])


def test_n_zero_keeps_nothing(index) -> None:  # type: ignore[no-untyped-def]
    data, emb = index
    assert len(_retrieve(data, emb, "glaciers", n=0).chunks) == 0
