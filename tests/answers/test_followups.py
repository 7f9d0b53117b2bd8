"""Follow-ups with the real model, over a small corpus written here (not the brief)."""

import numpy as np
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


def test_a_follow_up_does_not_quote_the_previous_answer_first_again(lighthouse: Searcher) -> None:
    first = "When was the Skerry light automated?"
    previous = lighthouse.search(first)
    assert previous.answered and "automated" in previous.results[0].quote
    for follow_up in ("Tell me more about that.", "Why was it done?"):
        answer = lighthouse.search(follow_up, [first])
        quotes = [r.quote for r in answer.results]
        assert quotes and quotes[0] != previous.results[0].quote, follow_up
        assert previous.results[0].quote in quotes, "it is still among the quotes, only not first"


def test_only_the_pieces_the_user_typed_count_as_the_follow_up_s_own(lighthouse: Searcher, embedder) -> None:  # type: ignore[no-untyped-def]
    """'at' inside 'What' or 'that' is no word the user typed in 'And paraffin?'."""
    text = "What did the keepers burn at the Skerry light? And paraffin?"
    encoded = embedder.encode_full([text, "And paraffin?"])
    query = lighthouse.query("And paraffin?", text, encoded, 0, typed=encoded.ids[1])
    pieces = embedder.pieces()
    by_piece = {pieces[i]: w for i, w in zip(encoded.ids[0].tolist(), query.uniform.tolist(), strict=True)}
    assert by_piece["at"] == 1.0 and by_piece["keepers"] == 1.0, "typed only in the thread"
    assert by_piece["and"] > 1.0, "typed in the follow-up: it weighs as much as the thread"
    own = np.isin(encoded.ids[0], encoded.ids[1])
    assert np.isclose(query.uniform[own].sum(), query.uniform[~own].sum()), "the follow-up weighs as much as the thread"


def test_the_and_x_follow_up_asks_the_previous_question_about_x(lighthouse: Searcher) -> None:
    first = "When was whale oil replaced?"
    answer = lighthouse.search("And the electric lamp?", [first])
    assert answer.query == "When was the electric lamp replaced?" or "electric" in answer.query
    assert "electric lamp" in answer.results[0].quote


def test_the_previous_quote_stays_first_when_it_alone_says_what_the_follow_up_names(lighthouse: Searcher) -> None:
    first = "What powered the electric lamp?"
    previous = lighthouse.search(first)
    assert "diesel generator" in previous.results[0].quote
    answer = lighthouse.search("And when was the electric lamp fitted?", [first])
    assert "1952" in answer.results[0].quote, "the one sentence that says it, shown before or not"
