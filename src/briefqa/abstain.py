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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .answer_types import asked_type, holds_type
from .lexical import LexicalIndex
from .quotes import Scored
from .retrieve import Candidates

FEATURES = (
    "sentence_sim",
    "passage_sim",
    "term_cover",
    "passage_cover",
    "absent_share",
    "uncovered_max",
    "type_missing",
    "agree",
    "margin",
)


def features(question: str, query_terms: Sequence[str], scored: Sequence[Scored], cand: Candidates,
             lexical: LexicalIndex, quote_text: str, passage_terms: set[str]) -> np.ndarray:
    """The signal vector (in ``FEATURES`` order) for the best quote of a question."""
    top = scored[0]
    second = scored[1].score if len(scored) > 1 else 0.0
    qset = set(query_terms)
    weights = {t: lexical.idf(t) for t in qset}
    total = sum(weights.values()) or 1.0
    max_idf = lexical.idf("\x00 absent \x00")
    absent = sum(w for t, w in weights.items() if t not in lexical.doc_freq) / total
    uncovered = [w / max_idf for t, w in weights.items() if t not in passage_terms]
    kind = asked_type(question)
    return np.array(
        [
            top.sentence_sim,
            top.passage_sim,
            top.term_cover,
            top.passage_cover,
            absent,
            max(uncovered, default=0.0),
            0.0 if holds_type(kind, quote_text) else 1.0,
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


def fit(x: np.ndarray, y: np.ndarray) -> tuple[Abstainer, dict[str, float]]:
    """Fit the logistic model on probe features; the threshold maximises balanced accuracy.

    Returns the model and its figures on the probes (answer rate on answerable probes, abstain
    rate on unanswerable ones).
    """
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    model.fit(z, y)
    probs = model.predict_proba(z)[:, 1]
    best_t, best_acc = 0.5, -1.0
    for t in np.unique(np.round(probs, 3)):
        pos = float((probs[y == 1] >= t).mean()) if (y == 1).any() else 0.0
        neg = float((probs[y == 0] < t).mean()) if (y == 0).any() else 0.0
        acc = (pos + neg) / 2
        if acc > best_acc:
            best_t, best_acc = float(t), acc
    abstainer = Abstainer(mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0]), best_t)
    pos_rate = float((probs[y == 1] >= best_t).mean()) if (y == 1).any() else 0.0
    neg_rate = float((probs[y == 0] < best_t).mean()) if (y == 0).any() else 0.0
    return abstainer, {"probes": len(y), "answer_rate": pos_rate, "abstain_rate": neg_rate}
