"""A question and its thread -> the reason it will not be answered, when that reason is known.

Three reasons are known before anything is searched, and each is told to the user in one sentence
(``Answer.notice``): the question is not in English, the language of the model and the sources;
nothing in it is searchable (a bare "Why?" is searchable after an earlier question: it asks that
question's why); it is only the tail of a follow-up ("And Japan?") with no earlier question to
follow. A fourth is known only after the search: "What else ...?" when the sources hold nothing
more than the quote already shown (``NOTHING_MORE``).

The language is judged by py3langid (a maintained fork of langid.py whose naive Bayes model ships
inside the package: no download, ~0.1 ms a question). A question is "not English" when every
letter in it is of a script other than Latin, or when the identifier gives another language more
than half of the probability and leaves English less than ``ENGLISH_BELOW``: English must be
implausible, not merely outscored. Short English questions full of names may lose to another
language ("When did Dewey die?" reads as Nigerian Pidgin at 0.61), but English keeps a share of
it. Fitted by ``training/fit_notices.py`` over SQuAD's 96,343 English questions: another
language above half alone refused 176 of them; with English below 0.05 too, 27, and it
recognises as many of its 20 questions written in other languages (18).

Reading that model (an xz-compressed file) takes 1.2-2.3 s, most of it in ``lzma``, which lets go
of the GIL: a one-question process (``briefqa ask``) calls ``warm_identifier`` first, so the
model is read beside the encoder and the index instead of after them.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..terms import terms
from .conversation import asks_of_thread, needs_thread

NOT_ENGLISH = (
    "This question does not look like English. briefqa's model and its sources read English only: "
    "please ask in English."
)
NOTHING_SEARCHABLE = (
    "There is nothing to search for in this question: it holds only punctuation, symbols or common "
    "words such as “the” or “why”. Ask about something the sources might say."
)
NOTHING_MORE = (
    "The sources say nothing more on this than the quote already shown: the quotes below are the "
    "closest, not an answer."
)
NO_THREAD = (
    "This reads as a follow-up, but there is no earlier question in this conversation for it to "
    "follow: ask the whole question."
)

# Another language must take more than half the identifier's probability (a text of a word or
# two gets a diffuse guess, English or not), and English less than ENGLISH_BELOW (fitted by
# training/fit_notices.py: the largest that refuses at most 3 in 10,000 of SQuAD's questions).
OTHER_LANGUAGE_PROBABILITY = 0.5
ENGLISH_BELOW = 0.05


@dataclass(frozen=True, slots=True)
class Notice:
    """Why a question is not answered; ``search`` says whether its closest passages are still worth listing."""

    text: str
    search: bool


def notice_for(question: str, history: Sequence[str]) -> Notice | None:
    """The reason ``question`` (asked after ``history``) cannot be answered, or None when none is known.

    A question in another language and a follow-up without a thread are still searched, so the
    reply lists the closest passages (as "closest, not an answer") beside the notice; a question
    with nothing searchable in it has no closest passage.
    """
    if not_english(question):
        return Notice(NOT_ENGLISH, search=True)
    if not terms(question) and not (asks_of_thread(question) and any(h.strip() for h in history)):
        return Notice(NOTHING_SEARCHABLE, search=False)
    if needs_thread(question) and not any(h.strip() for h in history):
        return Notice(NO_THREAD, search=True)
    return None


def not_english(question: str) -> bool:
    """Whether ``question`` is written in another language than English (see the module's docstring)."""
    letters = [ch for ch in question if ch.isalpha()]
    if not letters:
        return False
    if not any(unicodedata.name(ch, "").startswith("LATIN") for ch in letters):
        return True
    language, probability, english = language_of(question)
    return language != "en" and probability > OTHER_LANGUAGE_PROBABILITY and english < ENGLISH_BELOW


def language_of(question: str) -> tuple[str, float, float]:
    """The identifier's likeliest language for ``question``, its probability, and English's."""
    ranked = _identifier().rank(question)
    language, probability = ranked[0]
    return str(language), float(probability), float(dict(ranked).get("en", 0.0))


def warm_identifier() -> threading.Thread:
    """Start reading the language identifier's model in a background thread; the first question
    that needs it waits for that read instead of starting its own."""
    thread = threading.Thread(target=_identifier, name="briefqa-language-id", daemon=True)
    thread.start()
    return thread


# One read of the model, whichever thread asks first: the others wait on this lock.
_LOADING = threading.Lock()


def _identifier() -> Any:
    with _LOADING:
        return _read_identifier()


@lru_cache(maxsize=1)
def _read_identifier() -> Any:
    """py3langid's model, with probabilities normalised so a threshold means the same at any length."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
