"""How a follow-up is answered once ``conversation`` has resolved it: which earlier turn it follows.

A resolved follow-up is otherwise ranked as any question is, by the ranker's score: putting the
quotes that repeat the follow-up's own words first, demoting the previous turn's quote, and
weighing the follow-up's words as much as the thread's were each measured on 73 threads written
over SQuAD articles (``eval/followups_squad.jsonl``) and removed (docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from .questions import normalise_question

# A quote as (document number, start, end): the reader's readings are kept by it.
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
