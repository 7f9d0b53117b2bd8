"""How a follow-up is answered once ``conversation`` has resolved it: which earlier turn it
follows, and, for "What else ...?", which quotes the thread has already shown.

A resolved follow-up is otherwise ranked as any question is, by the ranker's score: putting the
quotes that repeat the follow-up's own words first, demoting the previous turn's quote, and
weighing the follow-up's words as much as the thread's were each measured on 73 threads written
over SQuAD articles (``eval/followups_squad.jsonl``) and removed (docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .questions import normalise_question
from .quotes import Scored

# A quote as (document number, start, end): the thread's quotes are compared by it.
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


def fresh_first(scored: Sequence[Scored], shown: Sequence[QuoteKey]) -> list[Scored]:
    """The ranked quotes with the best one not shown yet first: "What else ...?" asks for what
    the thread has not answered with.

    The quotes already shown keep their place after it (one may be the only sentence that says
    what is asked), their scores lowered to the new first one's, so the order shown is still the
    order of the scores shown.
    """
    seen = set(shown)
    fresh = next((n for n, s in enumerate(scored) if (s.doc, s.start, s.end) not in seen), None)
    if not fresh:  # None: nothing new; 0: the best is new already
        return list(scored)
    first = scored[fresh]
    return [first, *(replace(s, score=min(s.score, first.score)) for s in scored[:fresh]), *scored[fresh + 1 :]]
