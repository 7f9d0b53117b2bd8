import pytest

from briefqa.answer_types import asked_type, holds_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the panel discussion take place?", "date"),
        ("In what year was the treaty signed?", "date"),
        ("How many satellites does the US operate?", "quantity"),
        ("How much does Japan spend on space?", "quantity"),
        ("What share of satellites does the US operate?", "quantity"),
        ("Who leads the Space Force?", "name"),
        ("Which company operated the constellation?", "name"),
        ("Which European countries joined the initiative?", "name"),
        ("Which multinational exercises has Japan joined, and when?", "date"),
        ("Which areas are the partners focused on?", None),
        ("Why are the asymmetries amplified?", None),
        ("What limits Tokyo's response to Russia?", None),
    ],
)
def test_asked_type(question: str, kind: str | None) -> None:
    assert asked_type(question) == kind


def test_dates_and_quantities_are_recognised_in_quotes() -> None:
    assert holds_type("date", "Panel Discussion. April 11, 2025.")
    assert holds_type("date", "Japan's 2022 strategic documents")
    assert not holds_type("date", "The war in Ukraine has functioned as a stress test.")
    assert holds_type("quantity", "more than two-thirds of the world's active satellites")
    assert holds_type("quantity", "a budget of $4 billion")
    assert not holds_type("quantity", "Japan's role is gradually expanding.")
    assert holds_type(None, "anything at all")


def test_a_name_must_not_merely_open_the_quote() -> None:
    assert not holds_type("name", "Despite decades of close partnership, asymmetries remain.")
    assert holds_type("name", "The panel included Melissa Dalton.")


def test_an_answer_must_add_to_what_the_question_states() -> None:
    # The question's own date, number or names do not answer it.
    assert not holds_type("date", "Panel Discussion. April 11, 2025.", "Who moderated the April 11, 2025 panel?")
    assert holds_type("date", "Panel Discussion. April 11, 2025.", "When did the panel take place?")
    assert not holds_type("quantity", "It has 3 satellites.", "Does Japan have 3 satellites?")
    assert not holds_type("name", "The establishment of a Japanese Joint Operations Command.",
                          "Who commands Japan's Joint Operations Command?")
    assert holds_type("name", "Japan's Joint Operations Command is led by General Sato.",
                      "Who commands Japan's Joint Operations Command?")


def test_an_answer_must_be_about_what_the_question_names() -> None:
    us = "The United States operates more than two-thirds of the world's active satellites."
    assert holds_type("quantity", us, "What share of active satellites does the United States operate?")
    assert not holds_type("quantity", us, "How many satellites does China have in orbit?")
    # A form of the name counts; initials are too short to compare.
    assert holds_type("date", "The Japanese command was set up in 2024.", "When did Japan set up its command?")
    assert holds_type("date", "The United States acted in 2023.", "When did the U.S. act?")
