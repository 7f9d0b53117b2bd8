from briefqa.answers.conversation import is_followup, resolve


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


def test_a_why_question_that_names_its_subject_stands_alone() -> None:
    q = "Why does Japan host U.S. payloads?"
    assert not is_followup(q)
    assert resolve(q, ["What share of the world's active satellites does the United States operate?"]) == q
    assert resolve("How did the Normans conquer England?", ["Who were the Normans?"]) == (
        "How did the Normans conquer England?"
    )
    assert resolve("So what did William build after Hastings?", ["Who was William?"]) == (
        "So what did William build after Hastings?"
    )


def test_and_x_after_a_question_about_one_country_asks_it_about_x() -> None:
    previous = "What share of the world's active satellites does the United States operate?"
    assert resolve("And Japan?", [previous]) == "What share of the world's active satellites does Japan operate?"
    assert resolve("And Kraków?", ["How many people live in Warsaw?"]) == "How many people live in Kraków?"
    # Two names in the previous question: which one to swap is unclear, so the thread is kept.
    assert resolve("What about the Normans?", ["When did the Vikings reach Iceland?"]) == (
        "When did the Vikings reach Iceland? What about the Normans?"
    )


def test_a_bare_why_is_still_a_followup() -> None:
    history = ["Which missile defense programs is Japan part of?"]
    assert is_followup("Why?")
    assert resolve("Why?", history) == "Which missile defense programs is Japan part of? Why?"
    assert resolve("Why is that?", ["Who ruled Normandy?"]) == "Who ruled Normandy? Why is that?"


def test_and_x_where_the_previous_question_already_names_x_is_no_swap() -> None:
    previous = "Did the harbour master of Oban train the keepers of Mull?"
    assert resolve("And Mull?", [previous]) == f"{previous} And Mull?"
    assert resolve("What about the Skerry light?", ["Who kept the Skerry light?"]) == (
        "Who kept the Skerry light? What about the Skerry light?"
    )


def test_and_x_swaps_a_name_only_for_a_name() -> None:
    previous = "What did Stevenson's survey of the coast find?"
    assert resolve("What about erosion?", [previous]) == f"{previous} What about erosion?"
    assert resolve("And Telford?", [previous]) == "What did Telford's survey of the coast find?"


def test_and_x_does_not_repeat_the_words_after_the_name() -> None:
    assert resolve("And the Bell Rock lighthouse?", ["Who built the Eddystone lighthouse?"]) == (
        "Who built the Bell Rock lighthouse?"
    )


def test_a_bare_why_after_a_question_asks_that_question_why() -> None:
    from briefqa.answers.conversation import asks_of_thread, asks_reason
    from briefqa.answers.notices import notice_for

    history = ["When was the harbour light automated?"]
    for bare in ("Why?", "How so?", "When?", "Why is that?"):
        assert asks_of_thread(bare), bare
        assert notice_for(bare, history) is None, "searched, not declined as nothing to search"
        assert notice_for(bare, []) is not None, "with no earlier question there is nothing to ask"
    assert not asks_of_thread("the") and not asks_of_thread("?")
    assert asks_reason("Why?") and asks_reason("How so?") and not asks_reason("When?")
