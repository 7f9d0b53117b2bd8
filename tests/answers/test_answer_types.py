"""What kind of answer a question asks for (its interrogative alone), and whether a quote holds one.

Phrasings come from encyclopedia-style questions, not from the brief: the rules must not be
tuned to one corpus.
"""

import pytest

from briefqa.answers.answer_types import KINDS, asked_type, holds_type


def test_the_kinds() -> None:
    assert KINDS == ("date", "quantity", "name", "place")


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the Normans arrive in Normandy?", "date"),
        ("when was the University of Chicago founded", "date"),
        ("Since when has Warsaw been the capital of Poland?", "date"),
        ("In what year did the Huguenots reach the Cape?", "date"),
        ("What century did the Normans gain their separate identity?", "date"),
        ("How long ago did the last glaciers retreat from Scandinavia?", "date"),
        ("How many people live in Warsaw?", "quantity"),
        ("How much did the Apollo program cost?", "quantity"),
        ("What percentage of Victoria's population lives in Melbourne?", "quantity"),
        ("What share of the vote did the Labour Party win in 1945?", "quantity"),
        ("How tall is the Eiffel Tower?", "quantity"),
        ("Who ruled the duchy of Normandy in 1066?", "name"),
        ("Whose army defeated Harold at Hastings?", "name"),
        ("To whom did Rollo swear fealty?", "name"),
        ("Where is the source of the Rhine?", "place"),
        ("In which city did the Huguenots found a church in 1628?", "place"),
        ("In which country is the Amazon rainforest mostly found?", "place"),
        # No interrogative of a kind: no kind, whatever the topic or the names in it.
        ("What is the Amazon rainforest?", None),
        ("Why did the Huguenots leave France?", None),
        ("Which company built the Hoover Dam?", None),
        ("What happened when the Normans reached Sicily?", None),
        ("Which battles did the Normans fight in Italy, and when?", None),
    ],
)
def test_only_the_interrogative_decides_the_kind(question: str, kind: str | None) -> None:
    assert asked_type(question) == kind


def test_dates_are_recognised_in_quotes() -> None:
    assert holds_type("date", "William landed at Pevensey in 1066.")
    assert holds_type("date", "The Normans first appear in the 10th century.")
    assert holds_type("date", "The treaty was signed on March 3, 1918 at Brest-Litovsk.")
    assert holds_type("date", "Rome was sacked in 410 AD by the Visigoths.")
    assert holds_type("date", "Such castles were common in the 1190s.")
    assert not holds_type("date", "The castle stands on a hill above the river.")


def test_quantities_are_numbers_not_designations() -> None:
    assert not holds_type("quantity", "The SM-3 Block IIA interceptor was developed jointly.")
    assert not holds_type("quantity", "The F-35 first flew from the base at Fort Worth.")
    assert holds_type("quantity", "The SM-3 Block IIA interceptor is deployed on 42 ships.")
    assert holds_type("quantity", "Warsaw has about 1.7 million residents.")
    assert holds_type("quantity", "Nearly 40% of the state's people live in the capital.")
    assert holds_type("quantity", "The project cost $25 billion.")
    assert holds_type("quantity", "Two-thirds of the forest lies in Brazil.")
    assert not holds_type("quantity", "The forest lies mostly in Brazil.")


def test_a_name_or_place_must_not_merely_open_the_quote() -> None:
    assert not holds_type("name", "Normandy lies in the north of the country.")
    assert holds_type("name", "The duchy was ruled by Rollo and his heirs.")
    assert holds_type("place", "The Huguenots settled near Cape Town.")
    assert not holds_type("place", "Many of them settled near the coast.")


def test_no_kind_asked_means_any_text_holds_it() -> None:
    assert holds_type(None, "anything at all")
    assert holds_type(None, "")


def test_an_answer_must_add_to_what_the_question_states() -> None:
    # The question's own date is no answer to it.
    quote = "In 1066 the Normans invaded England."
    assert not holds_type("date", quote, "Who led the Normans in 1066?")
    assert holds_type("date", quote, "When did the Normans invade England?")
    # Nor its own number.
    assert not holds_type("quantity", "The league has 20 clubs.", "Does the league have 20 clubs?")
    assert holds_type("quantity", "The league has 20 clubs.", "How many clubs does the league have?")
    # Nor (a form of) its own names: "Normans" repeats "Normandy"'s first five letters.
    assert not holds_type("name", "Most of them were Normans of Normandy.", "Who were the Normans of Normandy?")
    assert holds_type("name", "The Normans were led by Rollo.", "Who led the Normans?")
