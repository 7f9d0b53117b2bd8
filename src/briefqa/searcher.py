"""One loaded index + the model -> answers. The only object the API, CLI and eval ask."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from .abstain import Abstainer, features
from .conversation import resolve
from .embed import Embedder
from .errors import InputError
from .lexical import terms
from .quotes import Scored, distinct, score_sentences
from .records import Answer, Quote, SourceInfo
from .retrieve import Candidates, retrieve
from .store import IndexData

MAX_QUESTION = 1000
MAX_HISTORY = 20
MAX_K = 20
CANDIDATE_CHUNKS = 8


def validate(question: str, history: Sequence[str], k: int) -> None:
    """Raise ``InputError`` with the reason when a request breaks the contract's limits."""
    if not question or not question.strip():
        raise InputError("question must not be empty")
    if len(question) > MAX_QUESTION:
        raise InputError(f"question is {len(question)} characters; at most {MAX_QUESTION}")
    if not 1 <= k <= MAX_K:
        raise InputError(f"k must be between 1 and {MAX_K}, not {k}")
    if len(history) > MAX_HISTORY:
        raise InputError(f"history holds {len(history)} questions; at most {MAX_HISTORY}")
    for item in history:
        if len(item) > MAX_QUESTION:
            raise InputError(f"a history question is {len(item)} characters; at most {MAX_QUESTION}")


class Searcher:
    """Answers from exactly one index version; build a new one to serve a new version."""

    def __init__(self, data: IndexData, embedder: Embedder) -> None:
        self.data = data
        self.embedder = embedder
        self.abstainer = Abstainer.from_json(data.abstain) if data.abstain else None
        self._cached = lru_cache(maxsize=256)(self._search)

    @property
    def version(self) -> str:
        return self.data.version

    def search(self, question: str, history: Sequence[str] = (), k: int = 5) -> Answer:
        """Quotes answering ``question`` (resolved against ``history``), best first, at most ``k``."""
        validate(question, history, k)
        return self._cached(question.strip(), tuple(history), k)

    def _search(self, question: str, history: tuple[str, ...], k: int) -> Answer:
        query = resolve(question, history)
        vector = self.embedder.encode([query])[0]
        return self.answer_for(question, query, vector, k)

    def answer_for(self, question: str, query: str, vector: np.ndarray, k: int) -> Answer:
        """The answer for an already embedded query (batch callers embed many at once)."""
        # The follow-up's own words weigh twice: they say what is new in the question.
        query_terms = terms(query) + (terms(question) if query != question else [])
        cand, scored = self.scored(query_terms, vector)
        if not scored:
            return Answer(query=query, answered=False, results=())
        picked = distinct(scored, k)
        answered = self.abstainer is None or self.abstainer.answers(
            self.signals(query, query_terms, cand, scored)
        )
        return Answer(query=query, answered=answered, results=tuple(self._quote(s, i) for i, s in enumerate(picked)))

    def scored(self, query_terms: list[str], vector: np.ndarray) -> tuple[Candidates, list[Scored]]:
        """The candidate passages and their sentences, scored, best first."""
        cand = retrieve(self.data, vector, query_terms, n=CANDIDATE_CHUNKS)
        return cand, score_sentences(self.data, cand, vector, query_terms)

    def signals(self, query: str, query_terms: list[str], cand: Candidates, scored: list[Scored]) -> np.ndarray:
        """The abstention features of the best quote."""
        top = scored[0]
        doc = self.data.documents[top.doc]
        cid = top.chunk
        passage = self.data.chunk_heading[cid] + "\n" + doc.text[self.data.chunk_start[cid]:self.data.chunk_end[cid]]
        return features(query, query_terms, scored, cand, self.data.lexical,
                        doc.text[top.start:top.end], set(terms(passage)))

    def _quote(self, s: Scored, i: int) -> Quote:
        doc = self.data.documents[s.doc]
        cid = s.chunk
        passage_start = min(int(self.data.chunk_start[cid]), s.start)
        passage_end = max(int(self.data.chunk_end[cid]), s.end)
        return Quote(
            rank=i + 1,
            score=round(float(s.score), 4),
            quote=doc.text[s.start : s.end],
            passage=doc.text[passage_start:passage_end],
            start=s.start,
            end=s.end,
            source=SourceInfo(id=doc.id, title=doc.title, origin=doc.origin),
        )
