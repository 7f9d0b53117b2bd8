"""Follow-ups with the real model, over a small corpus written here (not the brief)."""

import pytest

from briefqa.answers.searcher import Searcher, open_searcher
from briefqa.index.build.pipeline import build_index

pytestmark = pytest.mark.slow

LIGHTHOUSES = """---
title: Lighthouses of the north coast
---
# Keepers

The Skerry light was first lit in 1854 and was kept by three families in turn.

The keepers rowed to the mainland once a fortnight for water and oil.

The Skerry lamp was automated in 1987, and the last keeper left the island that year.

# Lamps

Early lamps burned whale oil, which smoked and dimmed the lens within hours.

Paraffin replaced whale oil in the 1870s because it burned brighter and cleaner.

An electric lamp was fitted in 1952, powered by a diesel generator on the rock.
"""


@pytest.fixture(scope="module")
def lighthouse(tmp_path_factory: pytest.TempPathFactory, embedder) -> Searcher:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("lighthouse")
    (root / "corpus").mkdir()
    (root / "corpus" / "lighthouses.md").write_text(LIGHTHOUSES)
    build_index(root / "corpus", root / "index", embedder)
    return open_searcher(root / "index", embedder)


def _falls_with_rank(answer) -> bool:  # type: ignore[no-untyped-def]
    scores = [r.score for r in answer.results]
    return scores == sorted(scores, reverse=True)


def test_what_else_does_not_quote_the_previous_answer_first_again(lighthouse: Searcher) -> None:
    first = "When was paraffin first burned in the lamps?"
    previous = lighthouse.search(first)
    assert previous.answered and "Paraffin" in previous.results[0].quote
    answer = lighthouse.search("What else did the lamps burn?", [first])
    quotes = [r.quote for r in answer.results]
    assert quotes and quotes[0] != previous.results[0].quote
    assert previous.results[0].quote in quotes, "it is still among the quotes, only not first"
    assert _falls_with_rank(answer), "the order shown is the order of the scores shown"


def test_what_else_with_nothing_more_says_so(lighthouse: Searcher) -> None:
    from briefqa.answers.notices import NOTHING_MORE

    first = "When was the electric lamp fitted?"
    assert lighthouse.search(first).answered
    answer = lighthouse.search("What else was fitted in 1952?", [first])
    assert not answer.answered and answer.notice == NOTHING_MORE


def test_a_bare_why_searches_the_question_it_follows(lighthouse: Searcher) -> None:
    first = "What replaced whale oil in the lamps?"
    assert lighthouse.search(first).answered
    for bare in ("Why?", "How so?", "When?"):
        answer = lighthouse.search(bare, [first])
        assert answer.notice is None and answer.results, bare
        assert answer.query == f"{first} {bare}"
    why = lighthouse.search("Why?", [first])
    assert any("burned brighter and cleaner" in r.quote for r in why.results[:2])


def test_a_follow_up_s_ranks_follow_its_scores(lighthouse: Searcher) -> None:
    thread = ["When was the Skerry light first lit?"]
    for follow_up in ("And the electric lamp?", "Who kept it?", "Why?", "What else happened to it?"):
        assert _falls_with_rank(lighthouse.search(follow_up, thread)), follow_up


def test_the_and_x_follow_up_asks_the_previous_question_about_x(lighthouse: Searcher) -> None:
    first = "When was whale oil replaced?"
    answer = lighthouse.search("And the electric lamp?", [first])
    assert answer.query == "When was the electric lamp replaced?" or "electric" in answer.query
    assert "electric lamp" in answer.results[0].quote
