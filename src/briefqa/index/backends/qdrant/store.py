"""The index in Qdrant (``BRIEFQA_QDRANT``): versions as collections, published by one alias swap.

Publishing writes the new version's collections whole (``write``), then points the three aliases
at them in one ``update_collection_aliases`` call, which Qdrant applies atomically. Which versions
are kept, and which loads when the live one is damaged, is ``IndexStore``'s rule for every
backend; collections a failed build left are dropped by the next build. Every name is under the
deployment's prefix (``BRIEFQA_QDRANT_PREFIX``), and a collection is this deployment's only when
its name is exactly ``<prefix>-<version>-<role>`` (``schema.version_of``), so deployments sharing
a Qdrant never list, swap or drop each other's. Builds on any host take the deployment's lease in
Qdrant (``lock``) as well as the local file lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ....errors import BackendError, IndexDamagedError, IndexMissingError
from ...lexical import LexicalIndex
from ...loaded_version import IndexVersion
from ...manifest import Manifest
from ..interface import BuildLock, IndexStore, check_manifest, version_name
from .client import Cluster, QdrantClientGuard, cluster_of, embedded, names_server, release, server
from .lock import QdrantBuildLock
from .read import read_version
from .schema import DEFAULT_PREFIX, META_ID, ROLES, alias_of, collection_of, collections_of, prefix_problem, version_of
from .write import write_version

log = logging.getLogger("briefqa.store")


class QdrantStore(IndexStore):
    """Versions of the index in Qdrant."""

    # Other hosts may publish into the same Qdrant: ``serve`` serves what is published there.
    shared = True

    def __init__(
        self, guard: QdrantClientGuard, root: Path, cluster: Cluster | None = None, prefix: str = DEFAULT_PREFIX
    ) -> None:
        if (problem := prefix_problem(prefix)) is not None:
            raise BackendError(f"BRIEFQA_QDRANT_PREFIX: {problem}")
        self._guard = guard
        self._root = root
        self._cluster = cluster or Cluster()
        self.prefix = prefix
        self._lease: QdrantBuildLock | None = None  # while this store's build holds the lock

    @classmethod
    def connect(cls, setting: str, api_key: str | None, root: Path, prefix: str = DEFAULT_PREFIX) -> QdrantStore:
        """The store ``BRIEFQA_QDRANT=setting`` names, reachable; ``BackendError`` naming the setting if not."""
        if (problem := prefix_problem(prefix)) is not None:
            raise BackendError(f"BRIEFQA_QDRANT_PREFIX: {problem}")  # before any connection is tried
        if names_server(setting):
            cluster = cluster_of(setting)  # a mistyped option is told before any connection is tried
            return cls(server(setting, api_key), root, cluster, prefix)
        return cls(embedded(Path(setting).expanduser()), root, prefix=prefix)

    @property
    def root(self) -> Path:
        return self._root

    @property
    def embedded(self) -> bool:
        return self._guard.embedded

    def describe(self) -> str:
        where = f"Qdrant at {self._guard.where}"
        return where if self.prefix == DEFAULT_PREFIX else f"{where} (prefix {self.prefix})"

    # ---- what is published --------------------------------------------------------------------

    def current_version(self) -> str | None:
        with self._guard.call("reading its aliases") as client:
            aliases = {a.alias_name: a.collection_name for a in client.get_aliases().aliases}
        target = aliases.get(alias_of(ROLES[0], self.prefix))
        return None if target is None else version_of(target, self.prefix)

    def versions(self) -> list[str]:
        """Every version with a collection in Qdrant (finished or not), newest first."""
        with self._guard.call("listing its collections") as client:
            names = [c.name for c in client.get_collections().collections]
        return sorted({v for n in names if (v := version_of(n, self.prefix)) is not None}, reverse=True)

    def finished(self, name: str) -> bool | None:
        """None when Qdrant does not say (an error): garbage collection keeps what it cannot tell."""
        sources = collection_of(name, "sources", self.prefix)
        try:
            with self._guard.call(f"reading version {name}") as client:
                if not client.collection_exists(sources):
                    return False  # a build that stopped before creating it (they are created in order)
                meta = client.retrieve(sources, ids=[META_ID], with_payload=["complete"])
        except BackendError as exc:
            log.warning("%s: version %s is kept", exc, name)
            return None
        return bool(meta and meta[0].payload and meta[0].payload.get("complete"))

    def manifest(self, name: str) -> Manifest | None:
        try:
            with self._guard.call(f"reading version {name}") as client:
                meta = client.retrieve(
                    collection_of(name, "sources", self.prefix), ids=[META_ID], with_payload=["manifest"]
                )
            return Manifest.from_json(meta[0].payload["manifest"]) if meta and meta[0].payload else None
        except (BackendError, KeyError, ValueError):
            return None

    def damage(self, name: str) -> str | None:
        """Reading the version whole is the check: Qdrant keeps no checksums to compare."""
        try:
            read_version(self._guard, name, self.prefix)
        except (IndexDamagedError, IndexMissingError) as exc:
            return str(exc).split("; run ")[0]
        return None

    def read(self, name: str, model: str | None, dimension: int | None) -> IndexVersion:
        index = read_version(self._guard, name, self.prefix)
        check_manifest(index.manifest, model, dimension)
        return index

    # ---- writing --------------------------------------------------------------------------------

    def begin_version(self) -> str:
        return version_name()

    def publish(self, name: str, manifest: Manifest, chunk_vectors: np.ndarray, lexical: LexicalIndex) -> str:
        """Write version ``name`` from the segments, then swap the three aliases to it in one call."""
        from qdrant_client import models as m

        write_version(self._guard, self._root, name, manifest, lexical, self._cluster, self.prefix)
        # Read back before anyone can see it: a version that is not whole is never published.
        if (problem := self.damage(name)) is not None:
            raise BackendError(f"{problem}, right after it was written; the live version is unchanged")
        # Right before the swap: a build whose lease ran out while it wrote must not publish.
        self._check_lease()
        with self._guard.call(f"publishing version {name}") as client:
            existing = {a.alias_name for a in client.get_aliases().aliases}
            ops: list[Any] = []
            for role in ROLES:
                alias = alias_of(role, self.prefix)
                if alias in existing:
                    ops.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=alias)))
                ops.append(
                    m.CreateAliasOperation(
                        create_alias=m.CreateAlias(
                            collection_name=collection_of(name, role, self.prefix), alias_name=alias
                        )
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
        self._check_lease()
        with self._guard.call(f"dropping version {name}") as client:
            existing = {c.name for c in client.get_collections().collections}
            for collection in collections_of(name, self.prefix).values():
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
                for collection in collections_of(name, self.prefix).values()
            )

    # ---- the build lock -----------------------------------------------------------------------

    def build_lock(self, timeout: float = 600.0) -> AbstractContextManager[object]:
        """The local file lock (this host's builds share the segments) and the deployment's lease in
        Qdrant (``lock.QdrantBuildLock``: builds on other hosts), taken in that order."""
        return self._both_locks(timeout)

    @contextmanager
    def _both_locks(self, timeout: float) -> Iterator[object]:
        with BuildLock(self._root, timeout), QdrantBuildLock(self._guard, self.prefix, timeout) as lease:
            self._lease = lease
            try:
                yield lease
            finally:
                self._lease = None

    def _check_lease(self) -> None:
        if self._lease is not None:
            self._lease.check()

    def close(self) -> None:
        """Let another process open an embedded folder (a server's client stays shared)."""
        release(self._guard)
