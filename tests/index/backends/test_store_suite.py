"""What every backend does alike, run against each: the local folder and Qdrant's embedded mode.

Like Haystack's document-store base tests, one suite is run by every store: a build publishes a
version the searcher quotes from, a rebuild embeds only what changed, only the kept versions stay,
a damaged version is never served and the next build repairs it, another model is refused. Each
backend's own tests (``local/``, ``qdrant/``) cover only what its storage adds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from briefqa.answers.live import LiveIndex
from briefqa.answers.searcher import open_searcher
from briefqa.errors import IndexDamagedError, IndexMismatchError, IndexMissingError
from briefqa.index.backends.choose import open_store
from briefqa.index.backends.interface import KEEP_VERSIONS, IndexStore
from briefqa.index.backends.local.store import LocalStore
from briefqa.index.backends.qdrant.schema import collection_of
from briefqa.index.backends.qdrant.store import QdrantStore
from briefqa.index.build.pipeline import build_index

from ...conftest import CountingEmbedder, FakeEmbedder, write_source


def _damage_local(store: IndexStore, version: str) -> None:
    # A file of the version rewritten after sealing: its checksum no longer matches.
    (store.root / "versions" / version / "doc_freq.json").write_text("{}")


def _damage_qdrant(store: IndexStore, version: str) -> None:
    from qdrant_client import models

    assert isinstance(store, QdrantStore)
    with store._guard.call("damaging") as client:
        client.delete(collection_of(version, "sentences"), models.PointIdsList(points=[0, 1]))


@pytest.fixture(params=["local", "qdrant"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[IndexStore, Callable[[IndexStore, str], None]]]:
    """A store of each backend, empty, and how to damage one of its versions behind its back."""
    if request.param == "local":
        yield LocalStore(tmp_path / "index"), _damage_local
        return
    store = open_store(tmp_path / "index", str(tmp_path / "qdrant"))
    assert isinstance(store, QdrantStore)
    yield store, _damage_qdrant
    store.close()


@pytest.fixture
def store(backend: tuple[IndexStore, Callable[[IndexStore, str], None]]) -> IndexStore:
    return backend[0]


def _sources_quoted(store: IndexStore, question: str) -> set[str]:
    return {r.source.id for r in open_searcher(store, FakeEmbedder()).search(question).results}


def test_a_build_publishes_a_version_the_searcher_quotes_from(corpus: Path, store: IndexStore) -> None:
    emb = CountingEmbedder()
    report = build_index(corpus, store, emb)
    assert report.added == ["fisheries", "glaciers", "railways"] and report.published
    assert (report.updated, report.removed, report.unchanged, report.errors) == ([], [], 0, [])
    assert report.documents == 3 and report.chunks >= 3
    assert store.current_version() == report.version == store.versions()[0]
    searcher = open_searcher(store, emb)
    assert searcher.version == report.version
    answer = searcher.search("glaciers budget critics")
    assert answer.results and answer.results[0].source.id == "glaciers"
    for r in answer.results:
        assert searcher.document(r.source.id).text[r.start : r.end] == r.quote  # type: ignore[union-attr]


def test_a_rebuild_embeds_only_what_changed_and_an_unchanged_corpus_publishes_nothing(
    corpus: Path, store: IndexStore
) -> None:
    first = build_index(corpus, store, CountingEmbedder())
    write_source(corpus, "pensions.md", "pensions")  # added
    write_source(corpus, "railways.md", "railways", year=1999)  # updated
    (corpus / "glaciers.md").unlink()  # removed
    emb = CountingEmbedder()
    second = build_index(corpus, store, emb)
    assert (second.added, second.updated, second.removed, second.unchanged) == (
        ["pensions"],
        ["railways"],
        ["glaciers"],
        1,
    )
    assert emb.sources_embedded() == {"pensions", "railways"}
    assert store.current_version() == second.version != first.version
    assert {d.id for d in store.load(None, None).documents} == {"fisheries", "pensions", "railways"}
    assert "glaciers" not in _sources_quoted(store, "glaciers budget critics")
    quotes = open_searcher(store, FakeEmbedder()).search("When was the railways programme launched?").results
    assert "1999" in " ".join(r.quote for r in quotes)
    emb = CountingEmbedder()
    again = build_index(corpus, store, emb)
    assert emb.embedded == []
    assert again.version == second.version == store.current_version()
    assert (again.added, again.updated, again.removed, again.unchanged) == ([], [], [], 3)
    assert again.published is False and any("nothing changed" in n for n in again.notes)


def test_only_the_live_version_and_the_one_before_it_stay(corpus: Path, store: IndexStore) -> None:
    versions = []
    for year in range(2000, 2004):
        write_source(corpus, "railways.md", "railways", year=year)
        versions.append(build_index(corpus, store, FakeEmbedder()).version)
    assert KEEP_VERSIONS == 2
    # The live version and the one before it stay (a server may still be reading it); older go.
    assert store.versions() == sorted(versions[-KEEP_VERSIONS:], reverse=True)
    assert store.current_version() == versions[-1]
    older = store.load_newest_intact(None, None, older_than=versions[-1])
    assert older is not None and older.version == versions[-2]


def test_a_damaged_version_is_never_served_and_the_next_build_repairs_it(
    corpus: Path, backend: tuple[IndexStore, Callable[[IndexStore, str], None]]
) -> None:
    store, damage = backend
    emb = FakeEmbedder()
    good = build_index(corpus, store, emb).version
    live = LiveIndex(corpus, store, emb)
    assert live.refresh() and live.searcher.version == good
    write_source(corpus, "pensions.md", "pensions")
    broken = build_index(corpus, store, emb).version
    damage(store, broken)
    assert store.intact_manifest() is None
    reason = store.damage(broken)
    assert reason is not None and reason.startswith(f"index version {broken}") and "damaged" in reason
    with pytest.raises(IndexDamagedError, match=rf"{broken}.* is damaged \(.*\); run `briefqa index` to repair it$"):
        open_searcher(store, emb)
    # The newest intact version still loads; a server keeps answering from the one it had.
    fallback = store.load_newest_intact(emb.name, emb.dimension)
    assert fallback is not None and fallback.version == good
    assert not live.refresh()
    assert live.searcher.version == good and live.load_error and "damaged" in live.load_error
    assert live.searcher.search("fisheries budget").results
    previous, why = store.previous_manifest()
    assert previous is not None and why == reason
    repaired = build_index(corpus, store, emb)
    assert any("damaged" in n for n in repaired.notes) and repaired.published
    assert live.refresh() and live.searcher.version == repaired.version
    assert "pensions" in {d.id for d in live.searcher.index.documents}


def test_load_refuses_another_model_and_says_what_to_run(corpus: Path, store: IndexStore) -> None:
    build_index(corpus, store, CountingEmbedder())
    with pytest.raises(IndexMismatchError, match=r"'fake-embedder'.*'other'.*briefqa index --full"):
        store.load("other", 64)
    with pytest.raises(IndexMismatchError, match="64-dimensional"):
        store.load("fake-embedder", 384)
    assert store.load_newest_intact("other", 64) is None


def test_a_store_with_nothing_built_is_no_index_and_says_what_to_run(store: IndexStore) -> None:
    assert store.current_version() is None and store.versions() == []
    assert store.previous_manifest() == (None, None) and store.intact_manifest() is None
    with pytest.raises(IndexMissingError, match=r"no index in .*; run `briefqa index` to build it"):
        store.load(None, None)


def test_a_source_that_stops_parsing_is_served_from_its_last_good_version_until_fixed_or_deleted(
    corpus: Path, store: IndexStore
) -> None:
    emb = FakeEmbedder()
    build_index(corpus, store, emb)
    good = store.load(None, None).document("glaciers")
    assert good is not None
    # One save went wrong: the file no longer decodes.
    (corpus / "glaciers.md").write_bytes(b"# The glaciers brief\n\nCritics \xff\xfe argue")
    broken = build_index(corpus, store, emb)
    assert broken.published and broken.failed, "published, and the CLI exits 1"
    assert [(k["id"], k["path"]) for k in broken.kept] == [("glaciers", "glaciers.md")]
    assert "UTF-8" in broken.kept[0]["error"]
    assert (broken.added, broken.updated, broken.removed, broken.errors) == ([], [], [], [])
    assert (broken.unchanged, broken.documents) == (2, 3)
    searcher = open_searcher(store, emb)
    assert searcher.document("glaciers") == good, "served and linked as before"
    assert "glaciers" in _sources_quoted(store, "glaciers budget critics")
    states = {s.id: (s.state, s.problem) for s in searcher.sources()}
    assert states["glaciers"] == ("stale", broken.kept[0]["error"])
    assert states["fisheries"] == ("current", None)
    # Still broken and nothing else changed: nothing to publish, still reported.
    again = build_index(corpus, store, emb)
    assert again.published is False and again.kept == broken.kept and again.failed
    # Another source changes while it is still broken: it is carried into the next version too.
    write_source(corpus, "pensions.md", "pensions")
    more = build_index(corpus, store, emb)
    assert more.added == ["pensions"] and more.kept == broken.kept and more.removed == []
    assert store.load(None, None).document("glaciers") == good
    # Fixed: current again, with the new text.
    write_source(corpus, "glaciers.md", "glaciers", year=2001)
    fixed = build_index(corpus, store, emb)
    assert (fixed.updated, fixed.kept, fixed.failed) == (["glaciers"], [], False)
    searcher = open_searcher(store, emb)
    assert {s.id: s.state for s in searcher.sources()}["glaciers"] == "current"
    assert "2001" in searcher.document("glaciers").text  # type: ignore[union-attr]
    # Deleted: removed, as a deleted source always is.
    (corpus / "glaciers.md").unlink()
    gone = build_index(corpus, store, emb)
    assert (gone.removed, gone.kept) == (["glaciers"], [])
    assert open_searcher(store, emb).document("glaciers") is None
