"""What kind of answer a question asks for, and whether a text holds one.

Only the question's own interrogative decides the kind ("When …", "How many …", "Who …",
"Where …", "What year …"): no list of topics or named things. Whether a quote holds that kind
is one signal among many for the learned ranker and abstainer, never a rule on its own.
"""

from __future__ import annotations

import re

from .names import names_in, prefix, word_prefixes

KINDS = ("date", "quantity", "name", "place")

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATE = re.compile(
    rf"\b(?:1[0-9]\d\d|20\d\d)s?\b|\b(?:{_MONTHS})\.?\s+\d{{1,2}}\b|\b\d{{1,2}}\s+(?:{_MONTHS})\b|"
    r"\b\d{1,2}(?:st|nd|rd|th)\s+century\b|\b(?:century|centuries|decade|decades|yesterday|today|tomorrow)\b|"
    r"\b\d{3,4}\s*(?:BC|BCE|AD|CE)\b",
    re.I,
)
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    "hundred|hundreds|thousand|thousands|million|millions|billion|billions|trillion|dozen|dozens|"
    "half|halves|third|thirds|quarter|quarters|percent|per cent|majority|minority|fraction|"
    "single|double|twice|triple"
)
# A number, but not the digits of a designation such as "SM-3" or "F-35". Measured: over the
# 23,688 candidates of SQuAD's quantity questions (training/collect.py's groups) it changes
# whether a candidate holds a quantity for 66 (0.3%); to go at the ranker's next refit, since
# the shipped ranker was fitted on the signal with it.
_QUANTITY = re.compile(rf"(?<![A-Za-z0-9-])\d[\d,.]*|%|\$|€|£|¥|\b(?:{_NUMBER_WORDS})\b", re.I)

_ASKS = [
    (
        "date",
        re.compile(
            r"^\s*(?:since\s+)?when\b|\b(?:what|which)\s+(?:year|years|date|month|day|decade|century|period)\b|"
            r"\bhow long ago\b",
            re.I,
        ),
    ),
    (
        "quantity",
        re.compile(
            r"\bhow\s+(?:many|much|large|big|often|long|far|old|high|fast|tall|heavy)\b|"
            r"\b(?:what|which)\s+(?:share|percentage|percent|proportion|number|amount|fraction|portion|"
            r"cost|price|size|total|rate)\b",
            re.I,
        ),
    ),
    ("name", re.compile(r"^\s*(?:who|whom|whose)\b|\b(?:by|to|for|with)\s+whom\b", re.I)),
    ("place", re.compile(r"^\s*where\b|\bin\s+which\s+(?:city|country|place|region|state)\b", re.I)),
]


def asked_type(question: str) -> str | None:
    """One of ``KINDS`` when the question asks for it, else None."""
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return None


def holds_type(kind: str | None, text: str, question: str = "") -> bool:
    """Whether ``text`` contains an answer of that kind (always true when no kind is asked).

    The answer must add to the question: a date, number or name the question already states
    ("Who chaired the 1998 commission?") is no answer to it.
    """
    if kind is None:
        return True
    asked = question.lower()
    if kind == "date":
        return any(m.group(0).lower() not in asked for m in _DATE.finditer(text))
    if kind == "quantity":
        return any(m.group(0).lower() not in asked for m in _QUANTITY.finditer(text))
    # A capitalised word that does not merely open the text, nor repeat (a form of) a question word.
    stated = word_prefixes(question)
    return any(m.start() > 0 and prefix(m.group(0)) not in stated for m in names_in(text))
