"""The index in Qdrant (``BRIEFQA_QDRANT``): versions as collections, published by one alias swap.

``BRIEFQA_QDRANT`` is a folder (Qdrant's embedded local mode: the client's own Python
re-implementation, one process at a time, for tests and small installs) or the http(s) URL of a
Qdrant server or cluster (``BRIEFQA_QDRANT_API_KEY`` when it needs one). A URL's query may say how
a version's collections are laid out on a cluster: ``?shard_number=6&replication_factor=2``
(and ``write_consistency_factor``).

Publishing writes the new version's collections whole (``qdrant_version``), then points the three
aliases at them in one ``update_collection_aliases`` call, which Qdrant applies atomically. The
live version and the one before it are kept: a server that has not yet swapped, and requests in
flight on the version it is swapping out, still read the previous one; older versions, and
collections a failed build left, are dropped by the next build.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import numpy as np

from ..errors import BackendError, IndexDamagedError, IndexMismatchError, IndexMissingError
from .lexical import LexicalIndex
from .manifest import Manifest, incompatibility
from .qdrant_version import (
    META_ID,
    ROLES,
    Cluster,
    QdrantClientGuard,
    alias_of,
    collection_of,
    collections_of,
    first_line,
    read_version,
    version_of,
    write_version,
)
from .store import IndexVersion
from .versions import version_name

# The live version and the one before it (see the module docstring).
KEEP_VERSIONS = 2
CLUSTER_OPTIONS = ("shard_number", "replication_factor", "write_consistency_factor")
# One client per embedded folder in a process: Qdrant's local mode locks its folder, and a server
# that rebuilds over HTTP writes with the client it serves from.
_EMBEDDED: dict[str, QdrantClientGuard] = {}
_EMBEDDED_LOCK = threading.Lock()


def names_server(setting: str) -> bool:
    """Whether a ``BRIEFQA_QDRANT`` value names a Qdrant server (a URL) rather than the folder of
    the embedded mode, which one process at a time may open."""
    return "://" in setting


class QdrantStore:
    """Versions of the index in Qdrant (``stores.IndexStore``)."""

    def __init__(self, guard: QdrantClientGuard, root: Path, cluster: Cluster | None = None) -> None:
        self._guard = guard
        self._root = root
        self._cluster = cluster or Cluster()

    @classmethod
    def connect(cls, setting: str, api_key: str | None, root: Path) -> QdrantStore:
        """The store ``BRIEFQA_QDRANT=setting`` names, reachable; ``BackendError`` naming the setting if not."""
        if names_server(setting):
            cluster = _cluster(setting)  # a mistyped option is told before any connection is tried
            return cls(_server(setting, api_key), root, cluster)
        return cls(_embedded(Path(setting).expanduser()), root)

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

    def _finished(self, name: str) -> bool:
        try:
            with self._guard.call(f"reading version {name}") as client:
                meta = client.retrieve(collection_of(name, "sources"), ids=[META_ID], with_payload=["complete"])
        except BackendError:
            return False
        return bool(meta and meta[0].payload and meta[0].payload.get("complete"))

    def _manifest(self, name: str) -> Manifest | None:
        try:
            with self._guard.call(f"reading version {name}") as client:
                meta = client.retrieve(collection_of(name, "sources"), ids=[META_ID], with_payload=["manifest"])
            return Manifest.from_json(meta[0].payload["manifest"]) if meta and meta[0].payload else None
        except (BackendError, KeyError, ValueError):
            return None

    def damage(self, name: str) -> str | None:
        """What is wrong with version ``name`` in Qdrant, in one phrase; None when it is intact."""
        try:
            read_version(self._guard, name)
        except (IndexDamagedError, IndexMissingError) as exc:
            return str(exc).split("; run ")[0]
        return None

    def previous_manifest(self) -> tuple[Manifest | None, str | None]:
        name = self.current_version()
        if name is None:
            return None, None
        damage = self.damage(name)
        manifest = self._manifest(name)
        if manifest is None:
            older = [v for v in self.versions() if v < name and self.damage(v) is None]
            manifest = self._manifest(older[0]) if older else None
        return manifest, damage

    def intact_manifest(self) -> Manifest | None:
        name = self.current_version()
        return None if name is None or self.damage(name) else self._manifest(name)

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

    def collect_garbage(self) -> None:
        """Keep the live version and the finished one before it; drop the rest (under the build lock)."""
        live = self.current_version()
        kept = [live] if live else []
        kept += [v for v in self.versions() if live is not None and v < live and self._finished(v)][: KEEP_VERSIONS - 1]
        for name in self.versions():
            if name not in kept:
                self.drop(name)

    def drop_old_versions(self) -> None:
        self.collect_garbage()

    def drop(self, name: str) -> None:
        """Delete version ``name``'s collections."""
        with self._guard.call(f"dropping version {name}") as client:
            existing = {c.name for c in client.get_collections().collections}
            for collection in collections_of(name).values():
                if collection in existing:
                    client.delete_collection(collection)

    # ---- reading --------------------------------------------------------------------------------

    def load(self, model: str | None, dimension: int | None, version: str | None = None) -> IndexVersion:
        name = version or self.current_version()
        if name is None:
            raise IndexMissingError(f"no index in {self.describe()}; run `briefqa index` to build it")
        index = read_version(self._guard, name)
        if (reason := incompatibility(index.manifest, model, dimension)) is not None:
            raise IndexMismatchError(f"{reason}; run `briefqa index --full` to rebuild it")
        return index

    def load_newest_intact(
        self, model: str | None, dimension: int | None, older_than: str | None = None
    ) -> IndexVersion | None:
        for name in self.versions():
            if older_than is not None and name >= older_than:
                continue
            try:
                return self.load(model, dimension, version=name)
            except (IndexDamagedError, IndexMismatchError, IndexMissingError):
                continue
        return None

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
        if self._guard.embedded:
            with _EMBEDDED_LOCK:
                for key, guard in list(_EMBEDDED.items()):
                    if guard is self._guard:
                        del _EMBEDDED[key]
                self._guard.client.close()


def _embedded(folder: Path) -> QdrantClientGuard:
    if folder.exists() and not folder.is_dir():
        raise BackendError(f"BRIEFQA_QDRANT {folder} is a file, not a folder")
    key = str(folder.resolve())
    with _EMBEDDED_LOCK:
        if key in _EMBEDDED:
            return _EMBEDDED[key]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            from qdrant_client import QdrantClient

            client = QdrantClient(path=str(folder))
        except OSError as exc:
            raise BackendError(f"BRIEFQA_QDRANT folder {folder} cannot be used: {exc.strerror or exc}") from None
        except RuntimeError as exc:
            if "already accessed" not in str(exc):
                raise BackendError(f"BRIEFQA_QDRANT folder {folder} cannot be opened ({exc})") from None
            raise BackendError(
                f"BRIEFQA_QDRANT folder {folder} is in use by another process (Qdrant's embedded mode admits "
                "one at a time): stop it, or rebuild through the server that holds it (POST /api/index/rebuild)"
            ) from None
        # Closed before the interpreter tears its modules down (the client's own __del__ is too late).
        atexit.register(client.close)
        guard = QdrantClientGuard(client, str(folder), embedded=True)
        _EMBEDDED[key] = guard
        return guard


def _server(setting: str, api_key: str | None) -> QdrantClientGuard:
    from qdrant_client import QdrantClient

    parts = urlsplit(setting)
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    try:
        client = QdrantClient(url=url, api_key=api_key, timeout=10, check_compatibility=False)
        client.get_collections()
    except Exception as exc:  # connection refused, DNS, TLS, 401/403: all mean "not usable as set"
        text = first_line(exc)
        if "401" in text or "403" in text or "nauthorized" in text or "orbidden" in text:
            raise BackendError(
                f"BRIEFQA_QDRANT: Qdrant at {url} refused the request ({text}); check BRIEFQA_QDRANT_API_KEY"
            ) from None
        raise BackendError(f"BRIEFQA_QDRANT: cannot reach Qdrant at {url} ({text})") from None
    return QdrantClientGuard(client, url, embedded=False)


def _cluster(setting: str) -> Cluster:
    options = dict(parse_qsl(urlsplit(setting).query))
    unknown = sorted(set(options) - set(CLUSTER_OPTIONS))
    if unknown:
        raise BackendError(f"BRIEFQA_QDRANT: unknown option {unknown[0]!r} (known: {', '.join(CLUSTER_OPTIONS)})")
    try:
        values = {k: int(v) for k, v in options.items()}
    except ValueError:
        raise BackendError(f"BRIEFQA_QDRANT: {options} must be whole numbers") from None
    if any(v < 1 for v in values.values()):
        raise BackendError("BRIEFQA_QDRANT: shard_number, replication_factor and write_consistency_factor are >= 1")
    return Cluster(**values)
