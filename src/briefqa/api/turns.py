"""A conversation's turns, drawn for a page or a transcript; an earlier turn carried as a short reference.

The page without JavaScript is a GET form: each request carries the whole thread. Searching every
earlier question again would cost one search per turn on every request, so each turn travels as
``a|source@start-end|...~SIGNATURE`` (``n`` when it was not answered; ``@start-end:from-to`` where
the reader marked the answer inside the quote) and is drawn from the index's text. The reference
holds offsets, never text, and its signature (``thread_signing``) covers the question, the
questions before it and the revision of each source's text it quotes: only briefqa can issue one,
and one issued for another question, thread or text does not check out. A reference that does not
check out against the served index (another version, a hand-edited or forged URL) is ignored and
that turn is searched again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..answers.questions import MAX_HISTORY, normalise_question
from ..answers.searcher import THREAD_DEPTH, Searcher
from ..records import Answer, AnswerSpan, Quote
from .answer_marks import marked
from .schemas import Result, SearchResponse
from .thread_signing import ThreadSigner

MAX_SHOWN = 2000  # characters of one reference; a page shows at most a few quotes per turn
_REF = re.compile(r"([^|@]{1,200})@([0-9]{1,12})-([0-9]{1,12})(?::([0-9]{1,12})-([0-9]{1,12}))?")


@dataclass(frozen=True, slots=True)
class Turn:
    question: str
    response: SearchResponse
    ref: str  # what a later request draws this turn again from


def draw_thread(
    searcher: Searcher, asked: Sequence[tuple[str, str | None]], k: int, signer: ThreadSigner
) -> list[Turn]:
    """The turns of a thread: each question (oldest first) with the reference to what it showed, if any.

    A turn with a usable reference is drawn from it; any other is searched, with the questions
    before it as its history. A blank question is nothing to show and is left out.
    """
    turns: list[Turn] = []
    for i, (question, ref) in enumerate(asked):
        if not normalise_question(question):
            continue
        before = [q for q, _ in asked[:i]][-MAX_HISTORY:]
        response = decode(ref, question, before, searcher, signer) if ref is not None else None
        if response is None:
            response = SearchResponse.of(searcher.search(question, before, k))
        response = signed(response, question, before, searcher, signer)
        turns.append(Turn(question, response, response.shown or ""))
    return turns


def signed(
    response: SearchResponse, question: str, history: Sequence[str], searcher: Searcher, signer: ThreadSigner
) -> SearchResponse:
    """``response`` with the reference (``shown``) a later request draws it again from."""
    return response.model_copy(update={"shown": encode(response, question, history, searcher, signer)})


def encode(
    response: SearchResponse, question: str, history: Sequence[str], searcher: Searcher, signer: ThreadSigner
) -> str:
    """The signed reference a later request draws ``response`` again from."""
    body = ("a" if response.answered else "n") + "".join(f"|{_place(r)}" for r in response.results)
    revisions = [searcher.revision(r.source.id) or "" for r in response.results]
    return f"{body}~{signer.sign(*_signed(question, history, body, revisions))}"


def _place(result: Result) -> str:
    """Where ``result`` stands: its source and offsets, and its answer's offsets when one is marked."""
    answer = f":{result.answer.start}-{result.answer.end}" if result.answer is not None else ""
    return f"{result.source.id}@{result.start}-{result.end}{answer}"


def _answered(quote: Quote, start: str | None, end: str | None) -> Quote | None:
    """``quote`` with the answer span a reference names inside it; None when it does not fit in it."""
    if start is None or end is None:
        return quote
    at, to = int(start), int(end)
    span = AnswerSpan(at, to, quote.quote[at - quote.start : to - quote.start])
    return replace(quote, answer=span) if marked(quote.quote, quote.start, span) else None


def _signed(question: str, history: Sequence[str], body: str, revisions: Sequence[str]) -> list[str]:
    """What a signature covers: the turn's question, the earlier questions a follow-up is read
    against, what it showed and the texts it showed it from.

    Only the last ``THREAD_DEPTH`` earlier questions: the page keeps the last 20 turns, and a
    signature over the whole thread would fail for every turn once the oldest one is dropped.
    """
    thread = [normalise_question(h) for h in history if normalise_question(h)][-THREAD_DEPTH:]
    return [normalise_question(question), str(len(thread)), *thread, body, *revisions]


def decode(
    raw: str, question: str, history: Sequence[str], searcher: Searcher, signer: ThreadSigner
) -> SearchResponse | None:
    """The turn ``raw`` refers to, drawn from the searcher's index; None when it does not check out.

    An unanswered turn says again why, when the searcher knows (``notice``); that costs no search.
    """
    if len(raw) > MAX_SHOWN or raw[:1] not in ("a", "n"):
        return None
    body, sep, signature = raw.rpartition("~")
    rest = body[1:]
    if not sep or (rest and not rest.startswith("|")):
        return None
    parts = rest.split("|")[1:]
    matches = [_REF.fullmatch(part) for part in parts]
    if not all(matches):
        return None
    revisions = [searcher.revision(m[1]) if m else None for m in matches]
    if None in revisions or not signer.verify(signature, *_signed(question, history, body, revisions)):  # type: ignore[arg-type]
        return None
    quotes = []
    for rank, match in enumerate(matches, 1):
        quote = searcher.quote_at(match[1], int(match[2]), int(match[3]), rank) if match else None
        quote = _answered(quote, match[4], match[5]) if quote is not None and match else None
        if quote is None:
            return None
        quotes.append(quote)
    answered = raw[0] == "a"
    notice = None if answered else searcher.notice(question, history)
    return SearchResponse.of(Answer(query=question, answered=answered, results=tuple(quotes), notice=notice))
