"""The best quote -> answered or not: a logistic model over how question and quote align.

A similarity score cannot tell "the sources say this" from "the sources mention the topic". The
signals here read the alignment instead: how well each word piece of the question is matched in
the quote and its passage (the least-matched rare piece; the matched share at several levels),
whether the question's numbers and names appear there, whether the corpus knows the question's
words at all, whether the quote holds the kind of answer asked for, and how far the best quote
stands above the next. The model was fitted on SQuAD 2.0's crowd-written unanswerable questions
and their answerable twins (``training/fit_models.py``); its threshold was chosen on held-out
articles for a false-abstention ceiling.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ..index.lexical import LexicalIndex
from ..terms import words
from .answer_types import KINDS, asked_type, holds_type
from .names import prefix, question_names
from .quotes import Query, Scored

FEATURES = (
    "score",
    "margin",
    "maxsim_idf",
    "sentence_sim",
    "passage_sim",
    "term_cover",
    "passage_cover",
    "gap_quote",
    "gap_passage",
    "matched_60",
    "matched_75",
    "matched_90",
    "passage_matched_75",
    "absent_share",
    "names_missing",
    "numbers_missing",
    *(f"asks_{kind}" for kind in KINDS),
    "type_held",
    "type_in_passage",
    "agree",
)

_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


_CAPITALISED_RUN = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of|the|for|and|de|du|von)?\s*[A-Z][\w'’-]*)*")


def acronym_said(acronym: str, text: str) -> bool:
    """Whether ``text`` names what an acronym stands for: the acronym itself, dotted ("U.S."), or
    a run of capitalised words with those initials ("United Nations" for "UN")."""
    letters = acronym.upper()
    if re.search(rf"(?<!\w){re.escape(letters)}(?!\w)", text):
        return True
    dotted = r"\.?".join(re.escape(c) for c in letters)
    if re.search(rf"(?<!\w){dotted}\.?(?!\w)", text):
        return True
    for run in _CAPITALISED_RUN.finditer(text):
        initials = "".join(w[0] for w in run.group(0).split() if w[:1].isupper())
        if letters in initials:
            return True
    return False


def names_missing(names: Sequence[str], text: str) -> float:
    """Share of the question's names that ``text`` does not mention.

    A word counts as mentioned when the text has a word with its first five letters ("Japanese"
    for "Japan"), but one capitalised inside ("SpaceX") only as itself; an acronym when the
    text spells it out or dots it (``acronym_said``).
    """
    if not names:
        return 0.0
    found = words(text)
    said, whole = {prefix(w) for w in found}, set(found)
    gone = 0
    for name in names:
        if len(name) >= 2 and name.isupper():
            gone += not acronym_said(name, text)
        elif any(c.isupper() for c in name[1:]):
            # A name capitalised inside ("SpaceX", "YouTube") is one coinage: "space" does not say it.
            # Measured: it changes names_missing for 19 of 30,345 SQuAD questions (their best
            # sentence); to go at the abstainer's next refit, which was fitted on it.
            gone += name.lower() not in whole
        else:
            gone += prefix(name) not in said
    return gone / len(names)


def numbers_in(text: str) -> list[str]:
    """The numbers of ``text``, each whole ("1,500", "2.5") and without its thousands commas."""
    return [m.replace(",", "") for m in _NUMBER.findall(text)]


def numbers_missing(numbers: Sequence[str], text: str) -> float:
    """Share of ``numbers`` (as ``numbers_in`` gives them) that ``text`` does not state.

    Numbers are compared whole: "1,500" is said by "1500" or "1,500", not by "1" and "500".
    """
    if not numbers:
        return 0.0
    said = set(numbers_in(text))
    return sum(n not in said for n in numbers) / len(numbers)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the searcher knows of a question and its best quotes."""

    query: Query
    scored: Sequence[Scored]
    passage_text: str
    agree: bool
    max_idf: float


def features(ev: Evidence, lexical: LexicalIndex) -> np.ndarray:
    """The signal vector (in ``FEATURES`` order) for the best quote of a question."""
    top = ev.scored[0]
    second = ev.scored[1].score if len(ev.scored) > 1 else top.score - 1.0
    w = ev.query.weights
    total = float(w.sum()) or 1.0
    rarity = w / ev.max_idf if ev.max_idf > 0 else w

    def share(matches: np.ndarray, level: float) -> float:
        return float(w[matches >= level].sum() / total) if len(matches) else 0.0

    def gap(matches: np.ndarray) -> float:
        return float((rarity * (1.0 - matches)).max()) if len(matches) else 0.0

    qterms = set(ev.query.terms)
    absent = [t for t in qterms if t not in lexical.doc_freq]
    kind = asked_type(ev.query.text)
    numbers = numbers_in(ev.query.text)
    return np.array(
        [
            top.score,
            top.score - second,
            top.feature("maxsim_idf"),
            top.feature("sentence_sim"),
            top.feature("passage_sim"),
            top.feature("term_cover"),
            top.feature("passage_cover"),
            gap(top.matches),
            gap(top.passage_matches),
            share(top.matches, 0.6),
            share(top.matches, 0.75),
            share(top.matches, 0.9),
            share(top.passage_matches, 0.75),
            len(absent) / max(len(qterms), 1),
            names_missing(question_names(ev.query.text), ev.passage_text),
            numbers_missing(numbers, ev.passage_text),
            *(1.0 if kind == k else 0.0 for k in KINDS),
            top.feature("type_held"),
            1.0 if kind is not None and holds_type(kind, ev.passage_text, ev.query.text) else 0.0,
            1.0 if ev.agree else 0.0,
        ],
        dtype=np.float64,
    )


@dataclass(frozen=True, slots=True)
class Abstainer:
    """Probability that a quote answers its question, and the threshold chosen for it."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float

    def probability(self, x: np.ndarray) -> float:
        z = float(((x - self.mean) / self.scale) @ self.coef + self.intercept)
        return float(1.0 / (1.0 + np.exp(-z)))

    def answers(self, probability: float) -> bool:
        return probability >= self.threshold

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "threshold": self.threshold,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Abstainer:
        if data.get("features") != list(FEATURES):
            raise ValueError("the abstainer was fitted on other signals")
        return cls(
            np.array(data["mean"]),
            np.array(data["scale"]),
            np.array(data["coef"]),
            float(data["intercept"]),
            float(data["threshold"]),
        )


@lru_cache(maxsize=1)
def shipped_abstainer() -> Abstainer:
    """The abstainer fitted by ``training/fit_models.py``, shipped in the package."""
    text = resources.files("briefqa").joinpath("models/abstainer.json").read_text()
    return Abstainer.from_json(json.loads(text))
