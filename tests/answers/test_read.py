"""The read stage: the shipped reader reorders the ranker's first candidates and marks answers.

With the real model, the real reader on ONNX Runtime and sources written here (not the brief).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from briefqa.answers.read import ReadStage, read, shipped_stage
from briefqa.answers.searcher import Searcher, open_searcher
from briefqa.index.build.pipeline import build_index

pytestmark = pytest.mark.slow

ORCHARDS = """# Orchard report

The cooperative planted 4,000 pear trees on the northern slopes in 2021.
Frost in April destroyed most of the apricot blossom in the valley.
The new irrigation canal carries water from the Lura river to 120 farms.
Cider sales rose by a third after the cooperative opened a shop in the town.
Beekeepers rent their hives to the orchards for six weeks each spring.
"""


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory, embedder) -> Searcher:  # type: ignore[no-untyped-def]
    root: Path = tmp_path_factory.mktemp("orchards")
    (root / "corpus").mkdir()
    (root / "corpus" / "orchards.md").write_text(ORCHARDS)
    build_index(root / "corpus", root / "index", embedder)
    return open_searcher(root / "index", embedder)


def test_the_package_ships_a_reader() -> None:
    stage = shipped_stage()
    assert stage is not None
    assert 1 <= stage.decision.read <= 20


def test_read_candidates_come_first_and_scores_fall_with_rank(searcher: Searcher) -> None:
    query = searcher.query(
        "What destroyed the apricot blossom?",
        "What destroyed the apricot blossom?",
        searcher.embedder.encode_full(["What destroyed the apricot blossom?"]),
        0,
    )
    _, rows = searcher.candidates(query)
    from briefqa.answers.quotes import rank

    scored = rank(rows, searcher.ranker)
    stage = searcher.reading
    assert stage is not None
    texts = [searcher.index.documents[s.doc].text[s.start : s.end] for s in scored]
    done = read(stage, query.text, scored, texts)
    n = min(stage.decision.read, len(scored))
    assert all(r is not None for r in done.readings[:n])
    assert all(r is None for r in done.readings[n:])
    assert {(s.start, s.end) for s in done.scored[:n]} == {(s.start, s.end) for s in scored[:n]}
    scores = [s.score for s in done.scored]
    assert scores == sorted(scores, reverse=True)


@pytest.fixture(scope="module")
def marking(searcher: Searcher) -> Searcher:
    """The same index and reader with a decision that marks every span the reader finds: the
    shipped one marks none (its spans' F1 on held-out articles is under the bar, reader.json)."""
    stage = searcher.reading
    assert stage is not None
    return Searcher(
        searcher.index, searcher.embedder, reading=ReadStage(stage.reader, replace(stage.decision, span_margin=-1e9))
    )


@pytest.mark.parametrize(
    "question",
    [
        "How many pear trees did the cooperative plant?",
        "Where does the irrigation canal take its water from?",
        "How long do beekeepers rent their hives to the orchards?",
    ],
)
def test_a_marked_answer_is_the_sources_own_words_inside_the_quote(marking: Searcher, question: str) -> None:
    answer = marking.search(question)
    assert answer.answered
    marked = [r for r in answer.results if r.answer is not None]
    assert marked, "a span is marked on an answered quote the reader read"
    for r in marked:
        assert r.answer is not None
        text = marking.document(r.source.id).text  # type: ignore[union-attr]
        assert r.start <= r.answer.start < r.answer.end <= r.end
        assert (
            text[r.answer.start : r.answer.end]
            == r.answer.text
            == r.quote[r.answer.start - r.start : r.answer.end - r.start]
        )


def test_the_shipped_decision_marks_only_above_its_margin(searcher: Searcher) -> None:
    stage = searcher.reading
    assert stage is not None
    answer = searcher.search("How many pear trees did the cooperative plant?")
    if stage.decision.span_margin >= 1e9:
        assert all(r.answer is None for r in answer.results)


def test_an_unanswered_search_marks_nothing(searcher: Searcher) -> None:
    answer = searcher.search("Who founded the tramway company of the town?")
    assert not answer.answered
    assert all(r.answer is None for r in answer.results)
