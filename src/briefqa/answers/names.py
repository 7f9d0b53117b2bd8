"""Names in questions and texts: capitalised words, acronyms and the runs they form.

One place for what counts as a name, shared by the abstainer (is a name of the question missing
from the passage?), the answer kinds (does a quote hold a name the question lacks?) and follow-ups
(which name of the previous question does "And Japan?" replace?).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# A capitalised word ("Japan") or a word with a capital or digit inside ("SpaceX", "JAXA", "H2").
NAME = re.compile(r"\b(?:[A-Z][A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*|[A-Z][a-z]+)\b")
# A run of capitalised words, dotted acronyms ("U.S.") included, not opening the text:
# "the Ministry of Defense", "the U.S.".
NAME_RUN = re.compile(r"(?<!^)(?<![\w.])(?:the\s+)?(?:[A-Z][\w.-]*)(?:\s+(?:of\s+)?[A-Z][\w.-]*)*")
# Words that share their first letters are one name for matching: "Japanese" says "Japan".
PREFIX = 5


def prefix(word: str) -> str:
    """The lower-cased first ``PREFIX`` letters of a word."""
    return word.lower()[:PREFIX]


def word_prefixes(text: str) -> set[str]:
    """The prefix of each word of ``text``."""
    return {prefix(w) for w in re.findall(r"\w+", text)}


def names_in(text: str) -> Iterator[re.Match[str]]:
    """The names of ``text``, each as a match (its offset tells whether it opens the text)."""
    return NAME.finditer(text)


def question_names(question: str) -> list[str]:
    """Capitalised words and acronyms of the question, but the one that merely opens it."""
    out = []
    for match in names_in(question):
        word = match.group(0)
        if match.start() == 0 and not any(c.isupper() for c in word[1:]):
            continue
        out.append(word)
    return out
