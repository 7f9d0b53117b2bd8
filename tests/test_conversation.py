from briefqa.conversation import is_followup, resolve


def test_standalone_question_is_searched_as_is() -> None:
    q = "What share of the world's active satellites does the United States operate?"
    assert resolve(q, ["Which command did Japan establish?"]) == q


def test_pronoun_followup_is_resolved() -> None:
    history = ["What are the obstacles to cooperation?"]
    assert resolve("Why do they matter?", history).startswith("What are the obstacles to cooperation?")


def test_followup_chain_resolves_through_earlier_followups() -> None:
    history = ["Which missile defense programs is Japan part of?", "And what else?"]
    query = resolve("Why?", history)
    assert query.startswith("Which missile defense programs is Japan part of?")
    assert query.endswith("Why?")


def test_no_history_means_no_resolution() -> None:
    assert resolve("What else?", []) == "What else?"


def test_followup_shapes() -> None:
    assert is_followup("What about China?")
    assert is_followup("What else does Japan plan to deploy?")
    assert not is_followup("Which strategic documents did Japan publish in 2022?")


def test_and_x_swaps_the_name_in_the_previous_question() -> None:
    assert resolve("And Japan?", ["How many satellites does the US operate?"]) == (
        "How many satellites does Japan operate?"
    )
    assert resolve("What about China?", ["What limits Russia's response?"]) == "What limits China's response?"


def test_and_x_without_a_single_name_to_swap_keeps_the_thread() -> None:
    history = ["How do the United States and Japan cooperate?"]
    assert resolve("And China?", history) == "How do the United States and Japan cooperate? And China?"
