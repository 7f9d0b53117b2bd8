"""Corpus folder -> a published index version. The one place that wires the steps together.

Incremental: a source whose content hash (and file kind, parser, segmenter and model) is
unchanged is taken from the per-source cache, so only new or changed sources are parsed and
embedded; each is cached as soon as it is embedded, so a killed build's work is kept. A corpus
that did not change publishes nothing. The new version is written beside the live one and
published by one atomic rename; a build that fails or is killed leaves the live version as it
was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import store
from .embed import Embedder, Encoded
from .errors import CorpusError, SourceError
from .ingest import PARSER_VERSION, SUFFIXES, SourceFile, discover, parse
from .lexical import LexicalIndex
from .records import Chunk, Document, Sentence
from .segment import SEGMENTER_VERSION, quote_spans, segment
from .token_store import TOKEN_DTYPE, write_tokens

log = logging.getLogger("briefqa.build")

# (stage, done, total): stage is "sources" or "embedding"; total is known at the first call.
ProgressHook = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did, in the shape of the CLI summary and the rebuild endpoint."""

    added: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: int
    errors: list[dict[str, str]]
    documents: int
    chunks: int
    seconds: float
    version: str
    notes: list[str] = field(default_factory=list)
    # False when the corpus had not changed and the live version was left as it was.
    published: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added, "updated": self.updated, "removed": self.removed,
            "unchanged": self.unchanged, "documents": self.documents, "chunks": self.chunks,
            "seconds": round(self.seconds, 3), "errors": self.errors,
        }


@dataclass(slots=True)
class _Parsed:
    source: SourceFile
    doc: Document
    sentences: list[Sentence]
    chunks: list[Chunk]
    chunk_vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None
    # Per sentence, its word-piece vectors (float16) and ids, for late interaction.
    tokens: list[np.ndarray] | None = None
    token_ids: list[np.ndarray] | None = None
    # Per sentence, the span it is quoted as; embedded as such, and stored for the searcher.
    quoted: list[tuple[int, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.quoted = quote_spans(self.doc.text, self.sentences, self.chunks)


# Sources are embedded in groups of about this many texts, and each group's sources are cached as
# soon as it is done, so a build that is killed keeps most of its embedding work for the next one.
EMBED_GROUP = 512


def cache_key(source: SourceFile) -> str:
    """The per-source cache entry: content, file kind (it picks the parser), parser and segmenter."""
    kind = source.path.suffix.lower().lstrip(".")
    return f"{source.content_hash[:40]}-{kind}-p{PARSER_VERSION}s{SEGMENTER_VERSION}"


def chunk_text(doc_text: str, chunk: Chunk) -> str:
    """What is embedded for a chunk: its heading as context, then the passage."""
    return store.with_heading(chunk.heading, doc_text[chunk.start : chunk.end])


def build_index(corpus: Path, root: Path, embedder: Embedder, *, full: bool = False,
                progress: ProgressHook | None = None, lock_timeout: float = 600.0) -> BuildReport:
    """Index ``corpus`` into ``root`` and publish the result; see the module docstring.

    Raises ``CorpusError`` when the corpus is missing, empty or has no source that parses, and
    ``IndexBusyError`` when another build holds the lock past ``lock_timeout`` seconds; in both
    cases the live version stays as it was. When nothing changed, nothing is published and the
    report names the live version.
    """
    started = time.perf_counter()
    notes: list[str] = []
    with store.BuildLock(root, timeout=lock_timeout):
        # Under the lock nobody else is writing: what a killed build left behind can go.
        store.collect_garbage(root)
        previous = store.read_manifest(root)
        if previous is not None and (reason := _incompatible(previous, embedder)):
            notes.append(f"{reason}: re-indexing every source")
            full = True
        elif full:
            notes.append("--full: re-indexing every source")
        files = discover(corpus)
        if not files:
            raise CorpusError(f"no sources in {corpus} (looked for {', '.join(SUFFIXES)})")
        if previous is not None and not full and _same_sources(previous, files):
            return _unchanged_report(root, previous, started)
        cache_dir = root / "sources" / store.model_key(embedder.name)
        parsed, errors = _load_or_parse(files, cache_dir, embedder, full, progress)
        if not parsed:
            detail = "; ".join(f"{e['path']}: {e['error']}" for e in errors)
            raise CorpusError(f"no source in {corpus} could be indexed ({detail})")
        _embed_new(parsed, embedder, cache_dir, progress)
        added, updated, removed = _changes(previous, parsed, errors)
        building = store.new_version_dir(root)
        name = building.name.removeprefix(".building-")
        manifest = _manifest(parsed, errors, embedder, name)
        _write(building, manifest, parsed)
        version = store.publish(root, building)
        store.collect_garbage(root)
        _prune_cache(cache_dir, {cache_key(p.source) for p in parsed})
    return BuildReport(
        added=added, updated=updated, removed=removed, unchanged=len(parsed) - len(added) - len(updated),
        errors=[{"path": e["path"], "error": e["error"]} for e in errors],
        documents=len(parsed), chunks=sum(len(p.chunks) for p in parsed),
        seconds=time.perf_counter() - started, version=version, notes=notes,
    )


def _incompatible(previous: dict[str, Any], embedder: Embedder) -> str | None:
    """Why the live version cannot lend its vectors to this build, or None if it can."""
    if previous.get("format") != store.FORMAT_VERSION:
        return f"the index has format {previous.get('format')}, this briefqa writes {store.FORMAT_VERSION}"
    if previous.get("model") != embedder.name:
        return f"the index was built with model {previous.get('model')!r}, not {embedder.name!r}"
    if previous.get("dimension") != embedder.dimension:
        return f"the index holds {previous.get('dimension')}-dimensional vectors, the model gives {embedder.dimension}"
    return None


def _same_sources(previous: dict[str, Any], files: list[SourceFile]) -> bool:
    """Whether the live version was built from exactly these files by this parser and segmenter."""
    if previous.get("parser") != PARSER_VERSION or previous.get("segmenter") != SEGMENTER_VERSION:
        return False
    indexed = {sid: (s["hash"], s["path"]) for sid, s in previous.get("sources", {}).items()}
    return indexed == {f.id: (f.content_hash, f.relpath) for f in files}


def _unchanged_report(root: Path, previous: dict[str, Any], started: float) -> BuildReport:
    # Publishing an identical version would make every server reload for nothing.
    sources: dict[str, Any] = previous.get("sources", {})
    errors = [{"path": s["path"], "error": s["error"]} for s in sources.values() if s.get("error")]
    version = store.current_version(root) or str(previous.get("version"))
    return BuildReport(
        added=[], updated=[], removed=[], unchanged=len(sources) - len(errors), errors=errors,
        documents=int(previous.get("documents", 0)), chunks=int(previous.get("chunks", 0)),
        seconds=time.perf_counter() - started, version=version,
        notes=[f"nothing changed since version {version}; the index is as it was"], published=False,
    )


def _changes(previous: dict[str, Any] | None, parsed: list[_Parsed],
             errors: list[dict[str, str]]) -> tuple[list[str], list[str], list[str]]:
    """(added, updated, removed) ids relative to the live version before this build."""
    before: dict[str, Any] = {
        sid: s for sid, s in (previous or {}).get("sources", {}).items() if not s.get("error")
    }
    now = {p.doc.id: p for p in parsed}
    failed = {e["id"] for e in errors}
    added = sorted(i for i in now if i not in before)
    updated = sorted(i for i, p in now.items() if i in before
                     and (before[i]["hash"], before[i]["path"]) != (p.doc.content_hash, p.doc.path))
    # A source that now fails is reported among the failures, not as removed.
    removed = sorted(i for i in before if i not in now and i not in failed)
    return added, updated, removed


def _load_or_parse(files: list[SourceFile], cache_dir: Path, embedder: Embedder, full: bool,
                   progress: ProgressHook | None) -> tuple[list[_Parsed], list[dict[str, str]]]:
    parsed: list[_Parsed] = []
    errors: list[dict[str, str]] = []
    for n, source in enumerate(files, 1):
        cached = None if full else store.load_source_cache(cache_dir / f"{cache_key(source)}.npz")
        if cached is not None:
            doc, sents, chunks, cv, sv, tv, ti = cached
            # The id and path come from where the file is now (a moved file keeps its vectors).
            doc = Document(id=source.id, path=source.relpath, title=doc.title, origin=doc.origin,
                           text=doc.text, content_hash=doc.content_hash, metadata=doc.metadata)
            parsed.append(_Parsed(source, doc, sents, chunks, cv, sv, tv, ti))
        else:
            try:
                doc = parse(source)
                seg = segment(doc.text, embedder.count_tokens)
                if not seg.sentences:
                    raise SourceError(source.relpath, "no sentences to quote (only headings?)")
            except SourceError as exc:
                log.info("skipped %s", exc)
                errors.append({"id": source.id, "path": source.relpath, "error": exc.reason,
                               "hash": source.content_hash})
            else:
                parsed.append(_Parsed(source, doc, list(seg.sentences), list(seg.chunks)))
        if progress:
            progress("sources", n, len(files))
    return parsed, errors


def _embed_new(parsed: list[_Parsed], embedder: Embedder, cache_dir: Path,
               progress: ProgressHook | None) -> None:
    """Embed the chunks and sentences of every source not taken from the cache, and cache them."""
    fresh = [p for p in parsed if p.chunk_vectors is None]
    total = sum(len(p.chunks) + len(p.sentences) for p in fresh)
    done = 0

    def hook(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("embedding", done, total)

    group: list[_Parsed] = []
    size = 0
    for i, p in enumerate(fresh):
        group.append(p)
        size += len(p.chunks) + len(p.sentences)
        if size >= EMBED_GROUP or i == len(fresh) - 1:
            _embed_group(group, embedder, hook)
            for item in group:
                assert item.chunk_vectors is not None and item.sentence_vectors is not None
                assert item.tokens is not None and item.token_ids is not None
                store.save_source_cache(cache_dir / f"{cache_key(item.source)}.npz", item.doc, item.sentences,
                                        item.chunks, item.chunk_vectors, item.sentence_vectors,
                                        item.tokens, item.token_ids)
            group, size = [], 0


def _embed_group(group: list[_Parsed], embedder: Embedder, hook: Callable[[int], None]) -> None:
    chunk_texts = [chunk_text(p.doc.text, c) for p in group for c in p.chunks]
    # A sentence is embedded as it would be quoted, so one that leans back is matched with the
    # sentence that gives it its meaning.
    sentence_texts = [p.doc.text[a:b] for p in group for a, b in p.quoted]
    chunks = embedder.encode_full(chunk_texts, progress=hook, spans=True)
    sentence_vectors = embedder.encode(sentence_texts, progress=hook)
    at_c = at_s = 0
    for p in group:
        p.chunk_vectors = chunks.vectors[at_c : at_c + len(p.chunks)]
        p.sentence_vectors = sentence_vectors[at_s : at_s + len(p.sentences)]
        p.tokens, p.token_ids = [], []
        for c_i, chunk in enumerate(p.chunks):
            rows, ids = _sentence_pieces(p, chunk, chunks, at_c + c_i)
            p.tokens.extend(rows)
            p.token_ids.extend(ids)
        at_c += len(p.chunks)
        at_s += len(p.sentences)
    _fill_truncated(group, embedder)


def _sentence_pieces(p: _Parsed, chunk: Chunk, encoded: Encoded, row: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The word pieces of each sentence of ``chunk``, read in the context of the whole passage.

    A piece's vector from the passage's forward pass knows what "it" or "the college" refers to,
    which the sentence alone does not tell.
    """
    assert encoded.spans is not None
    body = len(chunk.heading) + 1 if chunk.heading else 0
    where = encoded.spans[row]
    # Document offset of each piece; pieces of the heading fall before the chunk and match nothing.
    at = np.where(where[:, 0] >= body, chunk.start + where[:, 0] - body, -1)
    rows, ids = [], []
    for sid in range(chunk.first_sentence, chunk.last_sentence + 1):
        a, b = p.quoted[sid]
        inside = (at >= a) & (at < b)
        rows.append(encoded.tokens[row][inside].astype(TOKEN_DTYPE))
        ids.append(encoded.ids[row][inside])
    return rows, ids


def _fill_truncated(group: list[_Parsed], embedder: Embedder) -> None:
    """Sentences past the model's input length in their passage get pieces from their own pass."""
    missing = [(p, i) for p in group for i, rows in enumerate(p.tokens or []) if not len(rows)]
    if not missing:
        return
    encoded = embedder.encode_full([p.doc.text[slice(*p.quoted[i])] for p, i in missing])
    for n, (p, i) in enumerate(missing):
        assert p.tokens is not None and p.token_ids is not None
        p.tokens[i] = encoded.tokens[n].astype(TOKEN_DTYPE)
        p.token_ids[i] = encoded.ids[n]


def _manifest(parsed: list[_Parsed], errors: list[dict[str, str]], embedder: Embedder,
              version: str) -> dict[str, Any]:
    sources: dict[str, Any] = {
        p.doc.id: {"path": p.doc.path, "hash": p.doc.content_hash, "title": p.doc.title,
                   "chunks": len(p.chunks), "sentences": len(p.sentences), "error": None}
        for p in parsed
    }
    for e in errors:
        sources[e["id"]] = {"path": e["path"], "hash": e["hash"], "title": "", "chunks": 0, "sentences": 0,
                            "error": e["error"]}
    return {
        "format": store.FORMAT_VERSION,
        "version": version,
        "model": embedder.name,
        "dimension": embedder.dimension,
        "parser": PARSER_VERSION,
        "segmenter": SEGMENTER_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "documents": len(parsed),
        "chunks": sum(len(p.chunks) for p in parsed),
        "sentences": sum(len(p.sentences) for p in parsed),
        "sources": sources,
    }


def _write(folder: Path, manifest: dict[str, Any], parsed: list[_Parsed]) -> None:
    sent_rows: list[tuple[int, int, int, int, int]] = []
    chunk_rows: list[tuple[int, int, int, int, int]] = []
    headings: list[str] = []
    chunk_texts: list[str] = []
    for d, p in enumerate(parsed):
        base_sent = len(sent_rows)
        base_chunk = len(chunk_rows)
        owner = np.zeros(len(p.sentences), dtype=np.int64)
        for c_i, c in enumerate(p.chunks):
            owner[c.first_sentence : c.last_sentence + 1] = base_chunk + c_i
            chunk_rows.append((d, c.start, c.end, base_sent + c.first_sentence, base_sent + c.last_sentence))
            headings.append(c.heading)
            chunk_texts.append(chunk_text(p.doc.text, c))
        sent_rows.extend((d, s.start, s.end, int(owner[i]), p.quoted[i][0]) for i, s in enumerate(p.sentences))
    sa = np.array(sent_rows, dtype=np.int64).reshape(-1, 5)
    ca = np.array(chunk_rows, dtype=np.int64).reshape(-1, 5)
    spans = {
        "sent_doc": sa[:, 0], "sent_start": sa[:, 1], "sent_end": sa[:, 2], "sent_chunk": sa[:, 3],
        "sent_quote_start": sa[:, 4],
        "chunk_doc": ca[:, 0], "chunk_start": ca[:, 1], "chunk_end": ca[:, 2],
        "chunk_first": ca[:, 3], "chunk_last": ca[:, 4],
    }
    chunk_vectors = np.vstack([p.chunk_vectors for p in parsed if p.chunk_vectors is not None])
    sentence_vectors = np.vstack([p.sentence_vectors for p in parsed if p.sentence_vectors is not None])
    store.write_version(folder, manifest, [p.doc for p in parsed], spans, headings,
                        chunk_vectors, sentence_vectors, LexicalIndex.build(chunk_texts))
    write_tokens(folder, [t for p in parsed for t in (p.tokens or [])],
                 [i for p in parsed for i in (p.token_ids or [])], chunk_vectors.shape[1])


def _prune_cache(cache_dir: Path, keep: set[str]) -> None:
    if not cache_dir.is_dir():
        return
    for path in cache_dir.glob("*.npz"):
        if path.stem not in keep:
            path.unlink(missing_ok=True)


def is_stale(corpus: Path, root: Path, model: str) -> bool:
    """Whether the live version is missing, of another model or format, or behind the corpus."""
    manifest = store.read_manifest(root)
    if manifest is None or manifest.get("model") != model or manifest.get("format") != store.FORMAT_VERSION:
        return True
    try:
        return not _same_sources(manifest, discover(corpus))
    except CorpusError:
        return True
