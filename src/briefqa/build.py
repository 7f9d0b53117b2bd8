"""Corpus folder -> a published index version. The one place that wires the steps together.

Incremental: a source whose content hash (and file kind, parser, segmenter and model) is
unchanged is taken from the per-source cache, so only new or changed sources are parsed and
embedded; each is cached as soon as it is embedded, so a killed build's work is kept. A corpus
that did not change publishes nothing. The new version is written beside the live one and
published by one atomic rename; a build that fails or is killed leaves the live version as it
was. The abstention model is refitted when enough of the corpus changed (``RECALIBRATE_SHARE``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import store
from .abstain import FEATURES
from .calibrate import calibrate
from .embed import Embedder
from .errors import CorpusError, SourceError
from .ingest import PARSER_VERSION, SUFFIXES, SourceFile, discover, parse
from .lexical import LexicalIndex
from .records import Chunk, Document, Sentence
from .segment import SEGMENTER_VERSION, quote_spans, segment

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
    # Per sentence, the span it is quoted as; embedded as such, and stored for the searcher.
    quoted: list[tuple[int, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.quoted = quote_spans(self.doc.text, self.sentences, self.chunks)


# Sources are embedded in groups of about this many texts, and each group's sources are cached as
# soon as it is done, so a build that is killed keeps most of its embedding work for the next one.
EMBED_GROUP = 512
# Refit the abstention model once more than this share of the sources changed since its fit.
RECALIBRATE_SHARE = 0.1


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
        drift = len(added) + len(updated) + len(removed) + _newly_failed(previous, errors)
        kept = None if full else _reusable_calibration(root, previous, drift, len(parsed))
        fitted = {"version": name, "drift": 0} if kept is None else kept[0]
        manifest = _manifest(parsed, errors, embedder, name, fitted)
        _write(building, manifest, parsed)
        if kept is None:
            if progress:  # one long step: the progress hook reports it while it runs
                progress("calibrating", 0, 1)
            calibration = calibrate(store.load_folder(building, manifest), embedder, building,
                                    store.WordVectors(cache_dir / "words" / "vectors.npz"))
            if progress:
                progress("calibrating", 1, 1)
        else:
            (building / "abstain.json").write_text(json.dumps(kept[1], indent=1))
            calibration = dict(kept[1].get("probe_figures", {}))
            notes.append(f"abstention model kept from version {fitted['version']} "
                         f"({fitted['drift']} of {len(parsed)} sources changed since it was fitted)")
        version = store.publish(root, building)
        store.collect_garbage(root)
        _prune_cache(cache_dir, {cache_key(p.source) for p in parsed})
    return BuildReport(
        added=added, updated=updated, removed=removed, unchanged=len(parsed) - len(added) - len(updated),
        errors=[{"path": e["path"], "error": e["error"]} for e in errors],
        documents=len(parsed), chunks=sum(len(p.chunks) for p in parsed),
        seconds=time.perf_counter() - started, version=version, notes=notes, calibration=calibration,
    )


def _newly_failed(previous: dict[str, Any] | None, errors: list[dict[str, str]]) -> int:
    before = (previous or {}).get("sources", {})
    return sum(1 for e in errors if e["id"] in before and not before[e["id"]].get("error"))


def _reusable_calibration(root: Path, previous: dict[str, Any] | None, changed: int,
                          documents: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The live version's abstention model and its lineage, if it still fits this corpus.

    Calibration generates and answers a thousand or so probe questions: most of an incremental
    build of a large corpus. Its model weighs relative signals (coverage, similarity, margins),
    not corpus contents, so a model fitted on nearly the same corpus serves as well; it is
    refitted once the sources changed since the fit pass ``RECALIBRATE_SHARE`` of the corpus,
    on every --full build, and whenever its features are not the current ones.
    """
    version = store.current_version(root)
    if previous is None or version is None:
        return None
    lineage = previous.get("calibrated") or {"version": version, "drift": 0}
    drift = int(lineage.get("drift", 0)) + changed
    if drift > RECALIBRATE_SHARE * documents:
        return None
    try:
        model = json.loads((root / "versions" / version / "abstain.json").read_text())
    except (OSError, ValueError):
        return None
    if model.get("features") != list(FEATURES):
        return None
    return {"version": str(lineage["version"]), "drift": drift}, model


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
    # Publishing an identical version would cost a calibration and make every server reload.
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
                store.save_source_cache(cache_dir / f"{cache_key(item.source)}.npz", item.doc, item.sentences,
                                        item.chunks, item.chunk_vectors, item.sentence_vectors)
            group, size = [], 0


def _embed_group(group: list[_Parsed], embedder: Embedder, hook: Callable[[int], None]) -> None:
    texts: list[str] = []
    for p in group:
        texts.extend(chunk_text(p.doc.text, c) for c in p.chunks)
        # A sentence is embedded as it would be quoted, so one that leans back is matched with
        # the sentence that gives it its meaning.
        texts.extend(p.doc.text[a:b] for a, b in p.quoted)
    vectors = embedder.encode(texts, progress=hook)
    at = 0
    for p in group:
        p.chunk_vectors = vectors[at : at + len(p.chunks)]
        at += len(p.chunks)
        p.sentence_vectors = vectors[at : at + len(p.sentences)]
        at += len(p.sentences)


def _manifest(parsed: list[_Parsed], errors: list[dict[str, str]], embedder: Embedder, version: str,
              calibrated: dict[str, Any]) -> dict[str, Any]:
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
        # Which version's probes fitted the abstention model, and how many sources changed since.
        "calibrated": calibrated,
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
