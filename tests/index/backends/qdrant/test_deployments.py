"""Deployments sharing one Qdrant, the build lock kept in Qdrant, and garbage collection under faults.

Two stores on one embedded folder share its one client, as two deployments share a server; faults
come from ``faults.FaultyClient``, the real embedded client underneath raising on a chosen call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from briefqa.answers.searcher import open_searcher
from briefqa.errors import BackendError, IndexBusyError
from briefqa.index.backends.choose import open_store
from briefqa.index.backends.interface import version_name
from briefqa.index.backends.qdrant.client import Cluster
from briefqa.index.backends.qdrant.lock import QdrantBuildLock
from briefqa.index.backends.qdrant.schema import create_collections
from briefqa.index.backends.qdrant.store import QdrantStore
from briefqa.index.build.pipeline import build_index
from briefqa.settings import Settings

from ....conftest import FakeEmbedder, write_source
from .faults import faulty, on


def _store(tmp_path: Path, prefix: str, root: str = "index") -> QdrantStore:
    store = open_store(tmp_path / root, str(tmp_path / "qdrant"), prefix=prefix)
    assert isinstance(store, QdrantStore)
    return store


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[QdrantStore, QdrantStore]]:
    """Deployments ``briefqa`` and ``briefqa-2`` (one a prefix of the other) on one Qdrant folder."""
    first, second = _store(tmp_path, "briefqa", "index-1"), _store(tmp_path, "briefqa-2", "index-2")
    yield first, second
    first.close()


def _sources(store: QdrantStore) -> set[str]:
    return {d.id for d in open_searcher(store, FakeEmbedder()).sources()}


def test_deployments_with_different_prefixes_never_read_swap_or_drop_each_others(
    two: tuple[QdrantStore, QdrantStore], corpus: Path, tmp_path: Path
) -> None:
    first, second = two
    emb = FakeEmbedder()
    mine = build_index(corpus, first, emb).version
    other = tmp_path / "other"
    write_source(other, "harbours.md", "harbours")
    # Enough builds of the second deployment that its garbage collection drops versions of its own.
    for year in (2001, 2002, 2003, 2004):
        write_source(other, "harbours.md", "harbours", year)
        build_index(other, second, emb)
    assert first.versions() == [mine] and first.current_version() == mine
    assert mine not in second.versions() and len(second.versions()) == 2
    assert _sources(first) == {"fisheries", "railways", "glaciers"}
    assert _sources(second) == {"harbours"}
    # And the other way round: the first deployment's builds leave the second's as they were.
    before = (second.current_version(), second.versions())
    for year in (2011, 2012, 2013):
        write_source(corpus, "fisheries.md", "fisheries", year)
        build_index(corpus, first, emb)
    assert (second.current_version(), second.versions()) == before
    assert _sources(second) == {"harbours"}


@pytest.mark.parametrize("prefix", ["Briefqa", "brief/qa", "-briefqa", "", "b" * 49, "x-20260101T000000000000Z"])
def test_a_prefix_that_could_not_name_collections_apart_is_refused_naming_the_setting(prefix: str) -> None:
    with pytest.raises(ValidationError, match="qdrant_prefix"):
        Settings(qdrant_prefix=prefix)


def test_a_store_refuses_a_bad_prefix_before_connecting(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="BRIEFQA_QDRANT_PREFIX: 'a b'"):
        open_store(tmp_path / "index", "http://127.0.0.1:1", prefix="a b")


def test_a_second_host_cannot_build_while_the_first_holds_the_lock_in_qdrant(
    two: tuple[QdrantStore, QdrantStore], corpus: Path, tmp_path: Path
) -> None:
    first, _ = two
    # Another host: the same deployment, its own index folder (so no shared lock file).
    elsewhere = _store(tmp_path, "briefqa", "index-elsewhere")
    with first.build_lock():
        with pytest.raises(IndexBusyError, match="holds the build lock in Qdrant"):
            build_index(corpus, elsewhere, FakeEmbedder(), lock_timeout=0.5)
        # Another deployment's builds are not held up.
        build_index(corpus, two[1], FakeEmbedder(), lock_timeout=0.5)
    assert elsewhere.current_version() is None
    assert build_index(corpus, elsewhere, FakeEmbedder(), lock_timeout=0.5).published


def test_a_dead_holders_lease_runs_out_and_the_holder_may_not_publish_after(
    two: tuple[QdrantStore, QdrantStore],
) -> None:
    first, _ = two
    guard = first._guard
    dead = QdrantBuildLock(guard, "briefqa", timeout=0.2, lease=60)
    dead.__enter__()  # taken and never given back, as by a process that was killed
    with pytest.raises(IndexBusyError, match="holds the build lock"):
        QdrantBuildLock(guard, "briefqa", timeout=0.2).__enter__()
    # A minute on (its lease not renewed since), the next build takes it.
    later = QdrantBuildLock(guard, "briefqa", timeout=0.2, clock=lambda: time.time() + 61)
    with later:
        # The stalled holder, should it wake, finds the lock gone before it touches anything.
        with pytest.raises(IndexBusyError, match="lost the build lock"):
            dead.check()
        dead.__exit__(None, None, None)  # and giving it back leaves the new holder's lease alone
        later.check()
    with QdrantBuildLock(guard, "briefqa", timeout=0.2):  # released: free at once
        pass


def _three_sources_changed(corpus: Path, year: int) -> None:
    for topic in ("fisheries", "railways", "glaciers"):
        write_source(corpus, f"{topic}.md", topic, year)


def test_a_qdrant_error_while_telling_whether_a_version_is_finished_keeps_it(
    two: tuple[QdrantStore, QdrantStore], corpus: Path
) -> None:
    store, _ = two
    emb = FakeEmbedder()
    build_index(corpus, store, emb)
    _three_sources_changed(corpus, 2031)
    previous = build_index(corpus, store, emb).version  # what servers that have not swapped read
    _three_sources_changed(corpus, 2032)
    fails = on("retrieve", f"{previous}-sources", with_payload=["complete"])
    with faulty(store, fails, times=10) as client:
        live = build_index(corpus, store, emb).version
    assert client.raised, "the fault was never injected"
    assert previous in store.versions() and store.damage(previous) is None
    # Once Qdrant answers again, the next build drops what it now can tell is old.
    _three_sources_changed(corpus, 2033)
    newest = build_index(corpus, store, emb).version
    assert store.versions() == [newest, live]


def test_a_qdrant_error_listing_what_is_live_drops_nothing(two: tuple[QdrantStore, QdrantStore], corpus: Path) -> None:
    store, _ = two
    emb = FakeEmbedder()
    for year in (2041, 2042):
        _three_sources_changed(corpus, year)
        build_index(corpus, store, emb)
    # An unfinished version, as a killed build leaves: what garbage collection drops when it can tell.
    create_collections(store._guard, version_name(), FakeEmbedder.dimension, Cluster(), store.prefix)
    kept = store.versions()
    assert len(kept) == 3
    with faulty(store, on("get_aliases")) as client:
        store.collect_garbage()
    assert client.raised == ["get_aliases"] and store.versions() == kept
    store.collect_garbage()
    assert len(store.versions()) == 2
