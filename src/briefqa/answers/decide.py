"""The abstainer's probability and the reader's answer logit -> whether the best quote answers.

The decide stage of the answer path: a logistic model of the two, fitted with the reader on
SQuAD articles neither saw (``training/fit_reader.py``), its threshold the one that refuses 5%
of the answerable questions of held-out articles indexed one an index.
"""

from __future__ import annotations

import math

from .read import Decision


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def joint_probability(decision: Decision, abstainer_probability: float, answer_logit: float) -> float:
    """The probability that the best quote answers, given both models."""
    z = decision.coef[0] * _logit(abstainer_probability) + decision.coef[1] * answer_logit + decision.intercept
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def answers(decision: Decision, probability: float) -> bool:
    return probability >= decision.threshold
