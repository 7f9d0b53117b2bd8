"""Parsed sources -> their vectors, embedded in batches, each batch kept as soon as it is done.

Small sources are embedded together, a group of about ``group`` texts at a time, and each is
cached whole as its group finishes. A source with more texts than that is embedded alone, batch
by batch: each batch is kept in the cache's ``partial/`` folder before the next starts, so a
build killed an hour into a 20 MB source resumes at the batch it had reached, and only one
batch of texts and vectors is in flight beside the source's own text and result arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import store
from .embed import Embedder
from .ingest import PARSER_VERSION, SourceFile
from .records import Chunk, Document, Sentence
from .segment import SEGMENTER_VERSION, quote_spans

# (stage, done, total): stage is "sources" or "embedding"; total is known at the first call.
ProgressHook = Callable[[str, int, int], None]


@dataclass(slots=True)
class Parsed:
    """One source on its way into a version: parsed, segmented, and (once embedded) its vectors."""

    source: SourceFile
    doc: Document
    sentences: list[Sentence]
    chunks: list[Chunk]
    chunk_vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None
    # Per sentence, the span it is quoted as; embedded as such, and stored for the searcher.
    quoted: list[tuple[int, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.quoted = quote_spans(self.doc.text, self.sentences, self.chunks)

    @property
    def size(self) -> int:
        """How many texts the source embeds: its chunks, then its sentences."""
        return len(self.chunks) + len(self.sentences)

    def texts(self, start: int = 0, stop: int | None = None) -> Iterator[str]:
        """Texts ``start:stop`` of what the source embeds, made only when asked for."""
        stop = self.size if stop is None else stop
        n_chunks = len(self.chunks)
        for i in range(start, stop):
            if i < n_chunks:
                yield chunk_text(self.doc.text, self.chunks[i])
            else:
                # A sentence is embedded as it would be quoted, so one that leans back is matched
                # with the sentence that gives it its meaning.
                a, b = self.quoted[i - n_chunks]
                yield self.doc.text[a:b]


def cache_key(source: SourceFile) -> str:
    """The per-source cache entry: content, file kind (it picks the parser), parser and segmenter."""
    kind = source.path.suffix.lower().lstrip(".")
    return f"{source.content_hash[:40]}-{kind}-p{PARSER_VERSION}s{SEGMENTER_VERSION}"


def chunk_text(doc_text: str, chunk: Chunk) -> str:
    """What is embedded for a chunk: its heading as context, then the passage."""
    return store.with_heading(chunk.heading, doc_text[chunk.start : chunk.end])


def embed_new(parsed: list[Parsed], embedder: Embedder, cache_dir: Path, progress: ProgressHook | None,
              group: int) -> None:
    """Embed every source not taken from the cache, and cache each as soon as it is done."""
    fresh = [p for p in parsed if p.chunk_vectors is None]
    total = sum(p.size for p in fresh)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("embedding", done, total)

    pending: list[Parsed] = []
    for p in fresh:
        if p.size > group:
            _embed_large(p, embedder, cache_dir, group, advance)
            continue
        pending.append(p)
        if sum(q.size for q in pending) >= group:
            _embed_group(pending, embedder, cache_dir, advance)
            pending = []
    if pending:
        _embed_group(pending, embedder, cache_dir, advance)


def _embed_group(group: list[Parsed], embedder: Embedder, cache_dir: Path, advance: Callable[[int], None]) -> None:
    vectors = embedder.encode([t for p in group for t in p.texts()])
    at = 0
    for p in group:
        _finish(p, vectors[at : at + p.size], cache_dir)
        at += p.size
    advance(at)


def _embed_large(p: Parsed, embedder: Embedder, cache_dir: Path, batch: int, advance: Callable[[int], None]) -> None:
    partial = store.PartialVectors(cache_dir, cache_key(p.source), batch)
    out = np.empty((p.size, embedder.dimension), dtype=np.float32)
    for i, start in enumerate(range(0, p.size, batch)):
        stop = min(start + batch, p.size)
        vectors = partial.get(i, stop - start)
        if vectors is None:
            vectors = embedder.encode(list(p.texts(start, stop)))
            partial.put(i, vectors)  # kept before the next batch starts: a kill loses one batch
        out[start:stop] = vectors
        advance(stop - start)
    _finish(p, out, cache_dir)
    partial.drop()


def _finish(p: Parsed, vectors: np.ndarray, cache_dir: Path) -> None:
    p.chunk_vectors = vectors[: len(p.chunks)]
    p.sentence_vectors = vectors[len(p.chunks) :]
    store.save_source_cache(cache_dir / f"{cache_key(p.source)}.npz", p.doc, p.sentences, p.chunks,
                            p.chunk_vectors, p.sentence_vectors)
