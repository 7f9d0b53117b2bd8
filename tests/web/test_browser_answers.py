"""The answer span on the chat page, in Chromium: marked inside the quote where the API gives one.

Until the reader marks spans, the served answers have none, so the page's own drawing function is
given Result objects built from real records (tests/api/test_answer_marks.py), and one real answer
from the server gets a span on its way to the page.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from briefqa.api.schemas import SearchResponse
from briefqa.records import Answer

from ..api.test_answer_marks import FARES, SPANS, quote_of
from .test_browser import ANSWERED, Page, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Draws a turn with the page's own function (static/chat.js) and appends it to the thread.
DRAW = """([question, response]) => {
    const turn = turnView(question, response);
    turn.removeAttribute("id");
    document.getElementById("thread").append(turn);
    return document.querySelectorAll("#thread article.turn").length - 1;
}"""


def drawn(chat: Page, *quotes: Any, answered: bool = True) -> Any:
    """The turn the page draws for an answer of ``quotes`` (records), as the API would send it."""
    response = SearchResponse.of(Answer(query="q", answered=answered, results=quotes)).model_dump(mode="json")
    at = chat.page.evaluate(DRAW, ["When does the first boat leave?", response])
    return chat.page.locator("#thread article.turn").nth(at)


@pytest.mark.parametrize(("sentence", "words"), SPANS)
def test_the_page_marks_the_answer_inside_the_quote(chat: Page, sentence: str, words: str) -> None:
    turn = drawn(chat, quote_of(sentence, words))
    quote = turn.locator("blockquote.quote")
    assert quote.locator("mark.answer").all_inner_texts() == [words]
    assert quote.evaluate("(q) => q.textContent") == sentence  # markup in the source stays text
    assert quote.evaluate("(q) => q.children.length") == 1


def test_without_a_span_or_an_answer_nothing_is_marked(chat: Page) -> None:
    plain = drawn(chat, quote_of(FARES))
    assert plain.locator("mark").count() == 0
    assert plain.locator("blockquote.quote").evaluate("(q) => q.textContent") == FARES
    closest = drawn(chat, quote_of(FARES, "12 kr"), answered=False)
    assert closest.locator("mark").count() == 0


def test_a_marked_answer_leaves_the_page_accessible(chat: Page, axe_source: str) -> None:
    for sentence, words in [p.values for p in SPANS]:
        drawn(chat, quote_of(sentence, words), quote_of(FARES, "12 kr", rank=2))
    chat.page.locator("details.more").first.evaluate("(d) => { d.open = true; }")
    assert serious_violations(chat.page, axe_source) == []


def test_an_answer_from_the_server_shows_its_span_marked(chat: Page) -> None:
    """A real /api/ask reply, its top quote given a span (its second word) before the page reads it."""

    def with_span(route: Any) -> None:
        reply = route.fetch()
        body = reply.json()
        top = body["results"][0]
        at = top["quote"].index(" ") + 1
        to = top["quote"].index(" ", at)
        top["answer"] = {"start": top["start"] + at, "end": top["start"] + to, "text": top["quote"][at:to]}
        route.fulfill(response=reply, body=json.dumps(body))
        marked.append(top["answer"]["text"])

    marked: list[str] = []
    chat.page.route("**/api/ask", with_span)
    turn = chat.ask(ANSWERED)
    assert turn.locator(".answer blockquote.quote mark.answer").all_inner_texts() == marked
    assert len(marked) == 1
