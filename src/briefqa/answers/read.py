"""Ranked candidates -> the reader's reading of the first of them, reordered by it.

The read stage of the answer path (candidates -> rank -> read -> decide -> quote). The reader
(``briefqa.reader``) reads the question beside each of the ranker's first ``Decision.read``
sentences in one run; those are reordered by the ranker's score plus ``relevance_weight`` times
the reader's relevance, both fitted out of fold on SQuAD articles neither model saw
(``training/fit_reader.py``). That sum becomes each quote's score, so the order the API shows is
the order of the scores it shows. What was not read keeps its place after them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..reader import OnnxReader, Reading, load_reader, shipped_reader_config
from ..settings import default_onnx_cache
from .quotes import Scored


@dataclass(frozen=True, slots=True)
class Decision:
    """The fitted weights that join the reader's outputs to the ranker's and the abstainer's."""

    read: int  # how many of the ranker's first sentences the reader reads
    relevance_weight: float
    coef: tuple[float, float]  # on (the abstainer's logit, the best sentence's answer logit)
    intercept: float
    threshold: float  # on the joint probability: below it, not answered
    span_margin: float  # a span is marked when the head prefers it to none by more than this

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Decision:
        d = config["decide"]
        coef = tuple(float(c) for c in d["coef"])
        if len(coef) != 2:
            raise ValueError("reader.json: decide.coef must hold two weights")
        return cls(
            int(config["read"]),
            float(d["relevance_weight"]),
            (coef[0], coef[1]),
            float(d["intercept"]),
            float(d["threshold"]),
            float(d["span_margin"]),
        )


@dataclass(frozen=True, slots=True)
class ReadStage:
    """The reader and the decision fitted with it."""

    reader: OnnxReader
    decision: Decision


@dataclass(frozen=True, slots=True)
class Read:
    """A question's candidates after the read stage, and what the reader said of each it read."""

    scored: list[Scored]
    readings: tuple[Reading | None, ...]  # aligned with ``scored``; None past what was read


@lru_cache(maxsize=4)
def shipped_stage(cache: Path | None = None) -> ReadStage | None:
    """The shipped reader and its decision (its ONNX file made into ``cache`` the first time);
    None when the package holds no reader."""
    config = shipped_reader_config()
    if config is None:
        return None
    reader = load_reader(cache or default_onnx_cache())
    return None if reader is None else ReadStage(reader, Decision.from_config(config))


def read(stage: ReadStage, question: str, scored: list[Scored], texts: Sequence[str]) -> Read:
    """Read ``question`` beside the first sentences of ``scored`` (``texts`` are their quotes) and
    put those first, by the ranker's score plus the weighted relevance."""
    n = min(stage.decision.read, len(scored))
    readings = stage.reader.read(question, list(texts[:n]))
    w = stage.decision.relevance_weight
    read_ones = sorted(
        ((replace(s, score=s.score + w * r.relevance), r) for s, r in zip(scored[:n], readings, strict=True)),
        key=lambda pair: -pair[0].score,
    )
    lowest = read_ones[-1][0].score if read_ones else 0.0
    # The unread keep their order below the last read one, so scores still fall with rank.
    rest = [replace(s, score=min(s.score, lowest)) for s in scored[n:]]
    return Read([s for s, _ in read_ones] + rest, tuple(r for _, r in read_ones) + (None,) * len(rest))
