"""One loaded index + the model -> answers. The only object the API, CLI and eval ask."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .abstain import FEATURES, Abstainer, Evidence, features
from .conversation import resolve
from .embed import Embedder
from .errors import IndexMismatchError, InputError
from .lexical import stopwords, term_set, terms, words
from .quotes import Scored, distinct, score_sentences
from .records import Answer, Quote, SourceInfo
from .retrieve import Candidates, retrieve
from .store import IndexData

MAX_QUESTION = 1000
MAX_HISTORY = 20
MAX_K = 20
CANDIDATE_CHUNKS = 8
MAX_ABLATIONS = 4
UNCALIBRATED_MIN_SIMILARITY = 0.6


# Format and control characters (zero-width space, BOM, NUL, direction marks...) and unpaired
# surrogates print nothing: a question made only of them, and white space, is empty.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def normalise_question(question: str) -> str:
    """``question`` with invisible characters dropped and each run of white space one space."""
    kept = (" " if ch.isspace() else ch for ch in question
            if ch.isspace() or unicodedata.category(ch) not in INVISIBLE_CATEGORIES)
    return " ".join("".join(kept).split())


def validate(question: str, history: Sequence[str], k: int) -> str:
    """The normalised question; ``InputError`` with the reason when a request breaks the contract's limits."""
    normalised = normalise_question(question)
    if not normalised:
        raise InputError("question must not be empty")
    if len(question) > MAX_QUESTION:
        raise InputError(f"question is {len(question)} characters; at most {MAX_QUESTION}")
    if not 1 <= k <= MAX_K:
        raise InputError(f"k must be between 1 and {MAX_K}, not {k}")
    if len(history) > MAX_HISTORY:
        raise InputError(f"history holds {len(history)} questions; at most {MAX_HISTORY}")
    for item in history:
        if not isinstance(item, str):
            raise InputError("history must be a list of strings")
        if len(item) > MAX_QUESTION:
            raise InputError(f"a history question is {len(item)} characters; at most {MAX_QUESTION}")
    return normalised


@dataclass(frozen=True, slots=True)
class Plan:
    """What a query needs embedded: itself, then itself without each word the corpus lacks."""

    query: str
    texts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Judged:
    """A query's scored sentences and the abstention signals of the best one."""

    candidates: Candidates
    scored: list[Scored]
    signals: np.ndarray | None


class Searcher:
    """Answers from exactly one index version; build a new one to serve a new version."""

    def __init__(self, data: IndexData, embedder: Embedder) -> None:
        self.data = data
        self.embedder = embedder
        self.abstainer = Abstainer.from_json(data.abstain) if data.abstain else None
        if data.abstain and self.abstainer is None:
            # Answering without the abstainer would quote loosely related sentences as answers.
            raise IndexMismatchError(
                f"index version {data.version} was calibrated with other abstention signals; "
                "run `briefqa index --full` to rebuild it"
            )
        self._cached = lru_cache(maxsize=256)(self._search)

    @property
    def version(self) -> str:
        return self.data.version

    def search(self, question: str, history: Sequence[str] = (), k: int = 5) -> Answer:
        """Quotes answering ``question`` (resolved against ``history``), best first, at most ``k``."""
        validate(question, history, k)
        return self._cached(question.strip(), tuple(history), k)

    def _search(self, question: str, history: tuple[str, ...], k: int) -> Answer:
        plan = self.plan(resolve(question, history))
        # One batched pass for the question and its ablations: on a CPU it costs far less than
        # a second pass would (measured: deciding first, then embedding, was slower overall).
        return self.answer(question, plan, self.embedder.encode(list(plan.texts)), k)

    def plan(self, query: str) -> Plan:
        """The texts to embed for ``query``: it, and it without each word the corpus never uses.

        How much the match to a quote depends on such a word tells a paraphrase ("mutual" for
        "reciprocal") from a question about something the sources lack ("GDP of Japan").
        """
        known = self.data.lexical.doc_freq
        absent: list[str] = []
        for word in dict.fromkeys(words(query)):
            stems = terms(word)
            # A number cannot be a paraphrase of what a quote says, so removing it tells nothing.
            if (word not in stopwords() and not word.isdigit() and stems and stems[0] not in known
                    and len(absent) < MAX_ABLATIONS):
                absent.append(word)
        ablated = [re.sub(rf"(?i)(?<!\w){re.escape(w)}(?!\w)", "", query) for w in absent]
        return Plan(query=query, texts=(query, *(" ".join(a.split()) for a in ablated)))

    def judge(self, question: str, plan: Plan, vectors: np.ndarray) -> Judged:
        """Score the sentences for an embedded plan and compute the abstention signals."""
        query_terms = terms(plan.query) + (terms(question) if plan.query != question else [])
        cand = retrieve(self.data, vectors[0], query_terms, n=CANDIDATE_CHUNKS)
        scored = score_sentences(self.data, cand, vectors[0], query_terms)
        if not scored:
            return Judged(cand, scored, None)
        top = scored[0]
        doc = self.data.documents[top.doc]
        sentence_vector = np.asarray(self.data.sentence_vectors[top.sentence], dtype=np.float32)
        evidence = Evidence(
            question=plan.query,
            query_terms=query_terms,
            quote_text=doc.text[top.start : top.end],
            passage_terms=term_set(self.data.passage_text(top.chunk)),
            ablation_drops=[float(vectors[0] @ sentence_vector - v @ sentence_vector) for v in vectors[1:]],
        )
        return Judged(cand, scored, features(evidence, scored, cand, self.data.lexical))

    def answer(self, question: str, plan: Plan, vectors: np.ndarray, k: int) -> Answer:
        """The answer for a fully embedded plan (batch callers embed many plans at once)."""
        judged = self.judge(question, plan, vectors)
        if not judged.scored:
            return Answer(query=plan.query, answered=False, results=())
        answered = judged.signals is not None and self._answers(judged.signals)
        picked = distinct(judged.scored, k)
        return Answer(query=plan.query, answered=answered,
                      results=tuple(self._quote(s, i) for i, s in enumerate(picked)))

    def _answers(self, signals: np.ndarray) -> bool:
        if self.abstainer is not None:
            return self.abstainer.answers(signals)
        # No model: the corpus was too small to generate both kinds of probe. Answer only a
        # close match that holds the kind of answer asked for.
        named = dict(zip(FEATURES, signals.tolist(), strict=True))
        return named["sentence_sim"] >= UNCALIBRATED_MIN_SIMILARITY and named["type_missing"] == 0.0

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
