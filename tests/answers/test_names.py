"""What counts as a name, for the abstainer, the answer kinds and follow-ups alike."""

from briefqa.answers.names import NAME_RUN, prefix, question_names, word_prefixes


def test_question_names_skip_only_the_plain_word_that_opens_the_question() -> None:
    assert question_names("Which river flows through Vienna and Budapest?") == ["Vienna", "Budapest"]
    # An acronym or a coinage opening the question is still a name.
    assert question_names("NASA launched what in 1969?") == ["NASA"]
    assert question_names("YouTube was bought by whom?") == ["YouTube"]


def test_names_are_words_with_capitals_acronyms_and_digits_inside() -> None:
    assert question_names("Did the H2 rocket or the Ariane fly first for ESA?") == ["H2", "Ariane", "ESA"]
    assert question_names("what did they say?") == []


def test_prefixes_make_forms_of_one_name_match() -> None:
    assert prefix("Japanese") == prefix("Japan") == "japan"
    assert "canad" in word_prefixes("The Canadian delegation left.")


def test_name_runs_take_titles_and_dotted_acronyms_whole() -> None:
    runs = [m.group(0) for m in NAME_RUN.finditer("How large is the budget of the Ministry of Finance in the U.K.?")]
    assert runs == ["the Ministry of Finance", "the U.K."]
    assert [m.group(0) for m in NAME_RUN.finditer("Paris hosts what?")] == [], "the opening word is no run"
