"""The engine end to end on the brief, with the real model."""

import itertools

import pytest

from briefqa.errors import InputError

pytestmark = pytest.mark.slow


def _text(searcher, source_id: str) -> str:  # type: ignore[no-untyped-def]
    doc = searcher.document(source_id)
    assert doc is not None
    return doc.text


def test_quotes_are_verbatim_whole_sentences(searcher) -> None:  # type: ignore[no-untyped-def]
    answer = searcher.search("What share of the world's active satellites does the United States operate?", k=5)
    assert answer.answered
    top = answer.results[0]
    assert "more than two-thirds of the world’s active satellites" in top.quote
    for r in answer.results:
        text = _text(searcher, r.source.id)
        assert text[r.start : r.end] == r.quote
        assert r.quote in r.passage
        assert r.quote[0].isupper() or r.quote[0] in "“\"'"
        assert r.quote.rstrip("”\"')")[-1] in ".!?"
        assert r.url == f"/sources/{r.source.id}?hl={r.start}-{r.end}&rev={searcher.revision(r.source.id)}#q"


def test_results_are_distinct_ranked_and_at_most_k(searcher) -> None:  # type: ignore[no-untyped-def]
    answer = searcher.search("How is Japan contributing to the alliance?", k=7)
    assert 1 <= len(answer.results) <= 7
    assert [r.rank for r in answer.results] == list(range(1, len(answer.results) + 1))
    spans = [(r.start, r.end) for r in answer.results]
    for i, (s1, e1) in enumerate(spans):
        for s2, e2 in spans[i + 1 :]:
            assert e1 <= s2 or e2 <= s1, "quotes overlap"
    assert [r.score for r in answer.results] == sorted((r.score for r in answer.results), reverse=True)


def test_abbreviations_do_not_cut_quotes(searcher) -> None:  # type: ignore[no-untyped-def]
    answer = searcher.search("What are the three pillars of Japan's strategic vision?", k=1)
    assert answer.results[0].quote.endswith("expanded cooperation with regional partners.")
    assert "the strengthening of the U.S. alliance" in answer.results[0].quote


def test_off_topic_question_is_not_answered(searcher) -> None:  # type: ignore[no-untyped-def]
    answer = searcher.search("What is the capital of Australia?")
    assert not answer.answered
    assert answer.results, "closest passages are still listed"


def test_followup_is_searched_with_its_thread(searcher) -> None:  # type: ignore[no-untyped-def]
    history = ["Which missile defense programs is Japan part of?"]
    answer = searcher.search("What else does Japan plan to deploy?", history)
    assert answer.query == "Which missile defense programs is Japan part of? What else does Japan plan to deploy?"
    assert any("indigenous space domain awareness satellites" in r.quote for r in answer.results[:3])


def test_a_why_question_with_its_own_subject_is_searched_as_it_is(searcher) -> None:  # type: ignore[no-untyped-def]
    history = ["What share of the world's active satellites does the United States operate?"]
    question = "Why does Japan host U.S. payloads?"
    assert searcher.search(question, history).query == question


def test_and_x_asks_the_previous_question_about_x(searcher) -> None:  # type: ignore[no-untyped-def]
    history = ["What share of the world's active satellites does the United States operate?"]
    answer = searcher.search("And Japan?", history)
    assert answer.query == "What share of the world's active satellites does Japan operate?"
    # Which quote ranks first is the ranker's (tests/answers/test_followups.py asks it of a corpus
    # written there); the order shown is the order of the scores shown.
    scores = [r.score for r in answer.results]
    assert answer.results and scores == sorted(scores, reverse=True)


def test_a_question_with_no_content_word_gets_no_quote_and_no_confidence(searcher) -> None:  # type: ignore[no-untyped-def]
    answer = searcher.search("?", [])
    assert (answer.answered, answer.results, answer.confidence) == (False, (), None)


@pytest.mark.parametrize("question", ["???", "the", "and?"])
def test_nothing_searchable_gets_no_quote_even_after_a_thread(searcher, question: str) -> None:  # type: ignore[no-untyped-def]
    answer = searcher.search(question, ["What share of satellites does the United States operate?"])
    assert not answer.answered and answer.results == ()


@pytest.mark.parametrize("question", ["qwrtp", "xq zzv", "zorblax", "ሰላም", "x" * 1000])
def test_words_no_source_uses_are_never_answered(searcher, question: str) -> None:  # type: ignore[no-untyped-def]
    answer = searcher.search(question)
    assert not answer.answered
    assert answer.results, "the closest passages are still listed"


@pytest.mark.parametrize(
    ("question", "history", "k", "reason"),
    [
        ("", [], 5, "empty"),
        ("   ", [], 5, "empty"),
        ("x" * 1001, [], 5, "1000"),
        ("ok?", [], 0, "between 1 and 20"),
        ("ok?", [], 21, "between 1 and 20"),
        ("ok?", ["q"] * 21, 5, "at most 20"),
    ],
)
def test_bad_input_is_refused_with_a_reason(searcher, question, history, k, reason) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=reason):
        searcher.search(question, history, k)


def test_a_question_in_another_language_is_not_answered_and_says_why(searcher) -> None:  # type: ignore[no-untyped-def]
    from briefqa.answers.notices import NOT_ENGLISH

    for question in ("Quelle part des satellites actifs du monde les États-Unis exploitent-ils ?", "日本は？"):
        answer = searcher.search(question, k=3)
        assert not answer.answered and answer.notice == NOT_ENGLISH
        for r in answer.results:  # still the closest passages, verbatim, shown as not an answer
            assert _text(searcher, r.source.id)[r.start : r.end] == r.quote


def test_nothing_searchable_gets_no_quote_and_says_why(searcher) -> None:  # type: ignore[no-untyped-def]
    from briefqa.answers.notices import NOTHING_SEARCHABLE

    for question in ("🚀🛰️", "?", "the"):
        answer = searcher.search(question, ["What share of the world's satellites does the US operate?"], k=3)
        assert (answer.answered, answer.results, answer.notice) == (False, (), NOTHING_SEARCHABLE), question


def test_a_follow_up_without_a_thread_is_not_answered_alone(searcher) -> None:  # type: ignore[no-untyped-def]
    from briefqa.answers.notices import NO_THREAD

    alone = searcher.search("And Japan?", (), k=3)
    assert not alone.answered and alone.notice == NO_THREAD
    followed = searcher.search("And Japan?", ["What share of the world's active satellites does the US operate?"], 3)
    assert followed.answered and followed.notice is None
    assert searcher.notice("And Japan?") == NO_THREAD


def test_an_answered_question_has_no_notice(searcher) -> None:  # type: ignore[no-untyped-def]
    answer = searcher.search("What share of the world's active satellites does the United States operate?", k=3)
    assert answer.answered and answer.notice is None


def test_blank_entries_in_the_history_are_no_turn(searcher) -> None:  # type: ignore[no-untyped-def]
    share = "What share of the world's active satellites does the United States operate?"
    plain = searcher.search("And Japan?", [share], k=3)
    for history in ([share, ""], ["", share, " \u200b"], ["\t", share]):
        answer = searcher.search("And Japan?", history, k=3)  # no "question must not be empty"
        assert [r.quote for r in answer.results] == [r.quote for r in plain.results], history


class _CountingEncoder:
    """The real embedder, counting the searches made through it (one question encode each)."""

    def __init__(self, embedder) -> None:  # type: ignore[no-untyped-def]
        self._embedder = embedder
        self.searches = 0

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._embedder, name)

    def encode_full(self, texts, progress=None, spans=False):  # type: ignore[no-untyped-def]
        self.searches += 1
        return self._embedder.encode_full(texts, progress, spans)


def test_a_thread_of_twenty_follow_ups_costs_a_bounded_number_of_searches(searcher) -> None:  # type: ignore[no-untyped-def]
    """One request with 20 follow-up-shaped earlier questions does not search each of them again."""
    from briefqa.answers.conversation import MAX_DEPTH, is_followup
    from briefqa.answers.questions import MAX_HISTORY
    from briefqa.answers.searcher import Searcher

    shapes = ["And what about its budget?", "Why does that matter?", "And Japan?", "What else do they plan?"]
    history = ["What does the alliance plan for satellites?", *(shapes * 5)][:MAX_HISTORY]
    assert sum(is_followup(h) for h in history) == MAX_HISTORY - 1
    counting = _CountingEncoder(searcher.embedder)
    fresh = Searcher(searcher.index, counting)  # an empty cache: nothing answered before
    answer = fresh.search("And what about the launch sites?", history, 3)
    assert answer.results
    # This question, the previous one, and the MAX_DEPTH before that one which resolve() reads.
    assert counting.searches <= 2 + MAX_DEPTH


def test_a_carried_quote_is_found_by_its_offsets_and_only_on_sentence_bounds(searcher) -> None:  # type: ignore[no-untyped-def]
    """What the no-script page redraws from ``shown``: every sentence (from its own start or from
    where its quote starts) is its chunk's; a span that cuts a sentence or crosses chunks is none."""
    index = searcher.index
    chunks = index.chunks()
    checked = 0
    for c in chunks:
        doc = index.documents[c.doc]
        spans = index.sentence_spans(c.first, c.last)
        for start, quote_start, end in zip(spans.start, spans.quote_start, spans.end, strict=True):
            for s in {start, quote_start}:
                quote = searcher.quote_at(doc.id, s, end, 1)
                assert quote is not None and quote.quote == doc.text[s:end] and quote.passage.find(quote.quote) >= 0
                checked += 1
            assert searcher.quote_at(doc.id, start + 1, end, 1) is None
            assert searcher.quote_at(doc.id, start, end - 1, 1) is None
    assert checked > 20
    across = [(a, b) for a, b in itertools.pairwise(chunks) if a.doc == b.doc]
    for a, b in across:
        doc_id = index.documents[a.doc].id
        last = index.sentence_spans(b.first, b.first)
        assert searcher.quote_at(doc_id, index.sentence_spans(a.last, a.last).start[0], last.end[0], 1) is None
