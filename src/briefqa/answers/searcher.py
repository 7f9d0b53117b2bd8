"""One loaded index + the model -> answers. The only object the API, CLI and eval ask."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..embed import Embedder, Encoded
from ..errors import InputError
from ..index import store
from ..index.lexical import stopwords, term_set, terms
from ..index.stores import IndexStore, as_store
from ..records import Answer, ChunkSpan, Document, Quote, SourceInfo, SourceOutline, SourceStats
from .abstain import Abstainer, Evidence, features, shipped_abstainer
from .conversation import resolve
from .notices import notice_for
from .quotes import Query, Ranker, Scored, candidate_rows, distinct, rank, shipped_ranker
from .retrieve import Candidates, retrieve

MAX_QUESTION = 1000
MAX_HISTORY = 20
MAX_K = 20
CANDIDATE_CHUNKS = 8


# Format and control characters (zero-width space, BOM, NUL, direction marks...) and unpaired
# surrogates print nothing: a question made only of them, and white space, is empty.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def normalise_question(question: str) -> str:
    """``question`` with invisible characters dropped and each run of white space one space."""
    kept = (
        " " if ch.isspace() else ch
        for ch in question
        if ch.isspace() or unicodedata.category(ch) not in INVISIBLE_CATEGORIES
    )
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
class Judged:
    """A query's ranked sentences, the abstention signals of the best one and its probability."""

    candidates: Candidates
    scored: list[Scored]
    signals: np.ndarray | None
    probability: float


class Searcher:
    """Answers from exactly one index version; build a new one to serve a new version."""

    def __init__(
        self,
        index: store.IndexVersion,
        embedder: Embedder,
        ranker: Ranker | None = None,
        abstainer: Abstainer | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.ranker = ranker or shipped_ranker()
        self.abstainer = abstainer or shipped_abstainer()
        _one_blas_thread()
        self._stop_ids = _stopword_pieces(embedder.pieces())
        self._cached = lru_cache(maxsize=256)(self._search)

    @property
    def version(self) -> str:
        return self.index.version

    @property
    def model(self) -> str:
        """The model the index was built with (and that embeds the questions)."""
        return self.index.model

    def sources(self) -> tuple[SourceStats, ...]:
        """The sources of the served version, for ``/sources`` and ``/api/sources`` alike."""
        return self.index.sources()

    @cached_property
    def outlines(self) -> tuple[SourceOutline, ...]:
        """Every source with the headings its passages stand under, in order, each once (a heading
        that repeats the title left out): what the sources hold, for a page to offer as starting points."""
        headings: list[list[str]] = [[] for _ in self.index.documents]
        for chunk in self.index.chunks():
            heading, seen = " ".join(chunk.heading.split()), headings[chunk.doc]
            if heading and heading not in seen and heading != self.index.documents[chunk.doc].title:
                seen.append(heading)
        return tuple(SourceOutline(d.id, d.title, tuple(headings[i])) for i, d in enumerate(self.index.documents))

    def document(self, source_id: str) -> Document | None:
        """The source with id ``source_id``, None if the served version has none."""
        return self.index.document(source_id)

    def quote_at(self, source_id: str, start: int, end: int, rank: int) -> Quote | None:
        """``text[start:end]`` of a source as a quote (score 0), with its chunk as passage, if it
        starts and ends on the bounds of its sentences within one chunk; None otherwise."""
        chunk = self.index.chunk_of_quote(source_id, start, end)
        return None if chunk is None else self._quote_of(chunk, start, end, rank, 0.0)

    def notice(self, question: str, history: Sequence[str] = ()) -> str | None:
        """What a search of ``question`` would say about why it is not answered (None when it
        gives no reason); costs no search, for a page that redraws an earlier unanswered turn."""
        found = notice_for(normalise_question(question), history)
        return None if found is None else found.text

    def search(self, question: str, history: Sequence[str] = (), k: int = 5) -> Answer:
        """Quotes answering ``question`` (resolved against ``history``), best first, at most ``k``."""
        return self._cached(validate(question, history, k), tuple(history), k)

    def _search(self, question: str, history: tuple[str, ...], k: int) -> Answer:
        # Another language, nothing searchable ("?", "the", "Why?": any sentence would be as good
        # as any other), a follow-up with no thread: not answered, and the reply says why.
        notice = notice_for(question, history)
        if notice is not None and not notice.search:
            return Answer(query=question, answered=False, results=(), notice=notice.text)
        answer = self._answer_in_thread(question, history, k)
        return answer if notice is None else replace(answer, answered=False, notice=notice.text)

    def _answer_in_thread(self, question: str, history: tuple[str, ...], k: int) -> Answer:
        text = resolve(question, history)
        if text == question:
            return self.answer(self.query(question, text, self.embedder.encode_full([text]), 0), k)
        # A follow-up: the question's own word pieces (from the same forward pass) say what the
        # user typed, and the previous turn's first quote is not shown first again.
        encoded = self.embedder.encode_full([text, question])
        query = self.query(question, text, encoded, 0, typed=encoded.ids[1])
        return self.answer(query, k, shown=self._first_quote(history, k))

    def _first_quote(self, history: tuple[str, ...], k: int) -> tuple[int, int, int] | None:
        """(document, start, end) of the quote the previous turn answered with, if it answered."""
        # The previous turn as resolve() reads the thread: a blank entry is no turn (and searching
        # it would be an "empty question" error for a request that is valid).
        earlier = [h for h in history if normalise_question(h)]
        if not earlier:
            return None
        # Through the cache, not search(): the previous turn was answered a moment ago, and this is
        # no new search of it (the page's tests count the searches a request makes).
        before = tuple(earlier[:-1])
        previous = self._cached(validate(earlier[-1], before, k), before, k)
        if not previous.answered or not previous.results:
            return None
        top = previous.results[0]
        doc = self.index.document_number(top.source.id)
        return None if doc is None else (doc, top.start, top.end)

    def query(self, question: str, text: str, encoded: Encoded, row: int, typed: np.ndarray | None = None) -> Query:
        """Row ``row`` of an encode of searched texts, as the ranker reads it; ``typed`` is the word
        pieces of what the user typed, when the searched text adds the thread to it."""
        ids = encoded.ids[row]
        content = ~np.isin(ids, self._stop_ids) if len(ids) and len(self._stop_ids) else np.ones(len(ids), bool)
        if not content.any():
            content = np.ones(len(ids), bool)
        weights = self.index.piece_idf(ids) * content
        # Every piece counts in the plain mean, function words too (measured on SQuAD: without them
        # the ranker's sentence hit@1 falls 0.843 -> 0.835 out of fold).
        uniform = np.ones(len(ids))
        if text != question:
            own = np.isin(ids, typed) if typed is not None else np.zeros(len(ids), bool)
            weights, uniform = _focus(weights, own), _focus(uniform, own)
        query_terms = terms(text) + (terms(question) if text != question else [])
        return Query(
            text=text,
            question=question,
            vector=encoded.vectors[row],
            tokens=encoded.tokens[row],
            weights=weights,
            uniform=uniform,
            terms=tuple(query_terms),
        )

    def candidates(self, query: Query) -> tuple[Candidates, list[Scored]]:
        """The candidate passages and their sentences' evidence, not yet ranked."""
        cand = retrieve(self.index, query.vector, list(query.terms), n=CANDIDATE_CHUNKS)
        return cand, candidate_rows(self.index, cand, query)

    def judge(self, query: Query, shown: tuple[int, int, int] | None = None) -> Judged:
        """Rank the candidate sentences and weigh whether the best one answers; ``shown`` is the
        quote the previous turn answered with, which a follow-up does not put first again."""
        cand, rows = self.candidates(query)
        scored = rank(rows, self.ranker)
        if query.text != query.question:
            scored = self._about_followup(query, scored, shown)
        if not scored:
            return Judged(cand, scored, None, 0.0)
        signals = self.signals(query, cand, scored)
        return Judged(cand, scored, signals, self.abstainer.probability(signals))

    def _about_followup(self, query: Query, scored: list[Scored], shown: tuple[int, int, int] | None) -> list[Scored]:
        """A follow-up asks about what it names: quotes that say it come first, in ranked order.

        After "What share of satellites does the United States operate?", "And Japan?" is not
        answered by the United States sentence, however well it matches the rest of the thread.
        The quote the previous turn answered with (``shown``) is not put first again unless it
        says more of what the follow-up names than the next one: the user has read it, but it may
        be the only sentence that says what they now ask.
        """
        own = set(terms(query.question))
        texts = [self.index.documents[s.doc].text[s.start : s.end] for s in scored]
        said = [len(own & term_set(t)) for t in texts]
        order = sorted(range(len(scored)), key=lambda i: -said[i])  # stable: ranked order within
        repeated = len(order) > 1 and (scored[order[0]].doc, scored[order[0]].start, scored[order[0]].end) == shown
        if repeated and said[order[1]] >= said[order[0]]:
            order[0], order[1] = order[1], order[0]
        return [scored[i] for i in order]

    def signals(self, query: Query, cand: Candidates, scored: list[Scored]) -> np.ndarray:
        top = scored[0]
        evidence = Evidence(
            query=query,
            scored=scored,
            passage_text=self.index.passage_text(top.chunk),
            agree=cand.dense_top == cand.lexical_top and cand.dense_top >= 0,
            max_idf=self.index.max_piece_idf(),
        )
        return features(evidence, self.index.lexical)

    def answer(self, query: Query, k: int, shown: tuple[int, int, int] | None = None) -> Answer:
        """The answer for an embedded query (batch callers embed many queries at once)."""
        if not terms(query.question):
            # Only punctuation or stopwords ("?", "the", "Why?"): nothing to quote for, whatever
            # the thread; any sentence would be as good as any other.
            return Answer(query=query.question, answered=False, results=())
        judged = self.judge(query, shown)
        if not judged.scored:
            return Answer(query=query.text, answered=False, results=())
        picked = distinct(judged.scored, k)
        # A question none of whose words any source uses ("qwrtp", a script the corpus lacks)
        # asks about nothing the sources hold; the abstainer, fitted on questions made of their
        # articles' words, has never seen one and must not be asked to extrapolate.
        known = any(t in self.index.lexical.doc_freq for t in query.terms)
        return Answer(
            query=query.text,
            answered=known and self.abstainer.answers(judged.probability),
            results=tuple(
                self._quote_of(self.index.chunk(s.chunk), s.start, s.end, i + 1, s.score) for i, s in enumerate(picked)
            ),
            confidence=judged.probability,
        )

    def _quote_of(self, chunk: ChunkSpan, start: int, end: int, rank: int, score: float) -> Quote:
        """``text[start:end]`` of the chunk's source, with the chunk (widened to hold it) as passage."""
        doc = self.index.documents[chunk.doc]
        return Quote(
            rank=rank,
            score=round(float(score), 4),
            quote=doc.text[start:end],
            passage=doc.text[min(chunk.start, start) : max(chunk.end, end)],
            start=start,
            end=end,
            source=SourceInfo(id=doc.id, title=doc.title, origin=doc.origin, **_credit(doc.metadata)),
        )


def open_searcher(index: Path | IndexStore, embedder: Embedder, *, version: str | None = None) -> Searcher:
    """The searcher of the store ``index`` (a folder: the local store there): its live version (or
    ``version``), verified and checked against ``embedder``. The one way the CLI, the live server
    and the benchmarks get one.

    Raises ``IndexMissingError``, ``IndexDamagedError`` or ``IndexMismatchError`` saying what to
    run, and ``BackendError`` when the store (Qdrant) cannot be reached.
    """
    return Searcher(as_store(index).load(embedder.name, embedder.dimension, version=version), embedder)


@lru_cache(maxsize=1)
def _one_blas_thread() -> None:
    """A query's matrix products are small (a question's word pieces against a few hundred of the
    candidates'); OpenBLAS's threads only fight the encoder and the other requests for two cores.
    Measured under load: 103 searches took 7.3-8.0 s with numpy's default threads, 0.6 s with one."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def _focus(weights: np.ndarray, own: np.ndarray) -> np.ndarray:
    """A follow-up's own words weigh as much as all the thread's words they were added to.

    "And Japan?", searched as the previous question about Japan, must find what the sources say
    of Japan, not the previous answer again, which matches every other word of the thread.
    """
    if not own.any() or own.all():
        return weights
    mine, theirs = float(weights[own].sum()), float(weights[~own].sum())
    return np.where(own, weights * (theirs / mine), weights) if mine > 0 else weights


def _stopword_pieces(pieces: list[str]) -> np.ndarray:
    """Ids of the word pieces that are whole stopwords: a question's "how" or "does" is no topic."""
    stop = stopwords()
    return np.array([i for i, piece in enumerate(pieces) if piece in stop], dtype=np.int32)


def _credit(metadata: dict[str, Any]) -> dict[str, Any]:
    """A source's authors and date from its metadata, for its citation.

    Readers store ``authors`` as a list of names (front matter may give one name as text) and
    ``date`` as text, ISO where it can be; anything else is no credit rather than a wrong one.
    """
    authors = metadata.get("authors")
    names = [authors] if isinstance(authors, str) else authors if isinstance(authors, list) else []
    date = metadata.get("date")
    return {
        "authors": tuple(" ".join(n.split()) for n in names if isinstance(n, str) and n.strip()),
        "date": (" ".join(date.split()) or None) if isinstance(date, str) else None,
    }
