"""Quotes -> answered or not: a logistic model over answerability signals, calibrated per index.

The signals are the ones that separate "the sources say this" from "the sources mention the
topic": how much of the question's distinctive vocabulary the quote and its passage leave
uncovered (and whether the corpus knows those words at all), whether the quote holds the kind of
answer asked for (a date for "when", a quantity for "how many"), how similar quote and passage
are to the question, whether the dense and lexical rankings agree, and the margin over the next
candidate. The weights are fitted at index time on probe questions generated from the corpus
itself (see ``probes``), never on evaluation questions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np

from .answer_types import asked_type, holds_type
from .lexical import LexicalIndex, terms
from .quotes import Scored
from .retrieve import Candidates

FEATURES = (
    "sentence_sim",
    "passage_sim",
    "term_cover",
    "passage_cover",
    "absent_share",
    "uncovered_max",
    "ablation_drop",
    "unknown_names",
    "type_missing",
    "type_held",
    "agree",
    "margin",
)


_NAME = re.compile(r"\b(?:[A-Z][A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*|[A-Z][a-z]+)\b")


def unknown_names(question: str, lexical: LexicalIndex) -> int:
    """How many names or acronyms the question uses that the corpus never does.

    A capitalised word that does not open the question, or an acronym, whose stem the corpus
    lacks, unless a corpus word shares its first five letters (demonyms: "American" for "America").
    """
    known = lexical.doc_freq
    count = 0
    for match in _NAME.finditer(question):
        word = match.group(0)
        if match.start() == 0 and not any(c.isupper() for c in word[1:]):
            continue
        stems = terms(word)
        if not stems or stems[0] in known:
            continue
        if len(word) >= 5 and lexical.has_prefix(word.lower()[:5]):
            continue
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the searcher knows of a question and its best quote, beyond the scores."""

    question: str
    query_terms: Sequence[str]
    quote_text: str
    passage_terms: AbstractSet[str]
    # For each question word the corpus lacks: similarity of question and quote, minus the same
    # without that word. Positive when the word carries the match (a paraphrase).
    ablation_drops: Sequence[float]


# Drops beyond this say nothing more about a word; clamping keeps one odd drop from dominating.
DROP_LIMIT = 0.1


def clamp_drop(drop: float) -> float:
    return max(-DROP_LIMIT, min(DROP_LIMIT, drop))


def features(ev: Evidence, scored: Sequence[Scored], cand: Candidates, lexical: LexicalIndex) -> np.ndarray:
    """The signal vector (in ``FEATURES`` order) for the best quote of a question."""
    top = scored[0]
    second = scored[1].score if len(scored) > 1 else 0.0
    qset = set(ev.query_terms)
    absent = [t for t in qset if t not in lexical.doc_freq]
    max_idf = lexical.idf("\x00 absent \x00")
    uncovered = [lexical.idf(t) / max_idf for t in qset if t not in ev.passage_terms]
    kind = asked_type(ev.question)
    held = holds_type(kind, ev.quote_text, ev.question)
    return np.array(
        [
            top.sentence_sim,
            top.passage_sim,
            top.term_cover,
            top.passage_cover,
            len(absent) / max(len(qset), 1),
            max(uncovered, default=0.0),
            clamp_drop(min(ev.ablation_drops, default=0.0)),
            float(unknown_names(ev.question, lexical)),
            0.0 if held else 1.0,
            1.0 if kind is not None and held else 0.0,
            1.0 if cand.dense_top == cand.lexical_top and cand.dense_top >= 0 else 0.0,
            top.score - second,
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

    def answers(self, x: np.ndarray) -> bool:
        return self.probability(x) >= self.threshold

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
    def from_json(cls, data: dict[str, Any]) -> Abstainer | None:
        if data.get("features") != list(FEATURES):
            return None
        return cls(np.array(data["mean"]), np.array(data["scale"]), np.array(data["coef"]),
                   float(data["intercept"]), float(data["threshold"]))


# The share of answerable probes that must be answered: the product's ceiling on false
# abstention. The threshold is the highest one that still answers this many.
ANSWER_RATE = 0.95


def fit(x: np.ndarray, y: np.ndarray) -> tuple[Abstainer, dict[str, float]]:
    """Fit the logistic model on probe features and choose its threshold.

    The threshold answers ``ANSWER_RATE`` of the answerable probes; whatever abstention that
    leaves on the unanswerable probes is reported, not traded for more answers.
    Returns the model and its figures on the probes.
    """
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    model.fit(z, y)
    probs = model.predict_proba(z)[:, 1]
    positives = probs[y == 1]
    threshold = float(np.quantile(positives, 1.0 - ANSWER_RATE)) if len(positives) else 0.5
    abstainer = Abstainer(mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0]), threshold)
    answer_rate = float((positives >= threshold).mean()) if len(positives) else 0.0
    abstain_rate = float((probs[y == 0] < threshold).mean()) if (y == 0).any() else 0.0
    return abstainer, {"probes": len(y), "answer_rate": answer_rate, "abstain_rate": abstain_rate}
