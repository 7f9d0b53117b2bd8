"""A freshly written index version -> its abstention model (``abstain.json``), fitted on probes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import probes
from .abstain import FEATURES, fit
from .embed import Embedder
from .lexical import terms
from .searcher import Searcher
from .store import IndexData


def calibrate(data: IndexData, embedder: Embedder, folder: Path) -> dict[str, float]:
    """Fit the abstention model on probes generated from this version; write ``abstain.json``."""
    vocabulary: list[str] = getattr(embedder, "vocabulary", list)()
    pairs = probes.generate(data, vocabulary)
    labels = np.array([y for _, y in pairs])
    if len(set(labels.tolist())) < 2:
        return {}
    searcher = Searcher(data, embedder)
    vectors = embedder.encode([q for q, _ in pairs])
    rows = []
    for (question, _), vector in zip(pairs, vectors, strict=True):
        query_terms = terms(question)
        cand, scored = searcher.scored(query_terms, vector)
        rows.append(searcher.signals(question, query_terms, cand, scored) if scored else np.zeros(len(FEATURES)))
    model, figures = fit(np.vstack(rows), labels)
    (folder / "abstain.json").write_text(json.dumps({**model.to_json(), "probe_figures": figures}, indent=1))
    data.abstain = model.to_json()
    return figures
