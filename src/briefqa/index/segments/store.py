"""The segment store: one immutable file per indexed source, shared by every version and every build.

Layout under ``BRIEFQA_INDEX/segments/<model>/``::

    <key>-<codec>.seg           one source: its document, sentences, chunks, their vectors and the
                                codes of its word pieces (``file`` is the file format)
    partial/<key>-b<n>/<i>.npz  batches of a large source still being embedded (``build.partial``)

``<key>`` names the source's content, file kind, parser and segmenter (``cache_key``), ``<codec>``
how its pieces are stored (``codec``): a source that has not changed is never written
again, and a version is a manifest listing the segments it is made of (name, size and digest
each). A new version writes only the segments of new or changed sources. This is also the
build's cache: a source whose segment exists and verifies is neither parsed nor embedded.

A segment is verified (its footer digest over all its bytes) before a build reuses it and before a
version serving from it loads; a process remembers what it verified by (device, inode, size,
mtime), so a version that shares all but one segment with the last one costs one digest to load.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...records import Chunk, Document, Sentence, document_from_json, document_to_json
from ..manifest import Manifest, SegmentRef
from .codec import PieceCodec, codec_named, model_key
from .file import FOOTER, SegmentError, SegmentFile, footer_problem, write_segment
from .pieces import BLOCKS, PIECES, SENTENCE_VECTORS, PieceSource, TokenStore, blocks_fit, pack_codes

SUFFIX = ".seg"
VECTOR_DTYPE = np.float16  # passage and sentence vectors: dense search and ranking lose nothing measurable


@dataclass(frozen=True, slots=True)
class SourceSegment:
    """What a segment holds besides its word pieces (those are read row by row when asked for)."""

    file: SegmentFile
    doc: Document
    sentences: list[Sentence]
    quote_starts: np.ndarray
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray | None  # None unless asked for (``read_source(vectors=True)``)
    piece_offsets: np.ndarray  # sentence i owns piece rows offsets[i]:offsets[i+1]
    piece_blocks: np.ndarray  # where each passage's compressed codes start (``pieces.BLOCKS``)
    piece_df: np.ndarray  # (piece id, sentences holding it) pairs
    codec: str
    terms: list[list[str]]  # per passage, its BM25 terms (``briefqa.terms``), kept for every build


def segment_dir(root: Path, model: str) -> Path:
    """Where the segments (and the partial batches) of ``model`` live under index root ``root``."""
    return root / "segments" / model_key(model)


def segment_name(key: str, codec: PieceCodec) -> str:
    return f"{key}-{codec.name}{SUFFIX}"


def write_source(
    path: Path,
    doc: Document,
    sentences: list[Sentence],
    quoted: list[tuple[int, int]],
    chunks: list[Chunk],
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    pieces: list[np.ndarray],
    piece_ids: list[np.ndarray],
    codec: PieceCodec,
    terms: list[list[str]],
) -> SegmentRef:
    """Write one source's segment (its pieces coded by ``codec``); returns how manifests name it."""
    counts = np.array([len(p) for p in pieces], dtype=np.int64)
    dim = chunk_vectors.shape[1]
    rows = np.vstack(pieces) if len(pieces) and counts.sum() else np.zeros((0, dim), np.float32)
    # Per sentence, each piece once: the corpus-wide rarity of a piece is a sum of these.
    owner = np.repeat(np.arange(len(pieces), dtype=np.int64), counts)
    ids = np.concatenate(piece_ids).astype(np.int64) if len(piece_ids) else np.zeros(0, np.int64)
    pairs = np.unique(np.stack([owner, ids], axis=1), axis=0) if len(ids) else np.zeros((0, 2), np.int64)
    df_ids, df = np.unique(pairs[:, 1], return_counts=True)
    meta = {**document_to_json(doc), "headings": [c.heading for c in chunks], "codec": codec.name, "terms": terms}
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    codes, blocks = pack_codes(codec.encode(rows).reshape(-1, codec.width), offsets, [c.first_sentence for c in chunks])
    write_segment(
        path,
        meta,
        {
            "sentences": np.array(
                [(s.start, s.end, s.block, q[0]) for s, q in zip(sentences, quoted, strict=True)], dtype=np.int64
            ).reshape(-1, 4),
            "chunks": np.array(
                [(c.start, c.end, c.first_sentence, c.last_sentence) for c in chunks], dtype=np.int64
            ).reshape(-1, 4),
            "chunk_vectors": np.asarray(chunk_vectors, dtype=VECTOR_DTYPE),
            "sentence_vectors": np.asarray(sentence_vectors, dtype=VECTOR_DTYPE).reshape(-1, dim),
            "piece_offsets": offsets,
            "piece_df": np.stack([df_ids, df], axis=1).astype(np.int32).reshape(-1, 2),
            BLOCKS: blocks,
            PIECES: codes,
        },
    )
    # Read back before any version lists it: what is on disk is what was meant.
    if (found := footer_problem(path)) is not None:
        raise SegmentError(f"segment {found} right after it was written")
    with _VERIFYING:
        _VERIFIED[str(path)] = _stamp(path.stat())
    return ref_of(path)


def ref_of(path: Path) -> SegmentRef:
    """How a manifest names the segment at ``path`` (its digest is the file's last bytes)."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        fh.seek(max(size - FOOTER, 0))
        return SegmentRef(path.name, size, fh.read(FOOTER).hex())


# Path -> (device, inode, size, mtime) of every segment this process verified: a segment is read
# whole once, when first opened, not at every load of every version that shares it.
_VERIFIED: dict[str, tuple[int, int, int, int]] = {}
_VERIFYING = threading.Lock()
# Beside the segments: the stamps of those a build verified or wrote, so that the next build (a
# new process) need not read every segment again to know the live version is intact. Servers do
# not read it: each verifies every segment it serves from the first time it opens it.
STAMPS = "verified.json"


def _stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def problem(path: Path, ref: SegmentRef | None = None) -> str | None:
    """What is wrong with the segment at ``path`` (against ``ref`` when given); None if intact."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"segment {path.name} is missing"
    except OSError as exc:
        return f"segment {path.name} cannot be read ({exc.strerror or type(exc).__name__})"
    if ref is not None and st.st_size != ref.size:
        return f"segment {path.name} has {st.st_size} bytes, {ref.size} were written"
    if ref is not None and ref_of(path).digest != ref.digest:
        return f"segment {path.name} is not the one this version was built with (checksum mismatch)"
    if _VERIFIED.get(str(path)) == _stamp(st):
        return None
    if (found := footer_problem(path)) is not None:
        return f"segment {found}"
    with _VERIFYING:
        _VERIFIED[str(path)] = _stamp(st)
    return None


def trust_stamps(folder: Path) -> None:
    """Take the stamps a build recorded in ``folder`` as verified (builds only; see ``STAMPS``)."""
    try:
        recorded = json.loads((folder / STAMPS).read_bytes())
        items = [(str(folder / name), tuple(int(x) for x in stamp)) for name, stamp in recorded.items()]
    except (OSError, ValueError, TypeError, AttributeError):
        return
    with _VERIFYING:
        for path, stamp in items:
            if len(stamp) == 4:
                _VERIFIED.setdefault(path, stamp)  # type: ignore[arg-type]


def trust_all_stamps(root: Path) -> None:
    """``trust_stamps`` for every model's segment folder under index root ``root``."""
    base = root / "segments"
    if base.is_dir():
        for folder in base.iterdir():
            trust_stamps(folder)


def record_stamps(folder: Path) -> None:
    """Write the stamps of the segments of ``folder`` this process verified (see ``STAMPS``)."""
    prefix = f"{folder}{os.sep}"
    with _VERIFYING:
        mine = {p[len(prefix) :]: list(s) for p, s in _VERIFIED.items() if p.startswith(prefix)}
    keep = {name: stamp for name, stamp in mine.items() if (folder / name).is_file()}
    tmp = folder / f".{STAMPS}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(json.dumps(keep))
    os.replace(tmp, folder / STAMPS)


def read_source(path: Path, whole: bool = True, vectors: bool = True) -> SourceSegment:
    """A segment's document, spans and vectors (``SegmentError`` when it does not read as written).

    With ``whole`` False (a build reusing the source) its sentence vectors and word-piece offsets
    are left unread: a version reads them when it loads. With ``vectors`` False only the sentence
    vectors are (a local version reads them a few rows at a time, ``TokenStore.sentence_vectors``).
    """
    seg = SegmentFile(path)
    try:
        meta = seg.meta
        doc = document_from_json(meta)
        heads = meta["headings"]
        sents_raw = seg.array("sentences")
        sentences = [Sentence(int(a), int(b), int(c)) for a, b, c, _q in sents_raw.tolist()]
        chunks = [
            Chunk(int(a), int(b), heads[i], int(f), int(la)) for i, (a, b, f, la) in enumerate(seg.array("chunks"))
        ]
        out = SourceSegment(
            file=seg,
            doc=doc,
            sentences=sentences,
            quote_starts=sents_raw[:, 3].copy() if len(sents_raw) else np.zeros(0, np.int64),
            chunks=chunks,
            chunk_vectors=seg.array("chunk_vectors"),
            sentence_vectors=seg.array(SENTENCE_VECTORS) if whole and vectors else None,
            piece_offsets=seg.array("piece_offsets") if whole else np.zeros(1, np.int64),
            piece_blocks=seg.array(BLOCKS) if whole else np.zeros((1, 2), np.int64),
            piece_df=seg.array("piece_df") if whole else np.zeros((0, 2), np.int32),
            codec=str(meta["codec"]),
            terms=[[str(t) for t in passage] for passage in meta["terms"]],
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        if isinstance(exc, SegmentError):
            raise
        raise SegmentError(f"{path.name} does not hold a source ({type(exc).__name__})") from None
    size = len(doc.text)
    if (
        len(out.chunk_vectors) != len(chunks)
        or seg.shape(SENTENCE_VECTORS) != (len(sentences), out.chunk_vectors.shape[1])
        or len(heads) != len(chunks)
        or len(out.terms) != len(chunks)
        or (whole and not _offsets_fit(out.piece_offsets, len(sentences)))
        or (whole and not blocks_fit(out.piece_blocks, len(sentences), seg.shape(PIECES)[0]))
        or any(not 0 <= s.start <= s.end <= size for s in sentences)
    ):
        raise SegmentError(f"{path.name} holds arrays that disagree with each other")
    return out


def _offsets_fit(offsets: np.ndarray, sentences: int) -> bool:
    return len(offsets) == sentences + 1 and int(offsets[0]) == 0 and bool(np.all(np.diff(offsets) >= 0))


def reusable(path: Path, content_hash: str, codec: PieceCodec) -> SourceSegment | None:
    """The segment at ``path`` if a build can take it as it is: present, intact, holding the
    source with ``content_hash`` (not another source's segment under its name), same codec."""
    if not path.is_file() or problem(path) is not None:
        return None
    try:
        seg = read_source(path, whole=False)
    except (SegmentError, OSError):
        return None
    return seg if seg.codec == codec.name and seg.doc.content_hash == content_hash else None


def listed(path: Path, ref: SegmentRef, codec: PieceCodec) -> SourceSegment | None:
    """The segment a kept version lists as ``ref``, if intact and of ``codec``, whatever source
    content it holds: a file that no longer parses is served from its last good segment."""
    if not path.is_file() or problem(path, ref) is not None:
        return None
    try:
        seg = read_source(path, whole=False)
    except (SegmentError, OSError):
        return None
    return seg if seg.codec == codec.name else None


def referenced(versions: list[dict[str, Any]]) -> set[str]:
    """Names of the segments the given manifests (as JSON) list."""
    return {str(s["name"]) for m in versions for s in m.get("segments") or () if isinstance(s, dict)}


def prune(folder: Path, keep: set[str]) -> None:
    """Delete the segments of ``folder`` no kept version lists and this build did not write."""
    if not folder.is_dir():
        return
    for path in folder.glob(f"*{SUFFIX}"):
        if path.name not in keep:
            path.unlink(missing_ok=True)
    for tmp in folder.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def read_segments(root: Path, manifest: Manifest, *, sentence_vectors: bool = True) -> list[SourceSegment]:
    """The segments ``manifest`` lists, under index root ``root``, each verified (once per
    process) and read but for its word pieces (and its sentence vectors, unless
    ``sentence_vectors``); both backends read a version's sources so.

    Raises ``ValueError`` (``SegmentError``) naming the first segment that is missing or damaged.
    """
    folder = segment_dir(root, manifest.model)
    out = []
    for ref in manifest.segments:
        path = folder / ref.name
        if (found := problem(path, ref)) is not None:
            raise ValueError(found)
        seg = read_source(path, vectors=sentence_vectors)
        # The id and path are where the file is now (a moved file keeps its segment).
        record = manifest.sources.get(ref.source)
        if record is not None:
            seg = dataclasses.replace(seg, doc=dataclasses.replace(seg.doc, id=ref.source, path=record.path))
        out.append(seg)
    return out


def token_store(segments: list[SourceSegment], manifest: Manifest) -> TokenStore:
    """The word pieces of ``segments`` (read whole), decoded by the codec each was written with."""
    dim = manifest.dimension or 0
    codecs: dict[str, PieceCodec] = {}
    pieces = [
        PieceSource(
            s.file,
            s.piece_offsets,
            s.piece_blocks,
            s.piece_df,
            codecs.setdefault(s.codec, codec_named(manifest.model, dim, s.codec)),
        )
        for s in segments
    ]
    return TokenStore(pieces, dim)
