"""The follow-up policy alone (no model): which turn a follow-up follows.
tests/answers/test_followups.py asks the real model."""

from briefqa.answers.followups import previous_turn


def test_a_blank_turn_is_no_turn() -> None:
    assert previous_turn(["", "  \u200b"]) is None
    assert previous_turn(["Where is the lighthouse?", " ", "When was it lit?", ""]) == (
        "When was it lit?",
        ("Where is the lighthouse?",),
    )
