"""The index in Qdrant (``BRIEFQA_QDRANT``): versions as collections, published by one alias swap.

Publishing writes the new version's collections whole (``write``), then points the three aliases
at them in one ``update_collection_aliases`` call, which Qdrant applies atomically. Which versions
are kept, and which loads when the live one is damaged, is ``IndexStore``'s rule for every
backend; collections a failed build left are dropped by the next build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ....errors import BackendError, IndexDamagedError, IndexMissingError
from ...lexical import LexicalIndex
from ...loaded_version import IndexVersion
from ...manifest import Manifest
from ..interface import IndexStore, check_manifest, version_name
from .client import Cluster, QdrantClientGuard, cluster_of, embedded, names_server, release, server
from .read import read_version
from .schema import META_ID, ROLES, alias_of, collection_of, collections_of, version_of
from .write import write_version


class QdrantStore(IndexStore):
    """Versions of the index in Qdrant."""

    def __init__(self, guard: QdrantClientGuard, root: Path, cluster: Cluster | None = None) -> None:
        self._guard = guard
        self._root = root
        self._cluster = cluster or Cluster()

    @classmethod
    def connect(cls, setting: str, api_key: str | None, root: Path) -> QdrantStore:
        """The store ``BRIEFQA_QDRANT=setting`` names, reachable; ``BackendError`` naming the setting if not."""
        if names_server(setting):
            cluster = cluster_of(setting)  # a mistyped option is told before any connection is tried
            return cls(server(setting, api_key), root, cluster)
        return cls(embedded(Path(setting).expanduser()), root)

    @property
    def root(self) -> Path:
        return self._root

    @property
    def embedded(self) -> bool:
        return self._guard.embedded

    def describe(self) -> str:
        return f"Qdrant at {self._guard.where}"

    # ---- what is published --------------------------------------------------------------------

    def current_version(self) -> str | None:
        with self._guard.call("reading its aliases") as client:
            aliases = {a.alias_name: a.collection_name for a in client.get_aliases().aliases}
        target = aliases.get(alias_of(ROLES[0]))
        return None if target is None else version_of(target)

    def versions(self) -> list[str]:
        """Every version with a collection in Qdrant (finished or not), newest first."""
        with self._guard.call("listing its collections") as client:
            names = [c.name for c in client.get_collections().collections]
        return sorted({v for n in names if (v := version_of(n)) is not None}, reverse=True)

    def finished(self, name: str) -> bool:
        try:
            with self._guard.call(f"reading version {name}") as client:
                meta = client.retrieve(collection_of(name, "sources"), ids=[META_ID], with_payload=["complete"])
        except BackendError:
            return False
        return bool(meta and meta[0].payload and meta[0].payload.get("complete"))

    def manifest(self, name: str) -> Manifest | None:
        try:
            with self._guard.call(f"reading version {name}") as client:
                meta = client.retrieve(collection_of(name, "sources"), ids=[META_ID], with_payload=["manifest"])
            return Manifest.from_json(meta[0].payload["manifest"]) if meta and meta[0].payload else None
        except (BackendError, KeyError, ValueError):
            return None

    def damage(self, name: str) -> str | None:
        """Reading the version whole is the check: Qdrant keeps no checksums to compare."""
        try:
            read_version(self._guard, name)
        except (IndexDamagedError, IndexMissingError) as exc:
            return str(exc).split("; run ")[0]
        return None

    def read(self, name: str, model: str | None, dimension: int | None) -> IndexVersion:
        index = read_version(self._guard, name)
        check_manifest(index.manifest, model, dimension)
        return index

    # ---- writing --------------------------------------------------------------------------------

    def begin_version(self) -> str:
        return version_name()

    def publish(self, name: str, manifest: Manifest, chunk_vectors: np.ndarray, lexical: LexicalIndex) -> str:
        """Write version ``name`` from the segments, then swap the three aliases to it in one call."""
        from qdrant_client import models as m

        write_version(self._guard, self._root, name, manifest, lexical, self._cluster)
        # Read back before anyone can see it: a version that is not whole is never published.
        if (problem := self.damage(name)) is not None:
            raise BackendError(f"{problem}, right after it was written; the live version is unchanged")
        with self._guard.call(f"publishing version {name}") as client:
            existing = {a.alias_name for a in client.get_aliases().aliases}
            ops: list[Any] = []
            for role in ROLES:
                alias = alias_of(role)
                if alias in existing:
                    ops.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=alias)))
                ops.append(
                    m.CreateAliasOperation(
                        create_alias=m.CreateAlias(collection_name=collection_of(name, role), alias_name=alias)
                    )
                )
            client.update_collection_aliases(ops)
        return name

    def drop_unfinished(self) -> None:
        # An unfinished version has collections like any other: ``versions`` lists it, and
        # ``collect_garbage`` drops it as it keeps only finished ones.
        return None

    def drop(self, name: str) -> None:
        """Delete version ``name``'s collections."""
        with self._guard.call(f"dropping version {name}") as client:
            existing = {c.name for c in client.get_collections().collections}
            for collection in collections_of(name).values():
                if collection in existing:
                    client.delete_collection(collection)

    def segments_in_use(self) -> set[str]:
        # A version in Qdrant is served from its collections alone: its segments are only the
        # build's cache, kept while this build's sources list them.
        return set()

    # ---- reading --------------------------------------------------------------------------------

    def published_stamp(self) -> object:
        # Reading the alias is a round trip: the watcher's periodic look is the only one.
        return None

    def version_stamp(self, name: str) -> tuple[object, ...]:
        """The point count of each of the version's collections (a repair writes a new version)."""
        with self._guard.call(f"counting version {name}") as client:
            existing = {c.name for c in client.get_collections().collections}
            return tuple(
                int(client.count(collection, exact=True).count) if collection in existing else -1
                for collection in collections_of(name).values()
            )

    def close(self) -> None:
        """Let another process open an embedded folder (a server's client stays shared)."""
        release(self._guard)
