"""What a version's ``manifest.json`` says, as a typed record, and the one compatibility check.

The manifest records the format, the model and dimension of the vectors, the parser and segmenter
versions, the counts, and per source its path, content hash and failure if any (a source that
fails after a good build keeps that version's segment, and the record says why: ``problem``). A
build writes it;
a build reads the previous one (which ids stay with which paths, what changed); stale detection
and loading read it to decide whether the index can be used. All three decide compatibility with
``incompatibility``. A version is the segments its manifest lists (``SegmentRef``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# 3: every version carries checksums.json and the word-piece vectors of its sentences.
# 4: a version is a list of per-source segments shared between versions (``segments.store``); word
#    pieces stored as each segment's codec says (4-bit scalar codes, ``segments.codec``);
#    passage and sentence vectors float16.
FORMAT_VERSION = 5


@dataclass(frozen=True, slots=True)
class SegmentRef:
    """A segment as a manifest lists it: file name, size, the digest at its end, and the id of
    the source it holds in that version (a moved file keeps its segment, not its old id)."""

    name: str
    size: int
    digest: str
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "digest": self.digest, "source": self.source}

    @classmethod
    def from_json(cls, data: Any) -> SegmentRef:
        return cls(str(data["name"]), int(data["size"]), str(data["digest"]), str(data.get("source") or ""))


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One source as a version recorded it; a source that failed has ``error`` and no chunks.

    A source whose file failed to parse after a good build is served from that build's segment:
    ``problem`` says why, ``hash`` is the file's as it is now (so an unchanged broken file is
    "nothing changed"), and the segment's document keeps the hash of the text it holds.
    """

    path: str
    hash: str
    title: str = ""
    chunks: int = 0
    sentences: int = 0
    error: str | None = None
    problem: str | None = None

    @property
    def state(self) -> str:
        """ "current" (the file as it is now), "stale" (its last good version) or "failed" (not served)."""
        return "failed" if self.error else "stale" if self.problem else "current"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "hash": self.hash,
            "title": self.title,
            "chunks": self.chunks,
            "sentences": self.sentences,
            "error": self.error,
            "problem": self.problem,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SourceRecord:
        error, problem = data.get("error"), data.get("problem")
        return cls(
            path=str(data["path"]),
            hash=str(data.get("hash", "")),
            title=str(data.get("title") or ""),
            chunks=int(data.get("chunks") or 0),
            sentences=int(data.get("sentences") or 0),
            error=None if error is None else str(error),
            problem=None if problem is None else str(problem),
        )


@dataclass(frozen=True, slots=True)
class Manifest:
    """``manifest.json`` of one version. ``format`` is None when the file does not say it."""

    format: int | None
    version: str
    model: str
    dimension: int | None
    parser: str
    segmenter: str
    created: str
    documents: int
    chunks: int
    sentences: int
    sources: Mapping[str, SourceRecord]
    # Folders of the corpus that could not be read: {"path", "error"} each.
    unreadable: tuple[Mapping[str, str], ...] = field(default=())
    # The segments the version is made of, one per indexed source, in document order.
    segments: tuple[SegmentRef, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "version": self.version,
            "model": self.model,
            "dimension": self.dimension,
            "parser": self.parser,
            "segmenter": self.segmenter,
            "created": self.created,
            "documents": self.documents,
            "chunks": self.chunks,
            "sentences": self.sentences,
            "sources": {sid: s.to_json() for sid, s in self.sources.items()},
            "unreadable": [dict(u) for u in self.unreadable],
            "segments": [s.to_json() for s in self.segments],
        }

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        """The manifest in ``data`` (parsed JSON); ``ValueError`` when it is not one.

        Fields an older format may lack read as empty, so that ``incompatibility`` can say which
        format it is and a build can still keep its ids with their paths.
        """
        if not isinstance(data, dict):
            raise ValueError("manifest.json is not an object")
        raw_sources = data.get("sources")
        if not isinstance(raw_sources, dict):
            raise ValueError("manifest.json has no sources")
        try:
            sources = {
                str(sid): SourceRecord.from_json(s)
                for sid, s in raw_sources.items()
                if isinstance(s, dict) and isinstance(s.get("path"), str)
            }
            fmt, dim = data.get("format"), data.get("dimension")
            return cls(
                format=fmt if isinstance(fmt, int) else None,
                version=str(data.get("version") or ""),
                model=str(data.get("model") or ""),
                dimension=dim if isinstance(dim, int) else None,
                parser=str(data.get("parser") or ""),
                segmenter=str(data.get("segmenter") or ""),
                created=str(data.get("created") or ""),
                documents=int(data.get("documents") or 0),
                chunks=int(data.get("chunks") or 0),
                sentences=int(data.get("sentences") or 0),
                sources=sources,
                unreadable=tuple(
                    {"path": str(u["path"]), "error": str(u["error"])} for u in data.get("unreadable") or ()
                ),
                segments=tuple(SegmentRef.from_json(s) for s in data.get("segments") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"manifest.json is malformed ({type(exc).__name__}: {exc})") from None

    def known_ids(self) -> dict[str, str]:
        """Path -> id of every source recorded (failed ones too): ids stay with their paths."""
        return {s.path: sid for sid, s in self.sources.items()}

    def indexed(self) -> dict[str, SourceRecord]:
        """The sources that were indexed (not those that failed)."""
        return {sid: s for sid, s in self.sources.items() if not s.error}


def incompatibility(manifest: Manifest, model: str | None, dimension: int | None) -> str | None:
    """Why an index with ``manifest`` cannot serve (or lend its vectors to) this model; None if it can.

    The one check: a build re-indexes in full, stale detection rebuilds, and loading refuses
    whenever it gives a reason. ``model`` or ``dimension`` None is not checked.
    """
    if manifest.format != FORMAT_VERSION:
        return f"the index has format {manifest.format}, this briefqa reads and writes format {FORMAT_VERSION}"
    if model is not None and manifest.model != model:
        return f"the index was built with model {manifest.model!r}, not {model!r}"
    if dimension is not None and manifest.dimension != dimension:
        return f"the index holds {manifest.dimension}-dimensional vectors, the model gives {dimension}"
    return None
