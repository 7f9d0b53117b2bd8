"""The index on disk: versions as folders under ``BRIEFQA_INDEX`` (``IndexStore``'s local backend).

Layout of ``BRIEFQA_INDEX``::

    CURRENT                     name of the live version (replaced atomically)
    versions/<name>/            one sealed version (``files``), with ``checksums.json``
    versions/.building-<name>/  a version being written (or left by a killed build; collected)
    segments/<model>/           one immutable segment per source, shared by the versions that list
                                it and by later builds (``segments.store``); batches of a large source
                                still being embedded (``build.partial``)
    .lock                       held by the one build that may write

``folder`` names, seals and publishes versions, ``files`` writes and reads one version's files,
``integrity`` checks them; this module is the storage ``IndexStore`` asks for. A build writes each
new source's segment, hands ``publish`` a ``Manifest`` listing the segments, the passage vectors
and the lexical index; a searcher gets an ``IndexVersion`` from ``load``. Nothing outside the
store touches the files or the arrays.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np

from ....errors import IndexMissingError
from ...lexical import LexicalIndex
from ...loaded_version import IndexVersion
from ...manifest import FORMAT_VERSION, Manifest
from ...segments.store import problem, referenced, segment_dir
from ..interface import IndexStore, check_manifest, damage_phrase, damaged
from . import integrity
from .files import read_folder, read_json, write_version
from .folder import current_version, new_version_dir, point_current, published_stamp, seal, sealed_versions

# Files every version has whatever else a format adds; any file present at sealing is covered
# by its checksum, these also when a build never wrote them. Its segments are checked too.
REQUIRED_FILES = ("manifest.json", "bm25")
# What parsing a damaged file can raise (faiss raises RuntimeError).
_PARSE_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, RuntimeError, EOFError, zipfile.BadZipFile)


class LocalStore(IndexStore):
    """Versions as folders under ``root``: the format briefqa always had."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._building: dict[str, Path] = {}

    @property
    def root(self) -> Path:
        return self._root

    def describe(self) -> str:
        return f"index folder {self._root}"

    @property
    def location(self) -> str:
        return str(self._root)

    def current_version(self) -> str | None:
        return current_version(self._root)

    def versions(self) -> list[str]:
        return sealed_versions(self._root)

    def damage(self, name: str) -> str | None:
        """Checksums of the version's files, then its segments' (the manifest lists them)."""
        folder = self._root / "versions" / name
        problems = [f"{f} is missing" for f in REQUIRED_FILES if not (folder / f).exists()]
        problems += [p for p in integrity.problems(folder) if p not in problems]
        if not problems and (manifest := self.manifest(name)) is not None:
            # The version's own files are intact, so its manifest truly lists its segments.
            segments = segment_dir(self._root, manifest.model)
            problems += [p for ref in manifest.segments if (p := problem(segments / ref.name, ref)) is not None]
        return damage_phrase(name, problems) if problems else None

    def manifest(self, name: str) -> Manifest | None:
        try:
            return Manifest.from_json(read_json(self._root / "versions" / name / "manifest.json"))
        except (OSError, ValueError):
            return None

    def trusted_manifest(self, name: str) -> Manifest | None:
        problems = integrity.problems(self._root / "versions" / name)
        if any(p.startswith(("manifest.json ", integrity.CHECKSUMS)) for p in problems):
            return None
        return self.manifest(name)

    def read(self, name: str, model: str | None, dimension: int | None) -> IndexVersion:
        """Every file's checksum and every array's shape is checked before anything is served."""
        folder = self._root / "versions" / name
        if not folder.is_dir():
            raise IndexMissingError(f"index version {name} is gone from {self._root}; run `briefqa index`")
        if (reason := self.damage(name)) is not None:
            raise damaged(reason)
        try:
            manifest = Manifest.from_json(read_json(folder / "manifest.json"))
            check_manifest(manifest, model, dimension)
            return read_folder(folder, manifest)
        except _PARSE_ERRORS as exc:
            # Checksums match but a file still does not parse or fit: written damaged, or by a bug.
            raise damaged(damage_phrase(name, [_why(exc)])) from None

    def drop(self, name: str) -> None:
        shutil.rmtree(self._root / "versions" / name, ignore_errors=True)

    def drop_unfinished(self) -> None:
        """Folders of builds that never sealed, and ``CURRENT`` files never renamed into place."""
        versions = self._root / "versions"
        if versions.is_dir():
            for path in versions.iterdir():
                if path.name.startswith(".building-"):
                    shutil.rmtree(path, ignore_errors=True)
        for tmp in self._root.glob(".CURRENT.*"):
            tmp.unlink(missing_ok=True)

    def begin_version(self) -> str:
        building = new_version_dir(self._root)
        name = building.name.removeprefix(".building-")
        self._building[name] = building
        return name

    def publish(self, name: str, manifest: Manifest, chunk_vectors: np.ndarray, lexical: LexicalIndex) -> str:
        """Two steps, each atomic: the finished folder is sealed (checksums recorded, flushed) and
        loses its ``.building-`` prefix, then ``CURRENT`` is replaced. A crash between them leaves
        an unused complete folder and the old version live."""
        building = self._building.pop(name)
        write_version(building, manifest, chunk_vectors, lexical)
        sealed = seal(building)
        point_current(self._root, sealed)
        return sealed

    def drop_old_versions(self) -> None:
        """Old versions past those kept, and, once a version of this format is live, versions of
        older formats and format 3's per-source cache (``sources/``): nothing reads them any more,
        and they hold every vector twice."""
        self.collect_garbage()
        shutil.rmtree(self._root / "sources", ignore_errors=True)
        for name in self.versions():
            manifest = self.manifest(name)
            if manifest is not None and manifest.format != FORMAT_VERSION:
                self.drop(name)

    def segments_in_use(self) -> set[str]:
        listed: list[dict[str, object]] = []
        for name in self.versions():
            try:
                listed.append(read_json(self._root / "versions" / name / "manifest.json"))
            except (OSError, ValueError):
                continue
        return referenced(listed)

    def published_stamp(self) -> object:
        return published_stamp(self._root)

    def version_stamp(self, name: str) -> tuple[object, ...]:
        """Name, size and modification time of every file of the version: changed by any repair."""
        folder = self._root / "versions" / name
        try:
            return tuple(
                sorted(
                    (p.relative_to(folder).as_posix(), (st := p.stat()).st_size, st.st_mtime_ns)
                    for p in folder.rglob("*")
                    if p.is_file()
                )
            )
        except OSError:
            return ()


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    if type(exc) is ValueError and text:  # our own checks say what they found
        return text[:200]
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
