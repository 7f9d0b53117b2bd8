"""What a question may be: the limits every caller (API, page, CLI) is held to."""

import pytest

from briefqa.answers.questions import MAX_HISTORY, MAX_K, MAX_QUESTION, normalise_question, validate
from briefqa.errors import InputError


def test_a_question_of_invisible_characters_is_empty() -> None:
    with pytest.raises(InputError, match="must not be empty"):
        validate("\u200b \ufeff\t\x00", (), 5)


def test_a_valid_question_comes_back_normalised() -> None:
    assert validate("  Where is\u200b the  harbour?\n", (), 5) == "Where is the harbour?"
    assert normalise_question("a\u00a0b") == "a b"


@pytest.mark.parametrize(
    ("question", "history", "k", "said"),
    [
        ("x" * (MAX_QUESTION + 1), (), 5, "characters"),
        ("Who?", (), 0, "k must be"),
        ("Who?", (), MAX_K + 1, "k must be"),
        ("Who?", ("earlier?",) * (MAX_HISTORY + 1), 5, "history holds"),
        ("Who?", ("y" * (MAX_QUESTION + 1),), 5, "a history question"),
    ],
)
def test_a_request_past_a_limit_says_which(question: str, history: tuple[str, ...], k: int, said: str) -> None:
    with pytest.raises(InputError, match=said):
        validate(question, history, k)
