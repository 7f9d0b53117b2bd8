"""The one word tokenizer (``briefqa.terms``) that BM25 and the answers share."""

from briefqa.terms import terms, words


def test_terms_stem_and_drop_question_words() -> None:
    assert terms("How much does Japan spend?") == ["japan", "spend"]
    assert terms("satellites") == terms("satellite")
    assert "japan" in terms("Japan’s strategy")  # curly possessive


def test_hyphenated_words_are_split() -> None:
    assert words("U.S.-Japan dual-use") == ["u", "s", "japan", "dual", "use"]
