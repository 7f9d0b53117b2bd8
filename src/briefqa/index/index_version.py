"""One loaded index version behind a read-only façade: records and arrays out, its own arrays kept inside.

Everything outside the store asks an ``IndexVersion`` (a chunk's span, a run of sentences' quote
spans, the vectors of given rows, the dense ranking, the source summaries); nothing else reads its
arrays. Methods answer per chunk or per run of sentences, never per sentence, so a query pays no
Python call per sentence. ``index_format`` reads a version folder into one of these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..records import ChunkSpan, Document, SentenceSpans, SourceStats
from .lexical import LexicalIndex
from .manifest import Manifest
from .token_store import TokenRows, TokenStore

# Per sentence (global numbering) and per chunk, the span arrays assembled from the segments.
SENTENCE_ARRAYS = ("sent_doc", "sent_start", "sent_end", "sent_chunk", "sent_quote_start")
CHUNK_ARRAYS = ("chunk_doc", "chunk_start", "chunk_end", "chunk_first", "chunk_last")


def with_heading(heading: str, body: str) -> str:
    """A passage as it is embedded and searched: its heading as context, then its text."""
    return f"{heading}\n{body}" if heading else body


class IndexVersion:
    """One index version, read-only once loaded; a searcher answers from exactly one."""

    __slots__ = (
        "_chunk_vectors",
        "_dense",
        "_doc_index",
        "_headings",
        "_sentence_vectors",
        "_spans",
        "_tokens",
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
    _chunk_vectors: np.ndarray
    _sentence_vectors: np.ndarray
    _dense: Any  # faiss.Index over the chunk vectors
    _tokens: TokenStore
    _doc_index: dict[str, int]

    def __init__(
        self,
        version: str,
        manifest: Manifest,
        documents: Sequence[Document],
        spans: Mapping[str, np.ndarray],
        headings: Sequence[str],
        chunk_vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        dense: Any,
        lexical: LexicalIndex,
        tokens: TokenStore,
    ) -> None:
        arrays = {name: spans[name] for name in (*SENTENCE_ARRAYS, *CHUNK_ARRAYS)}
        for array in (*arrays.values(), chunk_vectors, sentence_vectors):
            array.flags.writeable = False
        set_ = object.__setattr__
        set_(self, "version", version)
        set_(self, "manifest", manifest)
        set_(self, "documents", tuple(documents))
        set_(self, "lexical", lexical)
        set_(self, "_spans", arrays)
        set_(self, "_headings", tuple(headings))
        set_(self, "_chunk_vectors", chunk_vectors)
        set_(self, "_sentence_vectors", sentence_vectors)
        set_(self, "_dense", dense)
        set_(self, "_tokens", tokens)
        set_(self, "_doc_index", {d.id: i for i, d in enumerate(self.documents)})

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
        """The faiss index type answering dense search (``IndexFlatIP`` or ``IndexHNSWFlat``)."""
        return type(self._dense).__name__

    def shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        """Each stored part's name and shape, for checking against the manifest's counts."""
        out: list[tuple[str, tuple[int, ...]]] = [
            ("segments", (len(self.documents),)),
            ("segments' headings", (len(self._headings),)),
            ("chunk vectors", tuple(self._chunk_vectors.shape)),
            ("sentence vectors", tuple(self._sentence_vectors.shape)),
            ("dense index", (int(self._dense.ntotal), int(self._dense.d))),
            ("bm25/", (self.lexical.n_docs,)),
            ("piece offsets", (self._tokens.sentences,)),
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
        in_doc = s["sent_doc"] == di
        first = np.flatnonzero(in_doc & ((s["sent_start"] == start) | (s["sent_quote_start"] == start)))
        last = np.flatnonzero(in_doc & (s["sent_end"] == end))
        if not len(first) or not len(last) or first[0] > last[0]:
            return None
        chunk = int(s["sent_chunk"][last[0]])
        if int(s["sent_chunk"][first[0]]) != chunk:
            return None
        return self.chunk(chunk)

    def sources(self) -> tuple[SourceStats, ...]:
        """Every source with its length and number of chunks, in index order."""
        chunks = np.bincount(self._spans["chunk_doc"], minlength=len(self.documents)).tolist()
        return tuple(
            SourceStats(d.id, d.title, d.origin, len(d.text), int(chunks[i])) for i, d in enumerate(self.documents)
        )

    # ---- vectors and rankings ---------------------------------------------------------------------

    def chunk_vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Unit vectors of chunks ``rows`` (all of them when None), float32, read-only."""
        vectors = self._chunk_vectors if rows is None else self._chunk_vectors[rows]
        return np.asarray(vectors, dtype=np.float32)

    def sentence_vectors(self, first: int = 0, last: int | None = None) -> np.ndarray:
        """Unit vectors of sentences ``first..last`` (inclusive; to the end when None), float32."""
        stop = None if last is None else last + 1
        return np.asarray(self._sentence_vectors[first:stop], dtype=np.float32)

    def dense_ranking(self, query_vector: np.ndarray, depth: int) -> list[int]:
        """The ``depth`` chunks nearest ``query_vector`` by inner product, nearest first."""
        _sims, ids = self._dense.search(np.ascontiguousarray(query_vector.reshape(1, -1), dtype=np.float32), depth)
        return [int(i) for i in ids[0] if i >= 0]

    def token_rows(self, first: int, last: int) -> TokenRows:
        """The word-piece vectors of sentences ``first..last`` (inclusive), read in one go."""
        return self._tokens.rows(first, last)

    def piece_idf(self, ids: np.ndarray) -> np.ndarray:
        """Each word piece's rarity across the version's sentences."""
        return self._tokens.idf(ids)

    def max_piece_idf(self) -> float:
        return self._tokens.max_idf()

    def close(self) -> None:
        """Release what the version holds open (its word pieces are read per request)."""
        self._tokens.close()
