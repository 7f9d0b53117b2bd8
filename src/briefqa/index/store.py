"""The index on disk, as the rest of briefqa sees it: load a verified version, publish a new one.

Layout of ``BRIEFQA_INDEX``::

    CURRENT                     name of the live version (replaced atomically)
    versions/<name>/            one sealed version (``index_format``), with ``checksums.json``
    versions/.building-<name>/  a version being written (or left by a killed build; collected)
    segments/<model>/           one immutable segment per source, shared by the versions that list
                                it and by later builds (``segments``); batches of a large source
                                still being embedded (``caches``)
    .lock                       held by the one build that may write

The jobs live in ``versions`` (CURRENT, sealing, garbage collection, the lock), ``manifest``
(the typed manifest and the one compatibility check), ``index_format`` (a version's files),
``index_version`` (the read-only façade a searcher reads), ``integrity`` (their checksums),
``segments`` (the per-source store) and ``caches``; their names are re-exported here so callers
import one module.

These functions are the local store; ``stores.LocalStore`` puts them behind the one store
interface (``stores.IndexStore``) that Qdrant's store (``qdrant_store``) implements too. A build
writes each new source's segment (``write_source``), hands ``write_version`` a ``Manifest``
listing the segments, the passage vectors and the lexical index, and publishes; a searcher gets an
``IndexVersion`` from ``load``. Nothing outside the store touches the files or the arrays.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

from ..errors import IndexDamagedError, IndexMismatchError, IndexMissingError
from . import integrity
from .caches import PartialVectors, prune_partials
from .index_format import (
    ARRAY_READS,
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_M,
    HNSW_THRESHOLD,
    IndexVersion,
    dense_index,
    read_folder,
    read_json,
    with_heading,
    write_version,
)
from .manifest import FORMAT_VERSION, Manifest, SourceRecord, incompatibility
from .segments import SegmentRef, model_key, problem, segment_dir
from .versions import (
    KEEP_VERSIONS,
    BuildLock,
    collect_garbage,
    current_version,
    new_version_dir,
    point_current,
    published_stamp,
    seal,
    sealed_versions,
)

log = logging.getLogger("briefqa.store")

# Files every version has whatever else a format adds; any file present at sealing is covered
# by its checksum, these also when a build never wrote them. Its segments are checked too.
REQUIRED_FILES = ("manifest.json", "bm25")
# What parsing a damaged file can raise (faiss raises RuntimeError).
_PARSE_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, RuntimeError, EOFError, zipfile.BadZipFile)

__all__ = [
    "ARRAY_READS",
    "FORMAT_VERSION",
    "HNSW_EF_CONSTRUCTION",
    "HNSW_EF_SEARCH",
    "HNSW_M",
    "HNSW_THRESHOLD",
    "KEEP_VERSIONS",
    "BuildLock",
    "IndexVersion",
    "Manifest",
    "PartialVectors",
    "SegmentRef",
    "SourceRecord",
    "check_manifest",
    "collect_garbage",
    "current_version",
    "damage",
    "dense_index",
    "incompatibility",
    "intact_manifest",
    "load",
    "load_folder",
    "load_newest_intact",
    "model_key",
    "new_version_dir",
    "point_current",
    "previous_manifest",
    "prune_partials",
    "publish",
    "published_stamp",
    "read_manifest",
    "read_manifest_of",
    "seal",
    "sealed_versions",
    "segment_dir",
    "with_heading",
    "write_version",
]


def publish(root: Path, building: Path) -> str:
    """Make a completely written version the live one; returns its name.

    Two steps, each atomic: the finished folder is sealed (checksums recorded, flushed) and loses
    its ``.building-`` prefix, then ``CURRENT`` is replaced. A crash between them leaves an
    unused complete folder and the old version live.
    """
    name = seal(building)
    point_current(root, name)
    return name


def damage(root: Path, name: str) -> str | None:
    """What is wrong with version ``name`` on disk, in one phrase; None when it is intact."""
    folder = root / "versions" / name
    problems = [f"{f} is missing" for f in REQUIRED_FILES if not (folder / f).exists()]
    problems += [p for p in integrity.problems(folder) if p not in problems]
    if not problems and (manifest := _manifest_of(root, name)) is not None:
        # The version's own files are intact, so its manifest truly lists its segments.
        segments = segment_dir(root, manifest.model)
        problems += [p for ref in manifest.segments if (p := problem(segments / ref.name, ref)) is not None]
    if not problems:
        return None
    more = f"; and {len(problems) - 1} more" if len(problems) > 1 else ""
    return f"index version {name} is damaged ({problems[0]}{more})"


def _damaged(reason: str) -> IndexDamagedError:
    return IndexDamagedError(f"{reason}; run `briefqa index` to repair it")


def load(
    root: Path, model: str | None = None, dimension: int | None = None, version: str | None = None
) -> IndexVersion:
    """The live version (or the named one), verified and checked against the model that will embed questions.

    Every file's checksum and every array's shape is checked before anything is served; a damaged
    version raises ``IndexDamagedError`` saying what is wrong and what to run.
    """
    name = version or current_version(root)
    if name is None:
        raise IndexMissingError(f"no index in {root}; run `briefqa index` to build it")
    if not (root / "versions" / name).is_dir():
        raise IndexMissingError(f"index version {name} is gone from {root}; run `briefqa index`")
    if (reason := damage(root, name)) is not None:
        raise _damaged(reason)
    folder = root / "versions" / name
    try:
        manifest = Manifest.from_json(read_json(folder / "manifest.json"))
        check_manifest(manifest, model, dimension)
        return read_folder(folder, manifest)
    except _PARSE_ERRORS as exc:
        # Checksums match but a file still does not parse or fit: written damaged, or by a bug.
        raise _damaged(f"index version {name} is damaged ({_why(exc)})") from None


def load_folder(folder: Path, manifest: Manifest) -> IndexVersion:
    """Read a version still being built (no checksums yet)."""
    return read_folder(folder, manifest)


def load_newest_intact(
    root: Path, model: str | None, dimension: int | None, older_than: str | None = None
) -> IndexVersion | None:
    """The newest version (older than ``older_than``, when given) that loads; None if none does."""
    for name in sealed_versions(root):
        if older_than is not None and name >= older_than:
            continue
        try:
            return load(root, model, dimension, version=name)
        except (IndexDamagedError, IndexMismatchError, IndexMissingError):
            continue
    return None


def read_manifest(root: Path) -> Manifest | None:
    """The live version's manifest, or None when nothing was built or it cannot be read."""
    name = current_version(root)
    return None if name is None else _manifest_of(root, name)


def intact_manifest(root: Path) -> Manifest | None:
    """The live version's manifest if the whole version is intact, else None."""
    name = current_version(root)
    return None if name is None or damage(root, name) else _manifest_of(root, name)


def previous_manifest(root: Path) -> tuple[Manifest | None, str | None]:
    """What a build starts from: (a manifest to compare with, what is damaged in the live version).

    When the live version is intact, its manifest and None. When it is damaged, its manifest if
    that file itself is intact (its ids and hashes are still true), else the newest intact older
    version's, else None; with the damage in one phrase, so the build repairs rather than
    reporting "nothing changed".
    """
    name = current_version(root)
    if name is None:
        return None, None
    reason = damage(root, name)
    if reason is None:
        return _manifest_of(root, name), None
    problems = integrity.problems(root / "versions" / name)
    if not any(p.startswith(("manifest.json ", integrity.CHECKSUMS)) for p in problems):
        manifest = _manifest_of(root, name)
        if manifest is not None:
            return manifest, reason
    for older in sealed_versions(root):
        if older < name and damage(root, older) is None and (manifest := _manifest_of(root, older)):
            return manifest, reason
    return None, reason


def read_manifest_of(root: Path, name: str) -> Manifest | None:
    """Version ``name``'s manifest, or None when it cannot be read."""
    return _manifest_of(root, name)


def _manifest_of(root: Path, name: str) -> Manifest | None:
    try:
        return Manifest.from_json(read_json(root / "versions" / name / "manifest.json"))
    except (OSError, ValueError):
        return None


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    if type(exc) is ValueError and text:  # our own checks say what they found
        return text[:200]
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def check_manifest(manifest: Manifest, model: str | None, dimension: int | None) -> None:
    """Refuse an index of another format, model or dimension (``incompatibility``), saying what to run."""
    if (reason := incompatibility(manifest, model, dimension)) is not None:
        raise IndexMismatchError(f"{reason}; run `briefqa index --full` to rebuild it")
