"""Corpus folder -> a published index version. The one place that wires the steps together.

Incremental: a source whose content hash (and file kind, parser, segmenter and model) is
unchanged keeps its segment (``segments.store``), so only new or changed sources are parsed, embedded
and written; each segment is written as soon as its source is embedded, so a killed build's work
is kept. A version is a manifest listing its segments plus the corpus-wide lexical (and, past
``HNSW_THRESHOLD`` passages, dense) index. A corpus that did not change publishes nothing, and
finds that out without loading the model. A source that fails to parse after a good build keeps
that build's segment (served and linked as before, its record saying why: ``kept``); a source whose
file is gone is removed; one that never parsed is reported failed. The new version is written beside the live one by the
store (``backends.interface.IndexStore``: the local folder, or Qdrant) and published atomically; a build that
fails or is killed leaves the live version as it was.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...embed import Embedder
from ...errors import CorpusError, SourceError
from ...sources.ingest import PARSER_VERSION, SUFFIXES, SourceFile, discover, parse, scan
from ...sources.segment import SEGMENTER_VERSION, chunk_budget, segment
from ..backends.choose import as_store
from ..backends.interface import IndexStore
from ..lexical import LexicalIndex
from ..manifest import FORMAT_VERSION, Manifest, SourceRecord, incompatibility
from ..segments import store as segments
from ..segments.codec import codec_for
from .embedding import Parsed, ProgressHook, SegmentSink, cache_key, embed_new
from .partial import prune_partials

log = logging.getLogger("briefqa.build")


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
    # Sources that failed to parse and are served from their last good version: {"id", "path", "error"}.
    kept: list[dict[str, str]] = field(default_factory=list)
    # False when the corpus had not changed and the live version was left as it was.
    published: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "documents": self.documents,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
            "kept": self.kept,
        }

    @property
    def failed(self) -> bool:
        """Whether a source failed to parse, kept or not (the CLI exits 1, as the contract says)."""
        return bool(self.errors or self.kept)


# Sources are embedded in groups of about this many passages, and each group's sources get their
# segments as soon as it is done; a larger source is embedded alone in batches of this many, each
# kept as it is done (``embedding``). A build that is killed keeps its embedding work for the next one.
EMBED_GROUP = 512


def build_index(
    corpus: Path,
    where: Path | IndexStore,
    embedder: Embedder,
    *,
    full: bool = False,
    progress: ProgressHook | None = None,
    lock_timeout: float = 600.0,
) -> BuildReport:
    """Index ``corpus`` into the store ``where`` (a folder: the local store there) and publish the
    result; see the module docstring. The segments, the build's cache, are under the store's root.

    Raises ``CorpusError`` when the corpus is missing, empty or has no source that parses, and
    ``IndexBusyError`` when another build holds the lock past ``lock_timeout`` seconds; in both
    cases the live version stays as it was. When nothing changed, nothing is published and the
    report names the live version.
    """
    started = time.perf_counter()
    notes: list[str] = []
    target = as_store(where)
    root = target.root
    with target.build_lock(lock_timeout):
        # Under the lock nobody else is writing: what a killed build left behind can go.
        target.collect_garbage()
        # Segments whose size, inode and mtime are what the last build verified are not read again.
        segments.trust_all_stamps(root)
        # A damaged live version is rebuilt from its intact segments: never "nothing changed".
        previous, damage = target.previous_manifest()
        if damage is not None:
            notes.append(f"{damage}: repairing it (intact sources keep their segments)")
        # The model's name decides before anything loads it; its dimension once it has to be loaded.
        if previous is not None and (reason := incompatibility(previous, embedder.name, None)):
            notes.append(f"{reason}: re-indexing every source")
            full = True
        elif full:
            notes.append("--full: re-indexing every source")
        found = scan(corpus, previous.known_ids() if previous else {})
        files = found.files
        if not files:
            unreadable = "".join(f"; {e['path']}: {e['error']}" for e in found.errors)
            raise CorpusError(f"no sources in {corpus} (looked for {', '.join(SUFFIXES)}{unreadable})")
        if previous is not None and not full and damage is None and _same_sources(previous, files):
            return _unchanged_report(target, previous, started, found.errors)
        if previous is not None and not full and (reason := incompatibility(previous, None, embedder.dimension)):
            notes.append(f"{reason}: re-indexing every source")
            full = True
        sink = SegmentSink(segments.segment_dir(root, embedder.name), codec_for(embedder.name, embedder.dimension))
        parsed, errors, kept = _load_or_parse(files, sink, embedder, full, progress, previous)
        if not parsed:
            detail = "; ".join(f"{e['path']}: {e['error']}" for e in errors)
            raise CorpusError(f"no source in {corpus} could be indexed ({detail})")
        embed_new(parsed, embedder, sink, progress, EMBED_GROUP)
        added, updated, removed = _changes(previous, parsed, errors, kept)
        name = target.begin_version()
        manifest = _manifest(parsed, errors, kept, found.errors, embedder, name)
        chunk_vectors = np.vstack([p.chunk_vectors for p in parsed if p.chunk_vectors is not None])
        lexical = LexicalIndex.from_terms([t for p in parsed for t in p.terms or ()])
        version = target.publish(name, manifest, chunk_vectors, lexical)
        target.drop_old_versions()
        # Segments no kept version lists and this build did not write (servers may still read the kept ones').
        segments.prune(sink.folder, {p.segment.name for p in parsed if p.segment} | target.segments_in_use())
        prune_partials(sink.folder, {cache_key(f) for f in files})
        segments.record_stamps(sink.folder)
    return BuildReport(
        added=added,
        updated=updated,
        removed=removed,
        unchanged=len(parsed) - len(added) - len(updated) - len(kept),
        errors=[{"path": e["path"], "error": e["error"]} for e in errors] + found.errors,
        kept=kept,
        documents=len(parsed),
        chunks=sum(len(p.chunks) for p in parsed),
        seconds=time.perf_counter() - started,
        version=version,
        notes=notes,
    )


def _same_sources(previous: Manifest, files: list[SourceFile]) -> bool:
    """Whether the live version was built from exactly these files by this parser and segmenter."""
    if previous.parser != PARSER_VERSION or previous.segmenter != SEGMENTER_VERSION:
        return False
    indexed = {sid: (s.hash, s.path) for sid, s in previous.sources.items()}
    return indexed == {f.id: (f.content_hash, f.relpath) for f in files}


def _unchanged_report(
    target: IndexStore, previous: Manifest, started: float, unreadable: list[dict[str, str]]
) -> BuildReport:
    # Publishing an identical version would make every server reload for nothing.
    sources = previous.sources
    errors = [{"path": s.path, "error": s.error} for s in sources.values() if s.error]
    kept = [{"id": sid, "path": s.path, "error": s.problem} for sid, s in sources.items() if s.problem]
    version = target.current_version() or previous.version
    return BuildReport(
        added=[],
        updated=[],
        removed=[],
        unchanged=len(sources) - len(errors) - len(kept),
        errors=errors + unreadable,
        kept=kept,
        documents=previous.documents,
        chunks=previous.chunks,
        seconds=time.perf_counter() - started,
        version=version,
        notes=[f"nothing changed since version {version}; the index is as it was"],
        published=False,
    )


def _changes(
    previous: Manifest | None, parsed: list[Parsed], errors: list[dict[str, str]], kept: list[dict[str, str]]
) -> tuple[list[str], list[str], list[str]]:
    """(added, updated, removed) ids relative to the live version before this build; a kept
    source is none of them (the report lists it apart)."""
    before = previous.indexed() if previous else {}
    held = {k["id"] for k in kept}
    now = {p.doc.id: p for p in parsed if p.doc.id not in held}
    failed = {e["id"] for e in errors}
    added = sorted(i for i in now if i not in before)
    updated = sorted(
        i
        for i, p in now.items()
        if i in before and (before[i].hash, before[i].path) != (p.doc.content_hash, p.doc.path)
    )
    # A source that now fails is reported among the failures, not as removed.
    removed = sorted(i for i in before if i not in now and i not in failed and i not in held)
    return added, updated, removed


def _load_or_parse(
    files: list[SourceFile],
    sink: SegmentSink,
    embedder: Embedder,
    full: bool,
    progress: ProgressHook | None,
    previous: Manifest | None,
) -> tuple[list[Parsed], list[dict[str, str]], list[dict[str, str]]]:
    """(parsed or reused sources, failures with no good version, failures kept at their last good one)."""
    parsed: list[Parsed] = []
    errors: list[dict[str, str]] = []
    kept_failures: list[dict[str, str]] = []
    for n, source in enumerate(files, 1):
        path = sink.folder / segments.segment_name(cache_key(source), sink.codec)
        kept = None if full else segments.reusable(path, source.content_hash, sink.codec)
        if kept is not None:
            parsed.append(_from_segment(source, path, kept))
        else:
            try:
                doc = parse(source)
                seg = segment(doc.text, embedder.count_tokens, chunk_budget(embedder.max_tokens))
                if not seg.sentences:
                    raise SourceError(source.relpath, "no sentences to quote (only headings?)")
            except SourceError as exc:
                if (good := _last_good(previous, source, sink)) is not None:
                    log.info("kept the last good version of %s", exc)
                    parsed.append(good)
                    kept_failures.append({"id": source.id, "path": source.relpath, "error": exc.reason})
                else:
                    log.info("skipped %s", exc)
                    errors.append(
                        {"id": source.id, "path": source.relpath, "error": exc.reason, "hash": source.content_hash}
                    )
            else:
                parsed.append(Parsed(source, doc, list(seg.sentences), list(seg.chunks)))
        if progress:
            progress("sources", n, len(files))
    return parsed, errors, kept_failures


def _from_segment(source: SourceFile, path: Path, kept: segments.SourceSegment) -> Parsed:
    # The id and path come from where the file is now (a moved file keeps its vectors).
    doc = dataclasses.replace(kept.doc, id=source.id, path=source.relpath)
    p = Parsed(source, doc, kept.sentences, kept.chunks, kept.chunk_vectors, kept.sentence_vectors)
    p.segment, p.terms = segments.ref_of(path), kept.terms
    return p


def _last_good(previous: Manifest | None, source: SourceFile, sink: SegmentSink) -> Parsed | None:
    """The source as the live version serves it, for a file that no longer parses: its segment,
    if that is intact and of this build's model and codec (another model's cannot be searched)."""
    if previous is None:
        return None
    ref = next((r for r in previous.segments if r.source == source.id), None)
    if ref is None:
        return None
    path = sink.folder / ref.name
    seg = segments.listed(path, ref, sink.codec)
    return None if seg is None else _from_segment(source, path, seg)


def _manifest(
    parsed: list[Parsed],
    errors: list[dict[str, str]],
    kept: list[dict[str, str]],
    unreadable: list[dict[str, str]],
    embedder: Embedder,
    version: str,
) -> Manifest:
    sources = {
        p.doc.id: SourceRecord(
            path=p.doc.path,
            hash=p.doc.content_hash,
            title=p.doc.title,
            chunks=len(p.chunks),
            sentences=len(p.sentences),
        )
        for p in parsed
    }
    # A kept source's record has the file's hash as it is now: unchanged, it is "nothing changed".
    by_id = {p.doc.id: p for p in parsed}
    for k in kept:
        record = sources[k["id"]]
        sources[k["id"]] = dataclasses.replace(record, hash=by_id[k["id"]].source.content_hash, problem=k["error"])
    for e in errors:
        sources[e["id"]] = SourceRecord(path=e["path"], hash=e["hash"], error=e["error"])
    return Manifest(
        format=FORMAT_VERSION,
        version=version,
        model=embedder.name,
        dimension=embedder.dimension,
        parser=PARSER_VERSION,
        segmenter=SEGMENTER_VERSION,
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        documents=len(parsed),
        chunks=sum(len(p.chunks) for p in parsed),
        sentences=sum(len(p.sentences) for p in parsed),
        sources=sources,
        unreadable=tuple(unreadable),
        segments=tuple(dataclasses.replace(p.segment, source=p.doc.id) for p in parsed if p.segment),
    )


def is_stale(corpus: Path, where: Path | IndexStore, model: str) -> bool:
    """Whether the live version is missing, of another model or format, or behind the corpus."""
    manifest = as_store(where).intact_manifest()  # a damaged live version is stale: it must be repaired
    if manifest is None or incompatibility(manifest, model, None) is not None:
        return True
    try:
        return not _same_sources(manifest, discover(corpus, manifest.known_ids()))
    except CorpusError:
        return True
