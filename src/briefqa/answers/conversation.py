"""A question and the user's earlier questions -> the text actually searched.

No generative model. A follow-up is recognised by its shape:

- "And Japan?" / "What about Japan?" asks the previous question again about something else: the
  name in the previous question is replaced ("How many satellites does Japan operate?").
- Anything else that leans on the thread ("Why do they matter?", "What else ...?", a bare "Why?")
  is searched together with the question it follows, itself resolved the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..terms import terms
from .names import NAME_RUN

# Openers that only make sense after something: "And Japan?", "What about its budget?". A "Why"
# or "How" question that names its own subject stands alone; one that does not is caught by its
# pronouns or by having fewer than two content terms.
_OPENERS = re.compile(r"^\s*(?:and|also|what about|how about|and what about|what else)\b", re.I)
_BACK = re.compile(
    r"\b(?:they|them|their|theirs|it|its|this|that|these|those|he|him|his|she|her|there|such|else|"
    r"also|too|the same|the latter|the former|either|both)\b",
    re.I,
)
_ELLIPSIS = re.compile(
    r"^\s*(?:and|(?:and\s+)?(?:what|how)\s+about)\s+(?:for\s+|in\s+)?(?P<topic>[^?]+?)\s*\??\s*$", re.I
)
_WH = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)
# "What else ...?", "Which others ...?": what the earlier answer did not already say.
_MORE = re.compile(r"\b(?:else|other|others|another)\b", re.I)
MAX_DEPTH = 3


def is_followup(question: str) -> bool:
    """Whether the question leans on an earlier one to be understood."""
    if _OPENERS.match(question) or _BACK.search(question):
        return True
    return len(terms(question)) < 2


def asks_of_thread(question: str) -> bool:
    """Whether a question with no searchable word of its own ("Why?", "How so?", "What else?")
    still asks something once there is a thread: the earlier question, asked with its "why"."""
    return bool(_WH.search(question) or _BACK.search(question))


def asks_for_more(question: str) -> bool:
    """Whether a follow-up asks for what the earlier answer did not say ("What else ...?")."""
    return _MORE.search(question) is not None


def asks_reason(question: str) -> bool:
    """Whether a follow-up is a bare "Why?" or "How?" (no word of its own): it asks for the reason
    or the manner of what the earlier answer stated, which that answer's sentence seldom gives."""
    return not terms(question) and re.search(r"\b(?:why|how)\b", question, re.I) is not None


def needs_thread(question: str) -> bool:
    """Whether the question is only a follow-up's tail ("And Japan?", "What about its budget?"): a
    topic without a question of its own, which asks nothing until there is an earlier question."""
    return _ELLIPSIS.match(question) is not None


def resolve(question: str, history: Sequence[str]) -> str:
    """The searched text: the question made standalone against the thread when it is a follow-up."""
    return _resolve(question.strip(), [h.strip() for h in history if h.strip()], MAX_DEPTH)


def _resolve(question: str, history: list[str], depth: int) -> str:
    if not history or depth == 0 or not is_followup(question):
        return question
    previous = _resolve(history[-1], history[:-1], depth - 1)
    swapped = _swap_topic(question, previous)
    return swapped if swapped is not None else f"{previous} {question}"


def _swap_topic(question: str, previous: str) -> str | None:
    """ "And X?" against "... Y ...?" -> "... X ...?" when the previous question names one thing."""
    ellipsis = _ELLIPSIS.match(question)
    if not ellipsis:
        return None
    topic = ellipsis.group("topic").strip()
    if _WH.search(topic) or _BACK.search(topic):
        return None
    # A name stands in for a name: "What about gravitation?" after a question about Einstein asks
    # about gravitation in Einstein's theory, not "What did gravitation's theory predict?".
    if not NAME_RUN.search(" " + topic):
        return None
    # A topic the previous question already names ("And Japan?" after "Is the United States
    # obligated to defend Japan?") cannot be swapped in without asking about it twice.
    if re.search(rf"(?<!\w){re.escape(topic)}(?!\w)", previous, re.I):
        return None
    names = [m for m in NAME_RUN.finditer(previous) if m.group(0).strip()]
    if len(names) != 1:
        return None
    name, end = names[0], names[0].end()
    # "And the Yuan dynasty?" after "Who founded the Ming dynasty?": the words the topic ends with
    # after its name replace the same words after the previous name, so they are not said twice.
    last = list(NAME_RUN.finditer(" " + topic))[-1]
    tail = topic[last.end() - 1 :]
    if tail.strip() and previous[end:].lower().startswith(tail.lower()):
        end += len(tail)
    return previous[: name.start()] + topic + previous[end:]
