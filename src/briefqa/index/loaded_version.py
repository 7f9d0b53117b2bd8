"""One loaded index version behind a read-only façade: records and arrays out, its own arrays kept inside.

Everything outside the store asks an ``IndexVersion`` (a chunk's span, a run of sentences' quote
spans, the vectors of given rows, the dense ranking, the source summaries); nothing else reads its
arrays. Methods answer per chunk or per run of sentences, never per sentence, so a query pays no
Python call per sentence. Each backend reads its versions into one of these, and checks it
against its manifest with ``check_shapes``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from ..records import Chunk, ChunkSpan, Document, Sentence, SentenceSpans, SourceStats
from .lexical import LexicalIndex
from .manifest import Manifest
from .segments.pieces import PieceRarity
from .vector_search import Candidates, SentenceRows, VersionVectors

# Per sentence (global numbering) and per chunk, the span arrays assembled from the segments.
SENTENCE_ARRAYS = ("sent_doc", "sent_start", "sent_end", "sent_chunk", "sent_quote_start")
CHUNK_ARRAYS = ("chunk_doc", "chunk_start", "chunk_end", "chunk_first", "chunk_last")


def with_heading(heading: str, body: str) -> str:
    """A passage as it is embedded and searched: its heading as context, then its text."""
    return f"{heading}\n{body}" if heading else body


class IndexVersion:
    """One index version, read-only once loaded; a searcher answers from exactly one.

    Its texts, spans and statistics are in memory whichever store holds the version; what it
    searches with (``vectors``) is the store's: faiss and the segments, or Qdrant's collections.
    """

    __slots__ = (
        "_doc_index",
        "_headings",
        "_rarity",
        "_sentence_bounds",
        "_spans",
        "_vectors",
        "documents",
        "lexical",
        "manifest",
        "version",
    )

    version: str
    manifest: Manifest
    documents: tuple[Document, ...]
    lexical: LexicalIndex
    _spans: dict[str, np.ndarray]
    _headings: tuple[str, ...]
    _vectors: VersionVectors
    _rarity: PieceRarity
    _doc_index: dict[str, int]
    _sentence_bounds: np.ndarray | None

    def __init__(
        self,
        version: str,
        manifest: Manifest,
        documents: Sequence[Document],
        spans: Mapping[str, np.ndarray],
        headings: Sequence[str],
        vectors: VersionVectors,
        lexical: LexicalIndex,
        rarity: PieceRarity,
    ) -> None:
        arrays = {name: spans[name] for name in (*SENTENCE_ARRAYS, *CHUNK_ARRAYS)}
        for array in arrays.values():
            array.flags.writeable = False
        set_ = object.__setattr__
        set_(self, "version", version)
        set_(self, "manifest", manifest)
        set_(self, "documents", tuple(documents))
        set_(self, "lexical", lexical)
        set_(self, "_spans", arrays)
        set_(self, "_headings", tuple(headings))
        set_(self, "_vectors", vectors)
        set_(self, "_rarity", rarity)
        set_(self, "_doc_index", {d.id: i for i, d in enumerate(self.documents)})
        set_(self, "_sentence_bounds", _sentence_bounds(arrays, len(self.documents)))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"an IndexVersion is read-only ({name!r})")

    # ---- counts and shapes ------------------------------------------------------------------------

    @property
    def model(self) -> str:
        return self.manifest.model

    @property
    def chunk_count(self) -> int:
        return len(self._headings)

    @property
    def sentence_count(self) -> int:
        return len(self._spans["sent_start"])

    @property
    def dense_kind(self) -> str:
        """What answers dense search (faiss's ``IndexFlatIP`` or ``IndexHNSWFlat``, or ``qdrant``)."""
        return str(getattr(self._vectors, "dense_kind", type(self._vectors).__name__))

    def shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """Each stored part's name and shape, for checking against the manifest's counts."""
        out: list[tuple[str, tuple[int, ...]]] = [
            ("segments", (len(self.documents),)),
            ("segments' headings", (len(self._headings),)),
            *self._vectors.shapes(),
        ]
        out += [(f"spans {n}", tuple(self._spans[n].shape)) for n in (*SENTENCE_ARRAYS, *CHUNK_ARRAYS)]
        return out

    # ---- documents and chunks ---------------------------------------------------------------------

    def document(self, doc_id: str) -> Document | None:
        """The source with id ``doc_id``, None if this version has none."""
        i = self._doc_index.get(doc_id)
        return None if i is None else self.documents[i]

    def document_number(self, doc_id: str) -> int | None:
        return self._doc_index.get(doc_id)

    def chunk(self, number: int) -> ChunkSpan:
        """Chunk ``number``'s document, span, sentences and heading."""
        s = self._spans
        return ChunkSpan(
            number,
            int(s["chunk_doc"][number]),
            int(s["chunk_start"][number]),
            int(s["chunk_end"][number]),
            int(s["chunk_first"][number]),
            int(s["chunk_last"][number]),
            self._headings[number],
        )

    def chunks(self) -> list[ChunkSpan]:
        """Every chunk, in index order."""
        s = self._spans
        columns = zip(
            s["chunk_doc"].tolist(),
            s["chunk_start"].tolist(),
            s["chunk_end"].tolist(),
            s["chunk_first"].tolist(),
            s["chunk_last"].tolist(),
            self._headings,
            strict=True,
        )
        return [ChunkSpan(i, *row) for i, row in enumerate(columns)]

    def passage_text(self, chunk: int | ChunkSpan) -> str:
        """A chunk with its heading, as it was embedded and indexed."""
        span = chunk if isinstance(chunk, ChunkSpan) else self.chunk(chunk)
        return with_heading(span.heading, self.documents[span.doc].text[span.start : span.end])

    def sentence_spans(self, first: int, last: int) -> SentenceSpans:
        """Sentences ``first..last`` (inclusive): their spans and where each one's quote starts."""
        s, rows = self._spans, slice(first, last + 1)
        return SentenceSpans(
            first,
            tuple(s["sent_start"][rows].tolist()),
            tuple(s["sent_end"][rows].tolist()),
            tuple(s["sent_quote_start"][rows].tolist()),
        )

    def chunk_of_quote(self, doc_id: str, start: int, end: int) -> ChunkSpan | None:
        """The chunk of a quote ``text[start:end]`` that starts and ends on its sentences' bounds
        within one chunk (``quote_spans`` never joins sentences across chunks); None otherwise."""
        di = self._doc_index.get(doc_id)
        if di is None:
            return None
        s = self._spans
        bounds = self._sentence_bounds
        if bounds is not None:
            return self._chunk_of_quote_in(int(bounds[di]), int(bounds[di + 1]), start, end)
        in_doc = s["sent_doc"] == di
        first = np.flatnonzero(in_doc & ((s["sent_start"] == start) | (s["sent_quote_start"] == start)))
        last = np.flatnonzero(in_doc & (s["sent_end"] == end))
        if not len(first) or not len(last) or first[0] > last[0]:
            return None
        chunk = int(s["sent_chunk"][last[0]])
        if int(s["sent_chunk"][first[0]]) != chunk:
            return None
        return self.chunk(chunk)

    def stale_reason(self, source_id: str) -> str | None:
        """Why the source's file failed to parse, when its last good version is what this version
        holds (``SourceRecord.problem``); None when it holds the file as it is."""
        record = self.manifest.sources.get(source_id)
        return None if record is None else record.problem

    def _chunk_of_quote_in(self, lo: int, hi: int, start: int, end: int) -> ChunkSpan | None:
        """``chunk_of_quote`` within sentences ``lo..hi`` (one source's, each array in order):
        found by binary search, so a page of 20 carried quotes costs no scan of every sentence."""
        s = self._spans
        found = []
        for name in ("sent_start", "sent_quote_start"):
            column = s[name][lo:hi]
            at = int(np.searchsorted(column, start))
            if at < len(column) and int(column[at]) == start:
                found.append(lo + at)
        ends = s["sent_end"][lo:hi]
        last = int(np.searchsorted(ends, end))
        if not found or last >= len(ends) or int(ends[last]) != end or min(found) > lo + last:
            return None
        chunk = int(s["sent_chunk"][lo + last])
        return None if int(s["sent_chunk"][min(found)]) != chunk else self.chunk(chunk)

    def sources(self) -> tuple[SourceStats, ...]:
        """Every source with its length and number of chunks, in index order."""
        chunks = np.bincount(self._spans["chunk_doc"], minlength=len(self.documents)).tolist()
        out = []
        for i, d in enumerate(self.documents):
            problem = self.stale_reason(d.id)
            stats = SourceStats(d.id, d.title, d.origin, len(d.text), int(chunks[i]))
            out.append(dataclasses.replace(stats, state="stale", problem=problem) if problem else stats)
        return tuple(out)

    # ---- vectors and rankings ---------------------------------------------------------------------

    def candidates(self, query_vector: np.ndarray, query_terms: Sequence[str], n: int) -> Candidates:
        """The best ``n`` chunks for a question, its dense and BM25 rankings fused by reciprocal rank."""
        if self.chunk_count == 0:
            return Candidates.none()
        return self._vectors.candidates(query_vector, query_terms, n)

    def sentence_rows(
        self, spans: Sequence[tuple[int, int]], tokens: np.ndarray, weightings: Sequence[np.ndarray] = ()
    ) -> list[SentenceRows]:
        """Per run of sentences ``(first, last)`` (inclusive): their word pieces and unit vectors,
        fetched together (one request to a vector database for all of a question's candidates),
        and MaxSim of the question's word pieces ``tokens`` under each of ``weightings`` where the
        store computes it (``SentenceRows.maxsim``)."""
        return self._vectors.sentence_rows(spans, tokens, weightings)

    def chunk_vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Unit vectors of chunks ``rows`` (all of them when None), float32, read-only."""
        return self._vectors.chunk_vectors(rows)

    def sentence_vectors(self, first: int = 0, last: int | None = None) -> np.ndarray:
        """Unit vectors of sentences ``first..last`` (inclusive; to the end when None), float32."""
        return self._vectors.sentence_vectors(first, last)

    def piece_idf(self, ids: np.ndarray) -> np.ndarray:
        """Each word piece's rarity across the version's sentences."""
        return self._rarity.idf(ids)

    def max_piece_idf(self) -> float:
        return self._rarity.max_idf()

    def close(self) -> None:
        """Release what the version holds open."""
        self._vectors.close()


def _sentence_bounds(spans: Mapping[str, np.ndarray], documents: int) -> np.ndarray | None:
    """Where each source's sentences start and end (``documents + 1`` bounds) when the sentences
    run in source order with each span column in order within a source, as ``span_arrays`` writes
    them; None otherwise (then quotes are looked up by a scan)."""
    owner = spans["sent_doc"]
    if len(owner) and (np.any(np.diff(owner) < 0) or owner[0] < 0 or owner[-1] >= documents):
        return None
    same = np.diff(owner) == 0
    for name in ("sent_start", "sent_end", "sent_quote_start"):
        if np.any((np.diff(spans[name]) < 0) & same):
            return None
    return np.searchsorted(owner, np.arange(documents + 1)).astype(np.int64)


def span_arrays(parts: Sequence[tuple[Sequence[Sentence], Sequence[Chunk], np.ndarray]]) -> dict[str, np.ndarray]:
    """The global span arrays of ``IndexVersion`` from each source's (sentences, chunks, quote
    starts), in document order: sentences and chunks numbered across sources."""
    sent: list[np.ndarray] = []
    chunk: list[np.ndarray] = []
    base_sent = base_chunk = 0
    for d, (sentences, chunks, quote_starts) in enumerate(parts):
        n = len(sentences)
        owner = np.zeros(n, dtype=np.int64)
        rows = []
        for c_i, c in enumerate(chunks):
            owner[c.first_sentence : c.last_sentence + 1] = base_chunk + c_i
            rows.append((d, c.start, c.end, base_sent + c.first_sentence, base_sent + c.last_sentence))
        starts = np.array([x.start for x in sentences], dtype=np.int64)
        ends = np.array([x.end for x in sentences], dtype=np.int64)
        sent.append(np.stack([np.full(n, d), starts, ends, owner, quote_starts.astype(np.int64)], axis=1))
        chunk.append(np.array(rows, dtype=np.int64).reshape(-1, 5))
        base_sent += n
        base_chunk += len(chunks)
    sa = np.vstack(sent) if sent else np.zeros((0, 5), np.int64)
    ca = np.vstack(chunk) if chunk else np.zeros((0, 5), np.int64)
    return {
        **{name: np.ascontiguousarray(sa[:, i]) for i, name in enumerate(SENTENCE_ARRAYS)},
        **{name: np.ascontiguousarray(ca[:, i]) for i, name in enumerate(CHUNK_ARRAYS)},
    }


def check_shapes(index: IndexVersion) -> None:
    """``ValueError`` naming the first part whose shape disagrees with the manifest's counts."""
    m = index.manifest
    chunks, sentences, dim = m.chunks, m.sentences, m.dimension or 0
    expected = {
        "segments": (m.documents,),
        "segments' headings": (chunks,),
        "chunk vectors": (chunks, dim),
        "sentence vectors": (sentences, dim),
        "dense index": (chunks, dim),
        "bm25/": (chunks,),
        "piece offsets": (sentences,),
        **{f"spans {n}": (sentences,) for n in SENTENCE_ARRAYS},
        **{f"spans {n}": (chunks,) for n in CHUNK_ARRAYS},
    }
    for name, got in index.shapes():
        if got != expected[name]:
            raise ValueError(f"{name} has shape {got}, the manifest says {expected[name]}")
