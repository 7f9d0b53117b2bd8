"""The follow-up policy alone (no model): which turn a follow-up follows, how its own words are
weighed, and which quotes it puts first. tests/answers/test_followups.py asks the real model."""

import numpy as np

from briefqa.answers.followups import focus, named_first, previous_turn


def test_a_blank_turn_is_no_turn() -> None:
    assert previous_turn(["", "  \u200b"]) is None
    assert previous_turn(["Where is the lighthouse?", " ", "When was it lit?", ""]) == (
        "When was it lit?",
        ("Where is the lighthouse?",),
    )


def test_the_followups_own_words_weigh_as_much_as_the_threads() -> None:
    weights = np.array([1.0, 2.0, 3.0, 0.5])
    own = np.array([False, False, False, True])
    focused = focus(weights, own)
    assert focused[own].sum() == weights[~own].sum()
    assert (focused[~own] == weights[~own]).all()
    assert (focus(weights, np.zeros(4, bool)) == weights).all()


def test_quotes_that_say_what_the_followup_names_come_first() -> None:
    texts = ["Norway keeps twelve lighthouses.", "Iceland keeps four lighthouses.", "Lamps burned oil."]
    keys = [(0, 0, 10), (0, 11, 20), (1, 0, 9)]
    assert named_first("And Iceland?", texts, keys, shown=None)[0] == 1


def test_the_quote_already_shown_is_not_first_again_unless_it_says_more() -> None:
    texts = ["Iceland keeps four lighthouses.", "Iceland also keeps two beacons."]
    keys = [(0, 0, 10), (0, 11, 20)]
    assert named_first("And Iceland?", texts, keys, shown=keys[0]) == [1, 0]
    only = ["Iceland keeps four lighthouses.", "Lamps burned oil."]
    assert named_first("And Iceland?", only, keys, shown=keys[0]) == [0, 1]
