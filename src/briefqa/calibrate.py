"""A freshly written index version -> its abstention model (``abstain.json``), fitted on probes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import probes
from .abstain import FEATURES, fit
from .embed import Embedder
from .searcher import Searcher
from .store import IndexData, WordVectors


def calibrate(data: IndexData, embedder: Embedder, folder: Path,
              words: WordVectors | None = None) -> dict[str, float]:
    """Fit the abstention model on probes generated from this version; write ``abstain.json``.

    Probes go through the searcher's own path (plan, embed, judge), so the model is fitted on
    exactly the signals it will see. ``words`` keeps single-word vectors across builds.
    """
    vocabulary: list[str] = getattr(embedder, "vocabulary", list)()
    def embed_words(batch: list[str]) -> np.ndarray:
        return embedder.encode(batch) if words is None else words.lookup(batch, embedder.encode)

    pairs = probes.generate(data, vocabulary, embed_words)
    labels = np.array([y for _, y in pairs])
    if len(set(labels.tolist())) < 2:
        return {}
    searcher = Searcher(data, embedder)
    plans = [searcher.plan(question) for question, _ in pairs]
    texts = [t for plan in plans for t in plan.texts]
    vectors = embedder.encode(texts)
    rows = []
    at = 0
    for (question, _), plan in zip(pairs, plans, strict=True):
        judged = searcher.judge(question, plan, vectors[at : at + len(plan.texts)])
        at += len(plan.texts)
        rows.append(judged.signals if judged.signals is not None else np.zeros(len(FEATURES)))
    model, figures = fit(np.vstack(rows), labels)
    (folder / "abstain.json").write_text(json.dumps({**model.to_json(), "probe_figures": figures}, indent=1))
    data.abstain = model.to_json()
    return figures
