"""A question and the user's earlier questions -> the text actually searched.

No generative model: a follow-up ("And Japan?", "Why do they matter?", "What else ...?") is
recognised by its shape and searched together with the question it follows, itself resolved
the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .lexical import terms

_OPENERS = re.compile(r"^\s*(?:and|also|what about|how about|and what about|what else|why|how so|so)\b", re.I)
_BACK = re.compile(
    r"\b(?:they|them|their|theirs|it|its|this|that|these|those|he|him|his|she|her|there|such|else|"
    r"also|too|the same|the latter|the former|either|both)\b",
    re.I,
)
MAX_DEPTH = 3


def is_followup(question: str) -> bool:
    """Whether the question leans on an earlier one to be understood."""
    if _OPENERS.match(question) or _BACK.search(question):
        return True
    return len(terms(question)) < 2


def resolve(question: str, history: Sequence[str]) -> str:
    """The searched text: the question, preceded by the question it follows when it is a follow-up."""
    return _resolve(question.strip(), [h.strip() for h in history if h.strip()], MAX_DEPTH)


def _resolve(question: str, history: list[str], depth: int) -> str:
    if not history or depth == 0 or not is_followup(question):
        return question
    previous = _resolve(history[-1], history[:-1], depth - 1)
    return f"{previous} {question}"
