"""How a follow-up is answered once ``conversation`` has resolved it: which earlier turn it
follows, how much its own words weigh against the thread's, and which quotes come first."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..terms import term_set, terms
from .questions import normalise_question

# A quote as (document number, start, end): the previous turn's first quote is compared by it.
QuoteKey = tuple[int, int, int]


def previous_turn(history: Sequence[str]) -> tuple[str, tuple[str, ...]] | None:
    """The turn a follow-up follows, as (its question, the thread before it); None without one.

    The thread as ``conversation.resolve`` reads it: a blank entry is no turn (and searching it
    would be an "empty question" error for a request that is valid).
    """
    earlier = [h for h in history if normalise_question(h)]
    if not earlier:
        return None
    return earlier[-1], tuple(earlier[:-1])


def focus(weights: np.ndarray, own: np.ndarray) -> np.ndarray:
    """A follow-up's own words weigh as much as all the thread's words they were added to.

    "And Japan?", searched as the previous question about Japan, must find what the sources say
    of Japan, not the previous answer again, which matches every other word of the thread.
    """
    if not own.any() or own.all():
        return weights
    mine, theirs = float(weights[own].sum()), float(weights[~own].sum())
    return np.where(own, weights * (theirs / mine), weights) if mine > 0 else weights


def named_first(question: str, texts: Sequence[str], keys: Sequence[QuoteKey], shown: QuoteKey | None) -> list[int]:
    """The order of ranked quotes for a follow-up: those that say what it names come first.

    After "What share of satellites does the United States operate?", "And Japan?" is not
    answered by the United States sentence, however well it matches the rest of the thread.
    The quote the previous turn answered with (``shown``) is not put first again unless it
    says more of what the follow-up names than the next one: the user has read it, but it may
    be the only sentence that says what they now ask.
    """
    own = set(terms(question))
    said = [len(own & term_set(t)) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: -said[i])  # stable: ranked order within
    repeated = len(order) > 1 and keys[order[0]] == shown
    if repeated and said[order[1]] >= said[order[0]]:
        order[0], order[1] = order[1], order[0]
    return order
