"""Candidate passages -> quotes: score their sentences against the question, pick whole ones."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .lexical import term_set
from .retrieve import Candidates
from .store import IndexData

# Weights of the sentence score: the sentence's own meaning dominates; its passage and the
# question's terms it repeats break ties between similar sentences.
W_SENTENCE, W_PASSAGE, W_TERMS = 0.6, 0.15, 0.25


@dataclass(frozen=True, slots=True)
class Scored:
    """A quotable span with the evidence behind its score."""

    doc: int
    sentence: int  # the scored sentence (the span may add the one before it)
    start: int
    end: int
    chunk: int
    score: float
    sentence_sim: float
    passage_sim: float
    term_cover: float  # share of the question's term weight in the quote
    passage_cover: float  # ... in the passage and its heading
    fused_rank: int


def score_sentences(data: IndexData, cand: Candidates, query_vector: np.ndarray,
                    query_terms: list[str]) -> list[Scored]:
    """Every sentence of the candidate chunks, scored, best first (back-references widened)."""
    # Words the corpus never uses cannot tell its sentences apart; they would only shrink every
    # sentence's coverage alike (abstention weighs them separately). A term repeated in the
    # query (a follow-up's own words) weighs as often as it appears.
    counts = Counter(t for t in query_terms if t in data.lexical.doc_freq)
    weights = {t: data.lexical.idf(t) * n for t, n in counts.items()}
    qweight = sum(weights.values()) or 1.0
    out: list[Scored] = []
    for rank, (cid, csim) in enumerate(zip(cand.chunks.tolist(), cand.dense.tolist(), strict=True)):
        first, last = int(data.chunk_first[cid]), int(data.chunk_last[cid])
        doc = data.documents[int(data.chunk_doc[cid])]
        passage_terms = term_set(data.passage_text(cid))
        pcover = sum(w for t, w in weights.items() if t in passage_terms) / qweight
        svecs = np.asarray(data.sentence_vectors[first : last + 1], dtype=np.float32)
        ssims = svecs @ query_vector.reshape(-1)
        for offset, ssim in enumerate(ssims.tolist()):
            sid = first + offset
            start, end = int(data.sent_quote_start[sid]), int(data.sent_end[sid])
            quote_terms = term_set(doc.text[start:end])
            cover = sum(w for t, w in weights.items() if t in quote_terms) / qweight
            score = W_SENTENCE * ssim + W_PASSAGE * csim + W_TERMS * cover
            out.append(Scored(int(data.chunk_doc[cid]), sid, start, end, cid, score, ssim, csim, cover,
                              pcover, rank))
    out.sort(key=lambda s: -s.score)
    return out


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
