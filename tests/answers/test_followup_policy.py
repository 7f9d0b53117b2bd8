"""The follow-up policy alone (no model): which turn a follow-up follows, and which quote
"What else ...?" puts first. tests/answers/test_followups.py asks the real model."""

import numpy as np

from briefqa.answers.followups import fresh_first, previous_turn
from briefqa.answers.quotes import Scored


def _scored(start: int, score: float) -> Scored:
    return Scored(0, start, start, start + 10, 0, score, np.zeros(1), np.zeros(1), np.zeros(1))


def test_a_blank_turn_is_no_turn() -> None:
    assert previous_turn(["", "  \u200b"]) is None
    assert previous_turn(["Where is the lighthouse?", " ", "When was it lit?", ""]) == (
        "When was it lit?",
        ("Where is the lighthouse?",),
    )


def test_what_else_puts_the_best_quote_not_shown_yet_first() -> None:
    ranked = [_scored(0, 9.0), _scored(20, 7.5), _scored(40, 3.0)]
    shown = [(0, 0, 10)]
    again = fresh_first(ranked, shown)
    assert [s.start for s in again] == [20, 0, 40], "the harbour light already shown comes second"
    assert [s.score for s in again] == sorted((s.score for s in again), reverse=True), "ranks follow the scores"
    assert again[1].score == 7.5


def test_what_else_keeps_the_ranking_when_nothing_was_shown_or_nothing_is_new() -> None:
    ranked = [_scored(0, 9.0), _scored(20, 7.5)]
    assert fresh_first(ranked, []) == ranked
    assert fresh_first(ranked, [(0, 20, 30)]) == ranked, "the best is new already"
    assert fresh_first(ranked, [(0, 0, 10), (0, 20, 30)]) == ranked, "nothing new: the order stays"
