"""Where a quote's answer stands inside it, for every view that emphasises it (page, Markdown, CLI).

One cut for all of them, so the chat page, the page without JavaScript, the Markdown transcript and
``briefqa ask`` emphasise the same words; static/chat.js cuts the same way (by code points, as the
offsets count).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Span(Protocol):
    """An answer span as the records and the API's schema both hold it (offsets of the source text)."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Marked:
    """A quote in three pieces: the words before its answer, the answer, the words after it."""

    before: str
    answer: str
    after: str


def marked(quote: str, start: int, answer: Span | None) -> Marked | None:
    """``quote`` (which starts at ``start`` of its source) cut around ``answer``.

    None when no answer is marked, or when the span does not stand inside the quote with its own
    text: a view then shows the quote unmarked rather than emphasise words that do not answer.
    """
    if answer is None:
        return None
    at, to = answer.start - start, answer.end - start
    if not 0 <= at < to <= len(quote) or quote[at:to] != answer.text:
        return None
    return Marked(quote[:at], quote[at:to], quote[to:])
