"""What kind of answer a question asks for, and whether a quote holds one."""

from __future__ import annotations

import re

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATE = re.compile(
    rf"\b(?:1[5-9]\d\d|20\d\d)s?\b|\b(?:{_MONTHS})\.?\s+\d{{1,2}}\b|\b\d{{1,2}}\s+(?:{_MONTHS})\b|"
    r"\b(?:century|decade|yesterday|today|tomorrow)\b",
    re.I,
)
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    "hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|dozen|dozens|"
    "half|halves|third|thirds|quarter|quarters|percent|per cent|majority|minority|fraction|"
    "single|double|twice|triple"
)
_QUANTITY = re.compile(rf"\d[\d,.]*|%|\$|€|£|¥|\b(?:{_NUMBER_WORDS})\b", re.I)
_NAME = re.compile(r"\b[A-Z][\w-]*")
# Nouns whose instances are named: "which company" asks for a name as "who" does.
_NAMED_KINDS = (
    "company|companies|firm|firms|corporation|corporations|contractor|contractors|country|countries|"
    "nation|nations|city|cities|agency|agencies|organi[sz]ations?|institutions?|ministry|ministries|"
    "person|people|official|officials|leader|leaders|president|minister|commander|author|authors|"
    "site|sites|base|bases|port|ports"
)

_ASKS = [
    ("date", re.compile(
        r"^\s*when\b|\b(?:and|or)\s+when\b|\b(?:what|which)\s+(?:year|date|month|day|decade)\b|"
        r"\bhow long ago\b", re.I)),
    ("quantity", re.compile(
        r"\bhow\s+(?:many|much|large|big|often|long|far|old)\b|"
        r"\b(?:what|which)\s+(?:share|percentage|proportion|number|amount|fraction|portion|cost|price|"
        r"size|budget|total)\b", re.I)),
    ("name", re.compile(rf"^\s*(?:who|whom|whose)\b|\b(?:which|what)\s+(?:\w+\s+)?(?:{_NAMED_KINDS})\b", re.I)),
]


def asked_type(question: str) -> str | None:
    """``date``, ``quantity`` or ``name`` when the question asks for one, else None."""
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return None


def holds_type(kind: str | None, text: str, question: str = "") -> bool:
    """Whether ``text`` contains an answer of that kind (always true when no kind is asked).

    The answer must add to the question: a date, number or name the question already states
    ("Who moderated the April 2025 panel?") is not an answer to it. And it must be about what
    the question names: a number in a sentence about the United States does not say how many
    satellites China has.
    """
    if kind is None:
        return True
    asked = question.lower()
    if not _names_said(question, text):
        return False
    if kind == "date":
        return any(m.group(0).lower() not in asked for m in _DATE.finditer(text))
    if kind == "quantity":
        return any(m.group(0).lower() not in asked for m in _QUANTITY.finditer(text))
    # A capitalised word that does not merely open the quote, nor repeat (a form of) a question word.
    stated = _word_prefixes(question)
    return any(m.start() > 0 and m.group(0).lower()[:5] not in stated for m in _NAME.finditer(text))


def _names_said(question: str, text: str) -> bool:
    """Whether ``text`` mentions every name of the question (a word sharing its first five letters
    counts: "Japanese" for "Japan"). Initials ("U.S.") are too short to compare and pass."""
    said = _word_prefixes(text)
    for match in _NAME.finditer(question):
        if match.start() == 0:
            continue
        for part in re.findall(r"[A-Za-z]{2,}", match.group(0)):
            if part.lower()[:5] not in said:
                return False
    return True


def _word_prefixes(text: str) -> set[str]:
    """The first five letters of each word: "Japanese" and "Japan" share theirs."""
    return {w[:5] for w in re.findall(r"\w+", text.lower())}
