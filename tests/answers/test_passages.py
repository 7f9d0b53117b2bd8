"""What a quote comes with, from sources written here (not the brief): a context without list
markers, and a byline that can itself be quoted. With the real model."""

from pathlib import Path

import pytest

from briefqa.answers.searcher import Searcher, open_searcher
from briefqa.index.build.pipeline import build_index

from ..sources.documents import BYLINE_HTML

pytestmark = pytest.mark.slow

HARBOURS = """# Harbour works

Dredging budgets grew in every port authority last year.

- Northern harbours widen their channels for container ships by 2027.
- Southern harbours rebuild the breakwaters that the winter storms broke.
- River ports lengthen their quays for barges.
"""


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory, embedder) -> Searcher:  # type: ignore[no-untyped-def]
    root: Path = tmp_path_factory.mktemp("passages")
    (root / "corpus").mkdir()
    (root / "corpus" / "harbours.md").write_text(HARBOURS)
    (root / "corpus" / "chips.html").write_text(BYLINE_HTML)
    build_index(root / "corpus", root / "index", embedder)
    return open_searcher(root / "index", embedder)


def test_the_context_of_a_quote_from_a_list_has_no_list_markers(searcher: Searcher) -> None:
    answer = searcher.search("What will the southern harbours rebuild?")
    top = answer.results[0]
    assert top.quote == "Southern harbours rebuild the breakwaters that the winter storms broke."
    assert top.quote in top.passage
    assert "- " not in top.passage
    assert "by 2027.\nSouthern harbours" in top.passage  # the items still read one to a line


def test_a_byline_is_quoted_for_who_wrote_a_page(searcher: Searcher) -> None:
    answer = searcher.search("Who wrote Chips, Subsidies and Allies?")
    quotes = [r.quote for r in answer.results[:3]]
    assert "By Priya Raman · June 2, 2025" in quotes
