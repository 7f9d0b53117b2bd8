"""Texts -> words and stemmed content terms: the one tokenizer that BM25 and the answers share.

The index cuts passages into ``terms`` for BM25; the answers cut questions and quotes the same
way to weigh and cover them, so a question's terms meet the passages' exactly. Imports nothing
of briefqa.
"""

from __future__ import annotations

import re
from functools import lru_cache

_PART = re.compile(r"[^\W_]+")
_POSSESSIVE = re.compile(r"(?<=\w)'s\b")


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    # Question words must not count as content: "how much" is no topic the corpus could lack.
    return frozenset(STOPWORDS_EN_PLUS) | {"s", "much", "many", "else", "whose", "also", "would", "shall"}


def words(text: str) -> list[str]:
    """Lower-cased word tokens; hyphenated and possessive forms are split into their parts."""
    return _PART.findall(_POSSESSIVE.sub("", text.lower().replace("’", "'")))


def terms(text: str) -> list[str]:
    """Stemmed content terms (stopwords removed), in order: what BM25 and coverage compare."""
    stop = stopwords()
    kept = [w for w in words(text) if w not in stop]
    return list(_stemmer().stemWords(kept)) if kept else []


@lru_cache(maxsize=65536)
def term_set(text: str) -> frozenset[str]:
    """The distinct terms of a text, cached: candidate passages recur across questions."""
    return frozenset(terms(text))
