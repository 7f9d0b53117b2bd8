"""A conversation's turns, drawn for a page or a transcript; an earlier turn carried as a short reference.

The page without JavaScript is a GET form: each request carries the whole thread. Searching every
earlier question again would cost one search per turn on every request, so each turn travels as
``a|source@start-end|...`` (``n`` when it was not answered) and is drawn from the index's text.
The reference holds offsets, never text: whatever a crafted URL says, a turn can only show whole
sentences of a source, verbatim. A reference that does not check out against the served index
(another version, a hand-edited URL) is ignored and that turn is searched again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..answers.questions import MAX_HISTORY, normalise_question
from ..answers.searcher import Searcher
from ..records import Answer
from .schemas import SearchResponse

MAX_SHOWN = 2000  # characters of one reference; a page shows at most a few quotes per turn
_REF = re.compile(r"([^|@]{1,200})@([0-9]{1,12})-([0-9]{1,12})")


@dataclass(frozen=True, slots=True)
class Turn:
    question: str
    response: SearchResponse


def draw_thread(searcher: Searcher, asked: Sequence[tuple[str, str | None]], k: int) -> list[Turn]:
    """The turns of a thread: each question (oldest first) with the reference to what it showed, if any.

    A turn with a usable reference is drawn from it; any other is searched, with the questions
    before it as its history. A blank question is nothing to show and is left out.
    """
    turns: list[Turn] = []
    for i, (question, ref) in enumerate(asked):
        if not normalise_question(question):
            continue
        before = [q for q, _ in asked[:i]][-MAX_HISTORY:]
        response = decode(ref, question, before, searcher) if ref is not None else None
        if response is None:
            response = SearchResponse.of(searcher.search(question, before, k))
        turns.append(Turn(question, response))
    return turns


def encode(response: SearchResponse) -> str:
    """The reference a later request draws ``response`` again from."""
    refs = "".join(f"|{r.source.id}@{r.start}-{r.end}" for r in response.results)
    return ("a" if response.answered else "n") + refs


def decode(raw: str, question: str, history: Sequence[str], searcher: Searcher) -> SearchResponse | None:
    """The turn ``raw`` refers to, drawn from the searcher's index; None when it does not check out.

    An unanswered turn says again why, when the searcher knows (``notice``); that costs no search.
    """
    if len(raw) > MAX_SHOWN or raw[:1] not in ("a", "n"):
        return None
    rest = raw[1:]
    if rest and not rest.startswith("|"):
        return None
    parts = rest.split("|")[1:]
    quotes = []
    for rank, part in enumerate(parts, 1):
        match = _REF.fullmatch(part)
        quote = searcher.quote_at(match[1], int(match[2]), int(match[3]), rank) if match else None
        if quote is None:
            return None
        quotes.append(quote)
    answered = raw[0] == "a"
    notice = None if answered else searcher.notice(question, history)
    return SearchResponse.of(Answer(query=question, answered=answered, results=tuple(quotes), notice=notice))
