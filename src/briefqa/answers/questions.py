"""What a question may be: the contract's limits, and the one normalisation and validation of a
request that the searcher, the API's schemas and the CLI share."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from ..errors import InputError

MAX_QUESTION = 1000
MAX_HISTORY = 20
MAX_K = 20

# Format and control characters (zero-width space, BOM, NUL, direction marks...) and unpaired
# surrogates print nothing: a question made only of them, and white space, is empty.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def normalise_question(question: str) -> str:
    """``question`` with invisible characters dropped and each run of white space one space."""
    kept = (
        " " if ch.isspace() else ch
        for ch in question
        if ch.isspace() or unicodedata.category(ch) not in INVISIBLE_CATEGORIES
    )
    return " ".join("".join(kept).split())


def validate(question: str, history: Sequence[str], k: int) -> str:
    """The normalised question; ``InputError`` with the reason when a request breaks the contract's limits."""
    normalised = normalise_question(question)
    if not normalised:
        raise InputError("question must not be empty")
    if len(question) > MAX_QUESTION:
        raise InputError(f"question is {len(question)} characters; at most {MAX_QUESTION}")
    if not 1 <= k <= MAX_K:
        raise InputError(f"k must be between 1 and {MAX_K}, not {k}")
    if len(history) > MAX_HISTORY:
        raise InputError(f"history holds {len(history)} questions; at most {MAX_HISTORY}")
    for item in history:
        if not isinstance(item, str):
            raise InputError("history must be a list of strings")
        if len(item) > MAX_QUESTION:
            raise InputError(f"a history question is {len(item)} characters; at most {MAX_QUESTION}")
    return normalised
