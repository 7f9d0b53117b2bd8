"""Candidate passages -> quotes: every sentence of them scored by a learned ranker, best first.

Each candidate sentence gets a row of evidence (``RANK_FEATURES``): late interaction (each word
piece of the question matched by its most similar word piece of the sentence, ColBERT's MaxSim,
weighted by the piece's rarity in the corpus), the sentence's and its passage's embedding
similarity, lexical coverage of the question's terms, and the passage's place in the dense and
BM25 rankings. The ranker that weighs them was fitted on SQuAD 2.0 questions (``training/``),
never on the brief's evaluation questions.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ..index.loaded_version import IndexVersion
from ..index.segments.pieces import TokenRows
from ..terms import term_set
from .answer_types import asked_type, holds_type
from .retrieve import Candidates

RANK_FEATURES = (
    "maxsim_idf",
    "maxsim",
    "passage_maxsim_idf",
    "window_maxsim_idf",
    "sentence_sim",
    "passage_sim",
    "term_cover",
    "passage_cover",
    "bm25",
    "fused_rank",
    "dense_rank",
    "length",
    "novel_share",
    "reverse_maxsim",
    "type_held",
    "type_missing",
)


# A sentence's word piece whose best match in the question is below this says something new.
NOVEL_BELOW = 0.5


@dataclass(frozen=True, slots=True)
class Query:
    """A searched text as the ranker sees it: its vector, its word pieces and their weights."""

    text: str
    question: str  # what the user typed (the query may add the thread it follows)
    vector: np.ndarray
    tokens: np.ndarray  # unit rows, one per word piece
    weights: np.ndarray  # rarity of each word piece in the corpus (0 for stopwords)
    uniform: np.ndarray  # 1 per word piece (a follow-up's own pieces weigh more)
    terms: tuple[str, ...]  # stemmed content terms (BM25 and coverage)


@dataclass(frozen=True, slots=True)
class Scored:
    """A quotable span, the evidence behind its score, and how its word pieces were matched."""

    doc: int
    sentence: int  # the scored sentence (the span may add the one before it)
    start: int
    end: int
    chunk: int
    score: float
    features: np.ndarray  # in RANK_FEATURES order
    matches: np.ndarray  # per query word piece, its best cosine in the quote
    passage_matches: np.ndarray  # ... in the quote's whole passage

    def feature(self, name: str) -> float:
        return float(self.features[RANK_FEATURES.index(name)])


def candidate_rows(index: IndexVersion, cand: Candidates, query: Query) -> list[Scored]:
    """Every sentence of the candidate chunks with its evidence, unscored (score 0)."""
    counts = Counter(t for t in query.terms if t in index.lexical.doc_freq)
    weights = {t: index.lexical.idf(t) * n for t, n in counts.items()}
    qweight = sum(weights.values()) or 1.0
    kind = asked_type(query.text)
    # Each candidate's place in the dense ranking of the candidates (they come in fused order).
    dense_rank = np.argsort(np.argsort(-cand.dense))
    out: list[Scored] = []
    m = len(query.tokens)
    chunks = [index.chunk(cid) for cid in cand.chunks.tolist()]
    # Every candidate's sentences at once: one request when the vectors live in a database.
    fetched = index.sentence_rows([(c.first, c.last) for c in chunks], query.tokens, (query.weights, query.uniform))
    for rank, (chunk, got) in enumerate(zip(chunks, fetched, strict=True)):
        cid, first, last = chunk.number, chunk.first, chunk.last
        doc = index.documents[chunk.doc]
        spans = index.sentence_spans(first, last)
        passage_terms = term_set(index.passage_text(chunk))
        pcover = sum(w for t, w in weights.items() if t in passage_terms) / qweight
        piece = _PieceMatches.of(query, got.pieces)
        ssims = got.vectors @ query.vector
        # MaxSim, rarity-weighted and plain: the store's (Qdrant's multivector MaxSim) when it
        # computed them, else from the word pieces here; the same sum either way.
        idf_best = got.maxsim[0] if got.maxsim is not None else piece.weighted(query.weights)
        plain_best = got.maxsim[1] if got.maxsim is not None else piece.weighted(query.uniform)
        idf_window = _weighted(piece.window, query.weights)
        idf_passage = _weighted(piece.passage[:, None], query.weights)[0] if m else 0.0
        for offset in range(last - first + 1):
            sid = first + offset
            start, end = spans.quote_start[offset], spans.end[offset]
            text = doc.text[start:end]
            quote_terms = term_set(text)
            cover = sum(w for t, w in weights.items() if t in quote_terms) / qweight
            held = kind is not None and holds_type(kind, text, query.text)
            features = np.array(
                [
                    idf_best[offset],
                    plain_best[offset],
                    idf_passage,
                    idf_window[offset],
                    float(ssims[offset]),
                    float(cand.dense[rank]),
                    cover,
                    pcover,
                    float(cand.lexical[rank]),
                    1.0 / (1 + rank),
                    1.0 / (1 + int(dense_rank[rank])),
                    math.log1p(piece.counts[offset]),
                    piece.novel[offset],
                    piece.reverse[offset],
                    1.0 if held else 0.0,
                    1.0 if kind is not None and not held else 0.0,
                ]
            )
            out.append(Scored(chunk.doc, sid, start, end, cid, 0.0, features, piece.best[:, offset], piece.passage))
    return out


def _weighted(matches: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per column of ``matches`` (query pieces x sentences), the weighted mean over the pieces."""
    total = float(weights.sum())
    return weights @ matches / total if total > 0 else np.zeros(matches.shape[1])


@dataclass(frozen=True, slots=True)
class _PieceMatches:
    """How the question's word pieces meet the word pieces of one passage's sentences."""

    best: np.ndarray  # query pieces x sentences: each piece's best cosine in each sentence
    window: np.ndarray  # ... in the sentence and its neighbours ("it" is often resolved there)
    passage: np.ndarray  # per query piece, its best cosine in the whole passage
    reverse: np.ndarray  # per sentence, the mean best cosine of its pieces in the question
    novel: np.ndarray  # per sentence, the share of its pieces the question does not say
    counts: np.ndarray  # per sentence, its pieces

    @classmethod
    def of(cls, query: Query, rows: TokenRows) -> _PieceMatches:
        bounds = rows.bounds.astype(np.int64)
        counts = np.diff(bounds)
        n, m = len(counts), len(query.tokens)
        if not len(rows.matrix) or not m:
            zeros = np.zeros((m, n))
            return cls(zeros, zeros, np.zeros(m), np.zeros(n), np.zeros(n), counts)
        sims = query.tokens @ rows.matrix.astype(np.float32).T
        # One pass per reduction over the passage's sentences that have pieces (reduceat over an
        # empty segment would borrow its neighbour's first column); a sentence without pieces
        # matches nothing.
        full = counts > 0
        starts = bounds[:-1][full]
        best = np.zeros((m, n))
        best[:, full] = np.maximum.reduceat(sims, starts, axis=1)
        window = best.copy()
        window[:, 1:] = np.maximum(window[:, 1:], best[:, :-1])
        window[:, :-1] = np.maximum(window[:, :-1], best[:, 1:])
        column = sims.max(axis=0)
        reverse, novel = np.zeros(n), np.zeros(n)
        reverse[full] = np.add.reduceat(column, starts) / counts[full]
        novel[full] = np.add.reduceat((column < NOVEL_BELOW).astype(np.float64), starts) / counts[full]
        return cls(best, window, sims.max(axis=1), reverse, novel, counts)

    def weighted(self, weights: np.ndarray) -> np.ndarray:
        return _weighted(self.best, weights)


def relative(matrix: np.ndarray) -> np.ndarray:
    """Each feature as it stands among the question's candidates: minus the best candidate's."""
    if not len(matrix):
        return matrix
    return matrix - matrix.max(axis=0, keepdims=True)


@dataclass(frozen=True, slots=True)
class Ranker:
    """A linear scorer over raw and per-question relative features (pairwise logistic fit)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray

    def scores(self, rows: list[Scored]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        matrix = np.vstack([r.features for r in rows])
        x = design(matrix)
        return ((x - self.mean) / self.scale) @ self.coef

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ranker:
        if tuple(data["features"]) != RANK_FEATURES:
            raise ValueError("the ranker was fitted on other features")
        return cls(tuple(data["features"]), np.array(data["mean"]), np.array(data["scale"]), np.array(data["coef"]))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
        }


def design(matrix: np.ndarray) -> np.ndarray:
    """The ranker's inputs: each feature raw and relative to the question's best candidate."""
    return np.hstack([matrix, relative(matrix)])


@lru_cache(maxsize=1)
def shipped_ranker() -> Ranker:
    """The ranker fitted by ``training/fit_models.py``, shipped in the package."""
    import json

    text = resources.files("briefqa").joinpath("models/ranker.json").read_text()
    return Ranker.from_json(json.loads(text))


def rank(rows: list[Scored], ranker: Ranker) -> list[Scored]:
    """``rows`` with their scores, best first."""
    scores = ranker.scores(rows)
    scored = [
        Scored(r.doc, r.sentence, r.start, r.end, r.chunk, float(s), r.features, r.matches, r.passage_matches)
        for r, s in zip(rows, scores.tolist(), strict=True)
    ]
    scored.sort(key=lambda s: -s.score)
    return scored


def distinct(scored: list[Scored], k: int) -> list[Scored]:
    """The best ``k`` whose spans do not overlap one already taken."""
    taken: list[Scored] = []
    for s in scored:
        if any(t.doc == s.doc and s.start < t.end and t.start < s.end for t in taken):
            continue
        taken.append(s)
        if len(taken) == k:
            break
    return taken
