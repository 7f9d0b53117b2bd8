"""Which backend a setting names: the local folder unless ``BRIEFQA_QDRANT`` is set."""

from __future__ import annotations

from pathlib import Path

from ...settings import DEFAULT_QDRANT_PREFIX
from .interface import IndexStore
from .local.store import LocalStore


def open_store(
    index: Path, qdrant: str | None = None, api_key: str | None = None, prefix: str = DEFAULT_QDRANT_PREFIX
) -> IndexStore:
    """The store ``BRIEFQA_QDRANT`` names (unset: the local folder ``index``), connected and checked;
    in Qdrant, the deployment ``BRIEFQA_QDRANT_PREFIX=prefix`` names.

    Raises ``BackendError`` naming the setting when Qdrant cannot be reached or refuses the key.
    """
    if not qdrant:
        return LocalStore(index)
    from .qdrant.store import QdrantStore

    return QdrantStore.connect(qdrant, api_key, index, prefix)


def as_store(where: Path | IndexStore) -> IndexStore:
    """A store for callers that still name a folder: the local store there."""
    return LocalStore(where) if isinstance(where, Path) else where
