"""BM25 over a version's passages: ranking, saving and loading, term weights."""

from briefqa.index.lexical import LexicalIndex
from briefqa.terms import terms


def test_bm25_ranks_the_matching_chunk_first(tmp_path) -> None:  # type: ignore[no-untyped-def]
    texts = ["Satellites orbit the earth.", "Budgets are debated in parliament.", "Missile defense programs."]
    index = LexicalIndex.from_terms([terms(t) for t in texts])
    scores = index.scores(terms("missile defense"))
    assert int(scores.argmax()) == 2
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    assert list(loaded.scores(terms("missile defense"))) == list(scores)


def test_absent_terms_weigh_the_most() -> None:
    index = LexicalIndex.from_terms([terms(t) for t in ["alpha beta", "alpha gamma", "alpha delta"]])
    assert index.idf("zeta") > index.idf("beta") > index.idf("alpha")
    assert index.scores(["zeta"]).sum() == 0
