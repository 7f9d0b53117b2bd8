"""How a version is laid out in Qdrant: its collections' names, the aliases, and their schema.

Per version ``<name>`` (the same timestamped names as the local store's versions), under the
deployment's prefix (``BRIEFQA_QDRANT_PREFIX``, ``briefqa`` unless set; below as ``briefqa``)::

    briefqa-<name>-passages   one point per passage (id: its number in the version): its vector
                              (``dense``, float16, inner product) and its BM25 weights (``bm25``,
                              a sparse vector over the version's own term ids)
    briefqa-<name>-sentences  one point per sentence: its word pieces (``pieces``, a float16
                              multivector compared by MaxSim) and its vector (``sentence``), both
                              on disk and without a graph index (they are only ever fetched by id)
    briefqa-<name>-sources    one point per source (id: its number + 1) holding its text, spans and
                              headings; point 0 holds the manifest and the lexicon (term ids and
                              document frequencies)

and the aliases ``briefqa-passages``, ``briefqa-sentences`` and ``briefqa-sources`` name the live
version's collections. A searcher resolves the aliases once and then reads the version's own
collections, so a request never meets half of a version, and a new version swaps in whole.

BM25 is briefqa's own: each passage's sparse vector holds its term weights as bm25s computes them
(the version's IDF and average length are in them) and a question is the count of each of its
terms, so a dot product is the local store's BM25 score. Qdrant's IDF modifier is never used: it
is computed per shard and not corrected after deletes (qdrant/qdrant#6735), while a version here is
written once, never updated, and carries corpus-wide statistics.
"""

from __future__ import annotations

import re

from ....settings import DEFAULT_QDRANT_PREFIX as DEFAULT_PREFIX
from ....settings import qdrant_prefix_problem as prefix_problem
from .client import Cluster, QdrantClientGuard

ROLES = ("passages", "sentences", "sources")
META_ID = 0  # the sources collection's point holding the manifest and the lexicon
UPLOAD_BATCH = 128  # points per request: a batch of sentences' word pieces is a few MB of JSON
# A version's name as ``interface.version_name`` makes it: a collection is this deployment's only
# when what lies between its prefix and its role is exactly such a name, so ``briefqa`` never
# mistakes ``briefqa-2-<version>-passages`` (deployment ``briefqa-2``'s) for one of its own.
VERSION_SHAPE = re.compile(r"\d{8}T\d{12}Z-[0-9a-f]{6}")
__all__ = ["DEFAULT_PREFIX", "prefix_problem"]  # the setting's rule, named where the names are made


def alias_of(role: str, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}-{role}"


def collection_of(version: str, role: str, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}-{version}-{role}"


def collections_of(version: str, prefix: str = DEFAULT_PREFIX) -> dict[str, str]:
    """Each role's collection of ``version``."""
    return {role: collection_of(version, role, prefix) for role in ROLES}


def lock_collection(prefix: str = DEFAULT_PREFIX) -> str:
    """The collection holding the deployment's build lock (``lock.QdrantBuildLock``): no role is "lock"."""
    return f"{prefix}-lock"


def version_of(collection: str, prefix: str = DEFAULT_PREFIX) -> str | None:
    """The version a collection of this deployment belongs to; None for any other collection."""
    for role in ROLES:
        head, tail = f"{prefix}-", f"-{role}"
        if collection.startswith(head) and collection.endswith(tail):
            middle = collection[len(head) : -len(tail)]
            return middle if VERSION_SHAPE.fullmatch(middle) else None
    return None


def create_collections(
    guard: QdrantClientGuard, version: str, dimension: int, cluster: Cluster, prefix: str = DEFAULT_PREFIX
) -> None:
    """The empty collections of a version; dense search is exact below ``HNSW_THRESHOLD`` passages."""
    from qdrant_client import models as m

    layout = {
        "shard_number": cluster.shard_number,
        "replication_factor": cluster.replication_factor,
        "write_consistency_factor": cluster.write_consistency_factor,
    }
    f16 = m.Datatype.FLOAT16
    no_graph = m.HnswConfigDiff(m=0)
    with guard.call(f"creating the collections of version {version}") as client:
        client.create_collection(
            collection_of(version, "passages", prefix),
            vectors_config={"dense": m.VectorParams(size=dimension, distance=m.Distance.DOT, datatype=f16)},
            sparse_vectors_config={"bm25": m.SparseVectorParams()},
            **layout,
        )
        client.create_collection(
            collection_of(version, "sentences", prefix),
            vectors_config={
                "pieces": m.VectorParams(
                    size=dimension,
                    distance=m.Distance.DOT,
                    datatype=f16,
                    on_disk=True,
                    hnsw_config=no_graph,
                    multivector_config=m.MultiVectorConfig(comparator=m.MultiVectorComparator.MAX_SIM),
                ),
                "sentence": m.VectorParams(
                    size=dimension, distance=m.Distance.DOT, datatype=f16, on_disk=True, hnsw_config=no_graph
                ),
            },
            **layout,
        )
        client.create_collection(collection_of(version, "sources", prefix), vectors_config={}, **layout)
