"""Corpus folder -> a published index version. The one place that wires the steps together.

Incremental: a source whose content hash (and the parser, segmenter and model) is unchanged is
taken from the per-source cache, so only new or changed sources are parsed and embedded. The new
version is written beside the live one and published by one atomic rename; a build that fails
or is killed leaves the live version as it was.
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
from .calibrate import calibrate
from .embed import Embedder
from .errors import CorpusError, SourceError
from .ingest import PARSER_VERSION, SourceFile, discover, parse
from .lexical import LexicalIndex
from .records import Chunk, Document, Sentence
from .segment import SEGMENTER_VERSION, segment

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
    calibration: dict[str, float] = field(default_factory=dict)

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


def cache_key(content_hash: str) -> str:
    return f"{content_hash[:40]}-p{PARSER_VERSION}s{SEGMENTER_VERSION}"


def chunk_text(doc_text: str, chunk: Chunk) -> str:
    """What is embedded for a chunk: its heading as context, then the passage."""
    body = doc_text[chunk.start : chunk.end]
    return f"{chunk.heading}\n{body}" if chunk.heading else body


def build_index(corpus: Path, root: Path, embedder: Embedder, *, full: bool = False,
                progress: ProgressHook | None = None, lock_timeout: float = 600.0) -> BuildReport:
    """Index ``corpus`` into ``root`` and publish the result; see the module docstring."""
    started = time.perf_counter()
    notes: list[str] = []
    with store.BuildLock(root, timeout=lock_timeout):
        store.collect_garbage(root)
        previous = store.read_manifest(root)
        if previous is not None and not full:
            try:
                store.check_manifest(previous, embedder.name, embedder.dimension)
            except Exception as exc:
                notes.append(f"full rebuild: {exc}")
                full = True
        files = discover(corpus)
        if not files:
            raise CorpusError(f"no sources in {corpus} (looked for .md, .txt, .html, .pdf)")
        cache_dir = root / "sources" / store.model_key(embedder.name)
        parsed, errors = _load_or_parse(files, cache_dir, embedder, full, progress)
        if not parsed:
            detail = "; ".join(f"{e['path']}: {e['error']}" for e in errors)
            raise CorpusError(f"no source in {corpus} could be indexed ({detail})")
        _embed_new(parsed, embedder, progress)
        for item in parsed:
            path = cache_dir / f"{cache_key(item.doc.content_hash)}.npz"
            if not path.exists():
                assert item.chunk_vectors is not None and item.sentence_vectors is not None
                store.save_source_cache(path, item.doc, item.sentences, item.chunks,
                                        item.chunk_vectors, item.sentence_vectors)
        building = store.new_version_dir(root)
        manifest = _manifest(parsed, errors, embedder, building.name.removeprefix(".building-"))
        _write(building, manifest, parsed)
        data = store.load_folder(building, manifest)
        calibration = calibrate(data, embedder, building)
        version = store.publish(root, building)
        store.collect_garbage(root)
        _prune_cache(cache_dir, {cache_key(p.doc.content_hash) for p in parsed})
    prev_sources: dict[str, Any] = previous.get("sources", {}) if previous else {}
    current = {p.doc.id: p.doc.content_hash for p in parsed}
    failed_ids = {e["id"] for e in errors}
    added = sorted(i for i in current if i not in prev_sources or prev_sources[i].get("error"))
    updated = sorted(i for i in current if i in prev_sources and not prev_sources[i].get("error")
                     and prev_sources[i]["hash"] != current[i])
    removed = sorted(i for i, s in prev_sources.items()
                     if i not in current and i not in failed_ids and not s.get("error"))
    unchanged = len(current) - len(added) - len(updated)
    return BuildReport(
        added=added, updated=updated, removed=removed, unchanged=unchanged,
        errors=[{"path": e["path"], "error": e["error"]} for e in errors],
        documents=len(parsed), chunks=sum(len(p.chunks) for p in parsed),
        seconds=time.perf_counter() - started, version=version, notes=notes, calibration=calibration,
    )


def _load_or_parse(files: list[SourceFile], cache_dir: Path, embedder: Embedder, full: bool,
                   progress: ProgressHook | None) -> tuple[list[_Parsed], list[dict[str, str]]]:
    parsed: list[_Parsed] = []
    errors: list[dict[str, str]] = []
    for n, source in enumerate(files, 1):
        cached = None if full else store.load_source_cache(cache_dir / f"{cache_key(source.content_hash)}.npz")
        if cached is not None:
            doc, sents, chunks, cv, sv = cached
            # The id and path come from where the file is now (a moved file keeps its vectors).
            doc = Document(id=source.id, path=source.relpath, title=doc.title, origin=doc.origin,
                           text=doc.text, content_hash=doc.content_hash, metadata=doc.metadata)
            parsed.append(_Parsed(source, doc, sents, chunks, cv, sv))
        else:
            try:
                doc = parse(source)
                seg = segment(doc.text, embedder.count_tokens)
                if not seg.sentences:
                    raise SourceError(source.relpath, "no sentences to quote (only headings?)")
            except SourceError as exc:
                log.warning("skipped %s", exc)
                errors.append({"id": source.id, "path": source.relpath, "error": exc.reason,
                               "hash": source.content_hash})
            else:
                parsed.append(_Parsed(source, doc, list(seg.sentences), list(seg.chunks)))
                if (cache_dir / f"{cache_key(source.content_hash)}.npz").exists() and full:
                    (cache_dir / f"{cache_key(source.content_hash)}.npz").unlink()
        if progress:
            progress("sources", n, len(files))
    return parsed, errors


def _embed_new(parsed: list[_Parsed], embedder: Embedder, progress: ProgressHook | None) -> None:
    """Embed the chunks and sentences of every source not taken from the cache, in one batch run."""
    fresh = [p for p in parsed if p.chunk_vectors is None]
    if not fresh:
        return
    texts: list[str] = []
    for p in fresh:
        texts.extend(chunk_text(p.doc.text, c) for c in p.chunks)
        texts.extend(p.doc.text[s.start : s.end] for s in p.sentences)
    done = 0

    def hook(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("embedding", done, len(texts))

    vectors = embedder.encode(texts, progress=hook)
    at = 0
    for p in fresh:
        p.chunk_vectors = vectors[at : at + len(p.chunks)]
        at += len(p.chunks)
        p.sentence_vectors = vectors[at : at + len(p.sentences)]
        at += len(p.sentences)


def _manifest(parsed: list[_Parsed], errors: list[dict[str, str]], embedder: Embedder, version: str) -> dict[str, Any]:
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
    sent_rows: list[tuple[int, int, int, int]] = []
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
        sent_rows.extend((d, s.start, s.end, int(owner[i])) for i, s in enumerate(p.sentences))
    sa = np.array(sent_rows, dtype=np.int64).reshape(-1, 4)
    ca = np.array(chunk_rows, dtype=np.int64).reshape(-1, 5)
    spans = {
        "sent_doc": sa[:, 0], "sent_start": sa[:, 1], "sent_end": sa[:, 2], "sent_chunk": sa[:, 3],
        "chunk_doc": ca[:, 0], "chunk_start": ca[:, 1], "chunk_end": ca[:, 2],
        "chunk_first": ca[:, 3], "chunk_last": ca[:, 4],
    }
    chunk_vectors = np.vstack([p.chunk_vectors for p in parsed if p.chunk_vectors is not None])
    sentence_vectors = np.vstack([p.sentence_vectors for p in parsed if p.sentence_vectors is not None])
    store.write_version(folder, manifest, [p.doc for p in parsed], spans, headings,
                        chunk_vectors, sentence_vectors, LexicalIndex.build(chunk_texts))


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
    indexed = {sid: s["hash"] for sid, s in manifest.get("sources", {}).items()}
    try:
        present = {f.id: f.content_hash for f in discover(corpus)}
    except CorpusError:
        return True
    return present != indexed
