"""One loaded index + the model -> answers. The only object the API, CLI and eval ask."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..embed import Embedder, Encoded
from ..index.backends.choose import as_store
from ..index.backends.interface import IndexStore
from ..index.loaded_version import IndexVersion
from ..reader import Reading
from ..records import Answer, AnswerSpan, ChunkSpan, Document, Quote, SourceInfo, SourceOutline, SourceStats
from ..sources.segment import passage_text
from ..terms import stopwords, terms
from .abstain import Abstainer, Evidence, features, shipped_abstainer
from .conversation import MAX_DEPTH, asks_for_more, asks_reason, resolve
from .decide import joint_probability
from .followups import QuoteKey, fresh_first, previous_turn
from .notices import NOTHING_MORE, notice_for
from .questions import normalise_question, validate
from .quotes import Query, Ranker, Scored, candidate_rows, distinct, rank, shipped_ranker
from .read import ReadStage, read, shipped_stage
from .retrieve import Candidates, retrieve
from .revisions import revision_of

# How many earlier questions a follow-up is read against (what of a thread an answer depends on).
THREAD_DEPTH = MAX_DEPTH
CANDIDATE_CHUNKS = 8


@dataclass(frozen=True, slots=True)
class Judged:
    """A query's ranked sentences, the abstention signals of the best one and its probability."""

    candidates: Candidates
    scored: list[Scored]
    signals: np.ndarray | None
    probability: float
    # What the reader said of each sentence it read, by (document, start, end).
    readings: dict[QuoteKey, Reading] = field(default_factory=dict)
    # Whether ``probability`` is the decision's (the abstainer's and the reader's joined), whose
    # own threshold applies, rather than the abstainer's alone.
    decided: bool = False


class Searcher:
    """Answers from exactly one index version; build a new one to serve a new version."""

    def __init__(
        self,
        index: IndexVersion,
        embedder: Embedder,
        ranker: Ranker | None = None,
        abstainer: Abstainer | None = None,
        reading: ReadStage | Literal["shipped"] | None = "shipped",
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.ranker = ranker or shipped_ranker()
        self.abstainer = abstainer or shipped_abstainer()
        # The reader's file is kept in the model's ONNX cache (BRIEFQA_ONNX_CACHE, as the embedder
        # was loaded with); None reads nothing, as before the reader (the signals' fingerprint).
        self.reading = shipped_stage(getattr(embedder, "onnx_cache", None)) if reading == "shipped" else reading
        _one_blas_thread()
        self._stop_ids = _stopword_pieces(embedder.pieces())
        self._cached = lru_cache(maxsize=256)(self._search)
        self._revisions: dict[int, str] = {}

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

    def stale_reason(self, source_id: str) -> str | None:
        """Why the source's file no longer parses, when its last good version is served; else None."""
        return self.index.stale_reason(source_id)

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

    def revision(self, source_id: str) -> str | None:
        """The revision of the served text of source ``source_id`` (None if there is none)."""
        number = self.index.document_number(source_id)
        return None if number is None else self._revision(number)

    def _revision(self, number: int) -> str:
        found = self._revisions.get(number)
        if found is None:
            # Hashed once per source and version: a text does not change within a version.
            found = self._revisions[number] = revision_of(self.index.documents[number].text)
        return found

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
        query = self.query(question, text, self.embedder.encode_full([text]), 0)
        more = asks_for_more(question)
        if text == question or not (more or asks_reason(question)):
            return self.answer(query, k)
        # "What else ...?": the quotes the thread answered with are not shown first again, and
        # where the best one not yet shown does not answer, the reply says so plainly.
        shown = self._shown(history, k)
        answer = self.answer(query, k, shown=shown)
        return replace(answer, notice=NOTHING_MORE) if more and shown and not answer.answered else answer

    def _shown(self, history: tuple[str, ...], k: int) -> tuple[QuoteKey, ...]:
        """(document, start, end) of the first quote the previous turn answered with, if it
        answered, and of those of the "What else ...?" turns before it."""
        keys: list[QuoteKey] = []
        while (turn := previous_turn(history)) is not None and len(keys) <= THREAD_DEPTH:
            # Through the cache, not search(): the previous turn was answered a moment ago, and
            # this is no new search of it (the page's tests count the searches a request makes).
            # Its own thread is cut to what resolve() reads (THREAD_DEPTH questions): each earlier
            # follow-up would otherwise search the one before it, 20 searches for one request of
            # 20 follow-ups. The cut bounds that to THREAD_DEPTH + 1; what it can change is only
            # which quote a follow-up four turns back did not repeat.
            question, before = turn
            history = before[-THREAD_DEPTH:]
            previous = self._cached(validate(question, history, k), history, k)
            if previous.answered and previous.results:
                top = previous.results[0]
                doc = self.index.document_number(top.source.id)
                if doc is not None:
                    keys.append((doc, top.start, top.end))
            if not asks_for_more(question):
                break
        return tuple(keys)

    def query(self, question: str, text: str, encoded: Encoded, row: int) -> Query:
        """Row ``row`` of an encode of searched texts, as the ranker reads it (``text``: the
        question as searched, resolved against its thread)."""
        ids = encoded.ids[row]
        content = ~np.isin(ids, self._stop_ids) if len(ids) and len(self._stop_ids) else np.ones(len(ids), bool)
        if not content.any():
            content = np.ones(len(ids), bool)
        weights = self.index.piece_idf(ids) * content
        # Every piece counts in the plain mean, function words too (measured on SQuAD: without them
        # the ranker's sentence hit@1 falls 0.843 -> 0.835 out of fold).
        uniform = np.ones(len(ids))
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

    def judge(self, query: Query, shown: tuple[QuoteKey, ...] = ()) -> Judged:
        """Rank the candidate sentences and weigh whether the best one answers; ``shown`` is the
        quotes the thread answered with, which "What else ...?" does not put first again."""
        cand, rows = self.candidates(query)
        scored = fresh_first(rank(rows, self.ranker), shown)
        if not scored:
            return Judged(cand, scored, None, 0.0)
        # The abstainer weighs the ranker's best, as it was fitted to; the reader then reorders
        # the first candidates and the decision joins both (training/fit_reader.py).
        signals = self.signals(query, cand, scored)
        probability = self.abstainer.probability(signals)
        # The reader was fitted on standalone questions; a follow-up searched together with its
        # thread is another input (measured on the 73 SQuAD threads: hit@1 0.672 without the
        # reader, 0.607 with it), so its candidates keep the ranker's order.
        if self.reading is None or query.text != query.question:
            return Judged(cand, scored, signals, probability)
        texts = [self.index.documents[s.doc].text[s.start : s.end] for s in scored[: self.reading.decision.read]]
        done = read(self.reading, query.text, scored, texts)
        scored = fresh_first(done.scored, shown)
        readings = {
            (s.doc, s.start, s.end): r for s, r in zip(done.scored, done.readings, strict=True) if r is not None
        }
        best = readings.get((scored[0].doc, scored[0].start, scored[0].end))
        if best is None:
            return Judged(cand, scored, signals, probability, readings)
        joint = joint_probability(self.reading.decision, probability, best.answer)
        return Judged(cand, scored, signals, joint, readings, decided=True)

    def answers(self, judged: Judged) -> bool:
        """Whether a judged question is answered: its probability against the decision's
        threshold when the reader took part, else the abstainer's."""
        if judged.decided and self.reading is not None:
            return judged.probability >= self.reading.decision.threshold
        return self.abstainer.answers(judged.probability)

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

    def answer(self, query: Query, k: int, shown: tuple[QuoteKey, ...] = ()) -> Answer:
        """The answer for an embedded query (batch callers embed many queries at once)."""
        if not terms(query.text):
            # Only punctuation or stopwords ("?", "the", a "Why?" with no thread): nothing to quote
            # for; any sentence would be as good as any other.
            return Answer(query=query.question, answered=False, results=())
        judged = self.judge(query, shown)
        if not judged.scored:
            return Answer(query=query.text, answered=False, results=())
        picked = distinct(judged.scored, k)
        # A question none of whose words any source uses ("qwrtp", a script the corpus lacks)
        # asks about nothing the sources hold; the abstainer, fitted on questions made of their
        # articles' words, has never seen one and must not be asked to extrapolate.
        known = any(t in self.index.lexical.doc_freq for t in query.terms)
        answered = known and self.answers(judged)
        results = []
        for i, s in enumerate(picked):
            quote = self._quote_of(self.index.chunk(s.chunk), s.start, s.end, i + 1, s.score)
            reading = judged.readings.get((s.doc, s.start, s.end)) if answered else None
            results.append(self._marked(quote, reading))
        return Answer(query=query.text, answered=answered, results=tuple(results), confidence=judged.probability)

    def _marked(self, quote: Quote, reading: Reading | None) -> Quote:
        """``quote`` with the reader's answer span marked, when it read the quote and prefers a
        span to none by the fitted margin; the quote unchanged otherwise."""
        if reading is None or self.reading is None or reading.span_margin <= self.reading.decision.span_margin:
            return quote
        start, end = quote.start + reading.span[0], quote.start + reading.span[1]
        if not quote.start <= start < end <= quote.end:
            return quote
        text = quote.quote[start - quote.start : end - quote.start]
        return replace(quote, answer=AnswerSpan(start, end, text)) if text.strip() else quote

    def _quote_of(self, chunk: ChunkSpan, start: int, end: int, rank: int, score: float) -> Quote:
        """``text[start:end]`` of the chunk's source, with the chunk (widened to hold it) as passage."""
        doc = self.index.documents[chunk.doc]
        return Quote(
            rank=rank,
            score=round(float(score), 4),
            quote=doc.text[start:end],
            passage=passage_text(doc.text, min(chunk.start, start), max(chunk.end, end), (start, end)),
            start=start,
            end=end,
            source=SourceInfo(
                id=doc.id, title=doc.title, origin=doc.origin, rev=self._revision(chunk.doc), **_credit(doc.metadata)
            ),
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
