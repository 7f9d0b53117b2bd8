"""Candidate sentences, their evidence, the linear ranker and the choice of distinct quotes.

The fake embedder (one "word piece" per word) is enough here: the arithmetic is the point, not
the model. The shipped ranker is judged with the real model in test_quality and test_searcher.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from briefqa.answers.quotes import (
    RANK_FEATURES,
    Query,
    Ranker,
    Scored,
    candidate_rows,
    design,
    distinct,
    rank,
    relative,
    shipped_ranker,
)
from briefqa.answers.retrieve import retrieve
from briefqa.answers.searcher import Searcher
from briefqa.index.backends.local.store import LocalStore
from briefqa.index.build.pipeline import build_index
from briefqa.index.loaded_version import IndexVersion

from ..conftest import FakeEmbedder


def _span(doc: int, start: int, end: int, score: float = 0.0) -> Scored:
    return Scored(
        doc=doc,
        sentence=0,
        start=start,
        end=end,
        chunk=0,
        score=score,
        features=np.zeros(len(RANK_FEATURES)),
        matches=np.zeros(0),
        passage_matches=np.zeros(0),
    )


def test_distinct_drops_spans_that_overlap_one_already_taken() -> None:
    best_first = [_span(0, 10, 50), _span(0, 40, 90), _span(1, 10, 50), _span(0, 50, 80), _span(0, 0, 10)]
    taken = distinct(best_first, k=5)
    assert [(s.doc, s.start, s.end) for s in taken] == [(0, 10, 50), (1, 10, 50), (0, 50, 80), (0, 0, 10)]
    assert [(s.doc, s.start) for s in distinct(best_first, k=2)] == [(0, 10), (1, 10)]
    assert distinct([], k=3) == []


def test_relative_subtracts_the_best_candidate_of_the_question() -> None:
    matrix = np.array([[0.2, 5.0], [0.8, 1.0], [0.5, 3.0]])
    assert np.allclose(relative(matrix), np.array([[-0.6, 0.0], [0.0, -4.0], [-0.3, -2.0]]))
    assert relative(np.zeros((0, 2))).shape == (0, 2)
    # The ranker reads each feature raw and relative.
    assert np.array_equal(design(matrix), np.hstack([matrix, relative(matrix)]))


def _ranker_on(**weights: float) -> Ranker:
    """A hand-built ranker: raw features weighed as given, nothing else."""
    coef = np.zeros(2 * len(RANK_FEATURES))
    for name, w in weights.items():
        coef[RANK_FEATURES.index(name)] = w
    n = len(coef)
    return Ranker(RANK_FEATURES, np.zeros(n), np.ones(n), coef)


def test_ranker_json_round_trip_and_other_features_are_refused() -> None:
    ranker = _ranker_on(term_cover=1.0, bm25=0.5)
    again = Ranker.from_json(ranker.to_json())
    assert again.features == RANK_FEATURES and np.array_equal(again.coef, ranker.coef)
    with pytest.raises(ValueError, match="other features"):
        Ranker.from_json({**ranker.to_json(), "features": list(RANK_FEATURES[:-1])})
    with pytest.raises(ValueError, match="other features"):
        Ranker.from_json({**ranker.to_json(), "features": [*RANK_FEATURES, "novelty"]})


def test_the_shipped_ranker_reads_these_features() -> None:
    ranker = shipped_ranker()
    assert ranker.features == RANK_FEATURES
    assert len(ranker.coef) == len(ranker.mean) == len(ranker.scale) == 2 * len(RANK_FEATURES)
    assert (ranker.scale > 0).all()


def test_rank_scores_and_sorts_best_first() -> None:
    rows = []
    for cover in (0.2, 0.9, 0.5):
        features = np.zeros(len(RANK_FEATURES))
        features[RANK_FEATURES.index("term_cover")] = cover
        rows.append(Scored(0, 0, int(cover * 100), int(cover * 100) + 5, 0, 0.0, features, np.zeros(0), np.zeros(0)))
    ranked = rank(rows, _ranker_on(term_cover=2.0))
    assert [r.start for r in ranked] == [90, 50, 20]
    assert [r.score for r in ranked] == pytest.approx([1.8, 1.0, 0.4])
    assert rank([], _ranker_on(term_cover=1.0)) == []


@pytest.fixture
def fake_index(corpus: Path, tmp_path: Path) -> tuple[IndexVersion, FakeEmbedder]:
    emb = FakeEmbedder()
    build_index(corpus, tmp_path / "index", emb)
    return LocalStore(tmp_path / "index").load(emb.name, emb.dimension), emb


def _query(data: IndexVersion, emb: FakeEmbedder, question: str) -> Query:
    return Searcher(data, emb).query(question, question, emb.encode_full([question]), 0)


def _rows(data: IndexVersion, emb: FakeEmbedder, question: str) -> list[Scored]:
    query = _query(data, emb, question)
    return candidate_rows(data, retrieve(data, query.vector, list(query.terms)), query)


def test_every_sentence_of_the_candidates_gets_a_row_of_evidence(fake_index) -> None:  # type: ignore[no-untyped-def]
    data, emb = fake_index
    query = _query(data, emb, "Who argues the glaciers budget is too small?")
    cand = retrieve(data, query.vector, list(query.terms))
    rows = candidate_rows(data, cand, query)
    expected = {s for c in cand.chunks.tolist() for s in range(data.chunk(c).first, data.chunk(c).last + 1)}
    assert {r.sentence for r in rows} == expected
    for r in rows:
        assert r.features.shape == (len(RANK_FEATURES),) and r.score == 0.0
        assert len(r.matches) == len(r.passage_matches) == len(query.tokens)
        assert (r.passage_matches >= r.matches - 1e-6).all(), "the passage holds the sentence"
        spans = data.sentence_spans(r.sentence, r.sentence)
        assert (r.start, r.end) == (spans.quote_start[0], spans.end[0])
        assert 0.0 <= r.feature("term_cover") <= r.feature("passage_cover") + 1e-9 <= 1.0 + 1e-9
    first_chunk = int(cand.chunks[0])
    assert all(r.feature("fused_rank") == 1.0 for r in rows if r.chunk == first_chunk)


def test_a_sentence_saying_the_questions_words_ranks_first(fake_index) -> None:  # type: ignore[no-untyped-def]
    data, emb = fake_index
    expected = "Critics argue that the glaciers budget is too small for its goals."
    # By lexical coverage of the question's stemmed terms ("argues" and "argue" are one).
    top = rank(_rows(data, emb, "Who argues the glaciers budget is too small?"), _ranker_on(term_cover=1.0))[0]
    assert data.documents[top.doc].id == "glaciers" and data.documents[top.doc].text[top.start : top.end] == expected
    # By late interaction: every word piece of the question finds itself in that sentence only
    # (the fake pieces are whole words, so the question uses the corpus's own forms).
    rows = _rows(data, emb, "argue the glaciers budget is too small")
    top = rank(rows, _ranker_on(maxsim_idf=1.0))[0]
    assert data.documents[top.doc].text[top.start : top.end] == expected
    assert top.feature("maxsim_idf") == pytest.approx(1.0, abs=1e-3) and top.matches.min() > 0.999


def test_the_asked_kind_is_held_only_by_a_sentence_that_has_one(fake_index) -> None:  # type: ignore[no-untyped-def]
    data, emb = fake_index
    rows = _rows(data, emb, "When was the railways programme launched?")
    for r in rows:
        text = data.documents[r.doc].text[r.start : r.end]
        held = "2020" in text
        assert (r.feature("type_held"), r.feature("type_missing")) == ((1.0, 0.0) if held else (0.0, 1.0)), text
    assert any(r.feature("type_held") for r in rows)
    # No kind asked: neither flag.
    for r in _rows(data, emb, "What do the railways critics argue?"):
        assert (r.feature("type_held"), r.feature("type_missing")) == (0.0, 0.0)


def test_a_sentence_without_pieces_takes_nothing_from_its_neighbours() -> None:
    from briefqa.answers.quotes import Query, _PieceMatches
    from briefqa.index.segments.pieces import TokenRows

    # Three sentences of 3, 2 and 0 pieces; the question's one piece is the first row of sentence 1
    # (row 3), the other (row 4) matches nothing.
    rows = np.eye(5, 4, dtype=np.float16)
    query = Query("q", "q", np.zeros(4, np.float32), np.eye(1, 4, 3, dtype=np.float32), np.ones(1), np.ones(1), ("q",))
    matches = _PieceMatches.of(query, TokenRows(rows, np.array([0, 3, 5, 5])))
    assert matches.best[0].tolist() == [0.0, 1.0, 0.0]
    assert matches.reverse.tolist()[2] == 0.0 and matches.novel.tolist()[2] == 0.0
    assert matches.reverse.tolist()[1] == pytest.approx(0.5)  # one of its two pieces is the question's
