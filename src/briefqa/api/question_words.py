"""What the chat page says about a question it cannot ask: one set of words for both of its forms.

The page without its script is a GET form, so the server meets the blank or overlong question and
answers with the chat page itself, the thread kept and the words below in its error line. With the
script the same words reach ``static/chat.js`` through that line's ``data-*`` attributes: the two
forms cannot drift apart, and neither shows a validator's internals ("question.constrained-str").
"""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from ..answers.questions import MAX_QUESTION
from .schemas import Question

BLANK = "Type a question first."
TOO_LONG = f"Shorten the question: it may be at most {MAX_QUESTION:,} characters long."

_QUESTION: TypeAdapter[str] = TypeAdapter(Question)


def problem(question: str) -> str | None:
    """What is wrong with ``question`` in the page's words, or None when the API would take it.

    Checked against the very schema ``/api/ask`` applies (``schemas.Question``), so the page refuses
    exactly what the API refuses.
    """
    try:
        _QUESTION.validate_python(question)
    except ValidationError as exc:
        # Nothing visible says more than a length: blank wins, as it does in the script.
        blank = any(e["type"] in ("string_pattern_mismatch", "string_too_short") for e in exc.errors())
        return BLANK if blank else TOO_LONG
    return None
