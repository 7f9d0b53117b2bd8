"""Where versions live: the one interface (``IndexStore``) the build, the searcher and the server use.

Two stores implement it: ``LocalStore``, the versioned folder of ``store`` (the default), and
``QdrantStore`` (``qdrant_store``), chosen by ``BRIEFQA_QDRANT`` through ``open_store``. Both
keep the per-source segments under ``BRIEFQA_INDEX``: they are the build's cache (a source that
did not change is never embedded again) and the local store's data; a version in Qdrant is
written from them and then served from Qdrant alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol

import numpy as np

from . import store
from .lexical import LexicalIndex
from .manifest import Manifest


class IndexStore(Protocol):
    """A place that holds index versions: write, publish atomically, drop old ones, load one."""

    @property
    def root(self) -> Path:
        """The folder of the segments (the build's cache) and of the build lock."""
        ...

    def describe(self) -> str:
        """Where the versions are, for messages ("index folder ./index", "Qdrant at http://...")."""
        ...

    def current_version(self) -> str | None:
        """The live version's name; None when none was published."""
        ...

    def previous_manifest(self) -> tuple[Manifest | None, str | None]:
        """What a build starts from: (a manifest to compare with, what is damaged in the live version)."""
        ...

    def intact_manifest(self) -> Manifest | None:
        """The live version's manifest if the whole version is intact, else None."""
        ...

    def collect_garbage(self) -> None:
        """Drop unfinished builds (only under the build lock) and versions past those kept."""
        ...

    def begin_version(self) -> str:
        """A name for a version about to be written; readers cannot see it yet."""
        ...

    def publish(self, name: str, manifest: Manifest, chunk_vectors: np.ndarray, lexical: LexicalIndex) -> str:
        """Write version ``name`` (its segments are in ``root``) and make it the live one atomically."""
        ...

    def drop_old_versions(self) -> None:
        """After a publish: drop what no reader needs any more (kept versions stay)."""
        ...

    def load(self, model: str | None, dimension: int | None, version: str | None = None) -> store.IndexVersion:
        """The live version (or ``version``), verified and checked against the model."""
        ...

    def load_newest_intact(
        self, model: str | None, dimension: int | None, older_than: str | None = None
    ) -> store.IndexVersion | None:
        """The newest version older than ``older_than`` that loads; None if none does."""
        ...

    def version_stamp(self, name: str) -> tuple[object, ...]:
        """Something that changes whenever version ``name`` is repaired or replaced."""
        ...

    def published_stamp(self) -> object:
        """Something that changes with every publish, cheap enough to read before each request;
        None when reading it costs a round trip (then only the periodic look sees a publish)."""
        ...


class LocalStore:
    """Versions as folders under ``root`` (``store``): the format briefqa always had."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._building: dict[str, Path] = {}

    @property
    def root(self) -> Path:
        return self._root

    def describe(self) -> str:
        return f"index folder {self._root}"

    def current_version(self) -> str | None:
        return store.current_version(self._root)

    def previous_manifest(self) -> tuple[Manifest | None, str | None]:
        return store.previous_manifest(self._root)

    def intact_manifest(self) -> Manifest | None:
        return store.intact_manifest(self._root)

    def collect_garbage(self) -> None:
        store.collect_garbage(self._root)

    def begin_version(self) -> str:
        building = store.new_version_dir(self._root)
        name = building.name.removeprefix(".building-")
        self._building[name] = building
        return name

    def publish(self, name: str, manifest: Manifest, chunk_vectors: np.ndarray, lexical: LexicalIndex) -> str:
        building = self._building.pop(name)
        store.write_version(building, manifest, chunk_vectors, lexical)
        return store.publish(self._root, building)

    def drop_old_versions(self) -> None:
        """Old versions past those kept, and, once a version of this format is live, versions of
        older formats and format 3's per-source cache (``sources/``): nothing reads them any more,
        and they hold every vector twice."""
        store.collect_garbage(self._root)
        shutil.rmtree(self._root / "sources", ignore_errors=True)
        for name in store.sealed_versions(self._root):
            manifest = store.read_manifest_of(self._root, name)
            if manifest is not None and manifest.format != store.FORMAT_VERSION:
                shutil.rmtree(self._root / "versions" / name, ignore_errors=True)

    def load(self, model: str | None, dimension: int | None, version: str | None = None) -> store.IndexVersion:
        return store.load(self._root, model, dimension, version=version)

    def load_newest_intact(
        self, model: str | None, dimension: int | None, older_than: str | None = None
    ) -> store.IndexVersion | None:
        return store.load_newest_intact(self._root, model, dimension, older_than=older_than)

    def published_stamp(self) -> object:
        return store.published_stamp(self._root)

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


def open_store(index: Path, qdrant: str | None = None, api_key: str | None = None) -> IndexStore:
    """The store ``BRIEFQA_QDRANT`` names (unset: the local folder ``index``), connected and checked.

    Raises ``BackendError`` naming the setting when Qdrant cannot be reached or refuses the key.
    """
    if not qdrant:
        return LocalStore(index)
    from .qdrant_store import QdrantStore

    return QdrantStore.connect(qdrant, api_key, index)


def as_store(where: Path | IndexStore) -> IndexStore:
    """A store for callers that still name a folder: the local store there."""
    return LocalStore(where) if isinstance(where, Path) else where
