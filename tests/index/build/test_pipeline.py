"""Incremental builds, the build report, the manifest, failures, empty corpora, the lock."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from briefqa.answers.searcher import open_searcher
from briefqa.errors import CorpusError, IndexBusyError
from briefqa.index import manifest
from briefqa.index.backends.interface import KEEP_VERSIONS, BuildLock
from briefqa.index.backends.local.files import read_json
from briefqa.index.backends.local.store import LocalStore
from briefqa.index.build import pipeline
from briefqa.index.build.pipeline import build_index, is_stale
from briefqa.index.manifest import FORMAT_VERSION, Manifest
from briefqa.index.segments.store import segment_dir

from ...conftest import CountingEmbedder, write_source


def test_full_rebuild_embeds_everything_again(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    first = build_index(corpus, root, CountingEmbedder())
    emb = CountingEmbedder()
    report = build_index(corpus, root, emb, full=True)
    assert report.version != first.version
    assert emb.sources_embedded() == {"fisheries", "railways", "glaciers"}


def test_moved_source_keeps_its_vectors(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    (corpus / "archive").mkdir()
    (corpus / "glaciers.md").rename(corpus / "archive" / "glaciers.md")
    emb = CountingEmbedder()
    report = build_index(corpus, root, emb)
    assert emb.sources_embedded() == set()
    assert (report.added, report.removed) == (["archive-glaciers"], ["glaciers"])


def test_changed_file_kind_is_parsed_again(corpus: Path, tmp_path: Path) -> None:
    """Same bytes as .md and as .txt parse differently, so the cache must not hand one to the other."""
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    (corpus / "glaciers.md").rename(corpus / "glaciers.txt")
    emb = CountingEmbedder()
    report = build_index(corpus, root, emb)
    assert report.updated == ["glaciers"]
    assert emb.sources_embedded() == {"glaciers"}


def test_manifest_records_model_format_and_each_source(corpus: Path, tmp_path: Path) -> None:
    (corpus / "broken.md").write_bytes(b"\xff\xfe not utf-8 \x00")
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    manifest = LocalStore(root).intact_manifest()
    assert manifest is not None
    assert manifest.format == FORMAT_VERSION
    assert (manifest.model, manifest.dimension) == ("fake-embedder", 64)
    fish = manifest.sources["fisheries"]
    assert fish.title == "The fisheries brief" and fish.chunks >= 1 and fish.error is None
    assert len(fish.hash) == 64
    broken = manifest.sources["broken"]
    assert broken.chunks == 0 and "UTF-8" in (broken.error or "") and broken.path == "broken.md"


def test_broken_source_is_reported_and_the_rest_indexed(corpus: Path, tmp_path: Path) -> None:
    (corpus / "broken.md").write_text("---\ntitle: [unclosed\n---\nSome text here.\n")
    (corpus / "empty.txt").write_text("   \n")
    root = tmp_path / "index"
    report = build_index(corpus, root, CountingEmbedder())
    failed = {e["path"]: e["error"] for e in report.errors}
    assert set(failed) == {"broken.md", "empty.txt"}
    assert "YAML" in failed["broken.md"] and "only white space" in failed["empty.txt"]
    assert report.documents == 3
    # Still failing on the next run: still reported (the CLI exits 1 each time), nothing rebuilt.
    again = build_index(corpus, root, CountingEmbedder())
    assert {e["path"] for e in again.errors} == {"broken.md", "empty.txt"}
    # Fixed: it counts as added.
    (corpus / "broken.md").write_text("---\ntitle: Fixed\n---\nThe fixed source has sentences now.\n")
    fixed = build_index(corpus, root, CountingEmbedder())
    assert fixed.added == ["broken"] and [e["path"] for e in fixed.errors] == ["empty.txt"]


def test_source_that_starts_failing_keeps_its_last_good_version(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    (corpus / "glaciers.md").write_bytes(b"\x00\x01binary")
    emb = CountingEmbedder()
    report = build_index(corpus, root, emb)
    assert report.errors == [] and report.removed == [] and emb.embedded == []
    assert report.kept == [
        {"id": "glaciers", "path": "glaciers.md", "error": "binary content (NUL bytes) in a text file"}
    ]
    assert "glaciers" in {d.id for d in LocalStore(root).load(None, None).documents}
    record = LocalStore(root).intact_manifest().sources["glaciers"]  # type: ignore[union-attr]
    assert (record.state, record.error, record.problem) == ("stale", None, report.kept[0]["error"])
    assert record.chunks >= 1 and record.title == "The glaciers brief"


def test_a_failing_source_with_no_good_version_of_this_model_is_failed(corpus: Path, tmp_path: Path) -> None:
    """Its last good version's vectors are another model's: they cannot be searched with this one."""
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    (corpus / "glaciers.md").write_bytes(b"\x00\x01binary")
    report = build_index(corpus, root, CountingEmbedder("other-embedder"))
    assert [e["path"] for e in report.errors] == ["glaciers.md"] and report.kept == []
    assert "glaciers" not in {d.id for d in LocalStore(root).load(None, None).documents}


def test_a_corpus_whose_every_file_breaks_is_served_from_the_last_good_versions(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    for path in corpus.iterdir():
        path.write_text("")
    report = build_index(corpus, root, CountingEmbedder())
    assert report.failed and report.errors == [] and len(report.kept) == 3
    assert {s.state for s in LocalStore(root).load(None, None).sources()} == {"stale"}


@pytest.mark.parametrize("make_bad", ["empty", "missing"])
def test_unusable_corpus_raises_and_keeps_the_previous_index(corpus: Path, tmp_path: Path, make_bad: str) -> None:
    root = tmp_path / "index"
    first = build_index(corpus, root, CountingEmbedder())
    for path in corpus.iterdir():
        path.unlink()
    if make_bad == "missing":
        corpus.rmdir()
    with pytest.raises(CorpusError) as err:
        build_index(corpus, root, CountingEmbedder())
    assert str(corpus) in str(err.value)
    assert LocalStore(root).current_version() == first.version
    assert len(LocalStore(root).load(None, None).documents) == 3


def test_model_change_forces_a_full_rebuild(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    other = CountingEmbedder(name="other-model")
    report = build_index(corpus, root, other)
    assert any("'fake-embedder'" in n and "'other-model'" in n for n in report.notes)
    assert other.sources_embedded() == {"fisheries", "railways", "glaciers"}
    assert LocalStore(root).intact_manifest().model == "other-model"  # type: ignore[union-attr]


def test_format_change_forces_a_full_rebuild(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    monkeypatch.setattr(manifest, "FORMAT_VERSION", manifest.FORMAT_VERSION + 1)  # what the check expects
    report = build_index(corpus, root, CountingEmbedder())
    assert any("format" in n for n in report.notes)
    assert report.version == LocalStore(root).current_version()


def test_second_build_waits_for_the_lock_or_says_why_it_stopped(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    with BuildLock(root), pytest.raises(IndexBusyError, match="another build"):
        build_index(corpus, root, CountingEmbedder(), lock_timeout=0.2)
    assert LocalStore(root).current_version() is None


def test_concurrent_builds_both_finish_and_leave_one_consistent_index(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    reports, failures = [], []

    def run() -> None:
        try:
            reports.append(build_index(corpus, root, CountingEmbedder(), full=True))
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == [] and len(reports) == 3
    assert LocalStore(root).current_version() in {r.version for r in reports}
    assert len(LocalStore(root).load(None, None).documents) == 3
    assert not list((root / "versions").glob(".building-*"))


def test_old_versions_and_unused_segments_are_collected(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    for year in range(2000, 2006):
        write_source(corpus, "railways.md", "railways", year=year)
        build_index(corpus, root, CountingEmbedder())
    versions = [p for p in (root / "versions").iterdir()]
    assert len(versions) == KEEP_VERSIONS
    assert LocalStore(root).current_version() in {p.name for p in versions}
    kept = {s.name for v in versions for s in Manifest.from_json(read_json(v / "manifest.json")).segments}
    on_disk = {p.name for p in segment_dir(root, "fake-embedder").glob("*.seg")}
    # Two unchanged sources share one segment each; railways has one per kept version.
    assert on_disk == kept and len(on_disk) == 2 + KEEP_VERSIONS


def test_corrupt_segment_is_rebuilt(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    for path in segment_dir(root, "fake-embedder").glob("*.seg"):
        path.write_bytes(b"not a segment")
    write_source(corpus, "pensions.md", "pensions")
    emb = CountingEmbedder()
    report = build_index(corpus, root, emb)
    assert report.added == ["pensions"] and report.documents == 4
    assert emb.sources_embedded() == {"fisheries", "railways", "glaciers", "pensions"}


def test_progress_reports_sources_and_embedding(corpus: Path, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    build_index(corpus, tmp_path / "index", CountingEmbedder(), progress=lambda *a: calls.append(a))
    sources = [c for c in calls if c[0] == "sources"]
    embedding = [c for c in calls if c[0] == "embedding"]
    assert [c[1] for c in sources] == [1, 2, 3] and {c[2] for c in sources} == {3}
    assert embedding and embedding[-1][1] == embedding[-1][2] > 0


def test_is_stale_follows_the_corpus_and_the_model(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    assert is_stale(corpus, root, "fake-embedder")
    build_index(corpus, root, CountingEmbedder())
    assert not is_stale(corpus, root, "fake-embedder")
    assert is_stale(corpus, root, "another-model")
    write_source(corpus, "pensions.md", "pensions")
    assert is_stale(corpus, root, "fake-embedder")


def test_a_same_named_file_of_another_kind_leaves_the_old_id_and_its_links_alone(tmp_path: Path) -> None:
    corpus, root = tmp_path / "corpus", tmp_path / "index"
    write_source(corpus, "briefs/japan.md", "fisheries")
    emb = CountingEmbedder()
    build_index(corpus, root, emb)
    before = open_searcher(root, emb).search("fisheries budget").results[0]
    assert before.source.id == "briefs-japan"

    (corpus / "briefs" / "japan.html").write_text(
        "<html><head><title>Railways</title></head><body><article><p>The railways programme was "
        "launched in 2021 by the ministry. Critics argue that the railways budget is too small for "
        "its goals.</p></article></body></html>"
    )
    report = build_index(corpus, root, CountingEmbedder())
    assert (report.added, report.updated, report.removed) == (["briefs-japan-html"], [], [])
    data = LocalStore(root).load(None, None)
    doc = data.document("briefs-japan")
    assert doc is not None and doc.path == "briefs/japan.md"
    # The link cited before still opens the same sentence.
    assert doc.text[before.start : before.end] == before.quote
    assert LocalStore(root).intact_manifest().sources["briefs-japan-html"].path == "briefs/japan.html"  # type: ignore[union-attr]
    # Ids stay put on later builds too, and a server deciding staleness agrees.
    assert build_index(corpus, root, CountingEmbedder()).published is False
    assert not is_stale(corpus, root, "fake-embedder")


def test_an_unreadable_folder_is_in_the_build_errors_and_the_rest_indexed(
    corpus: Path, tmp_path: Path, locked_folders: None
) -> None:
    write_source(corpus, "locked/pensions.md", "pensions")
    report = build_index(corpus, tmp_path / "index", CountingEmbedder())
    assert report.documents == 3
    assert report.errors == [{"path": "locked", "error": "the folder cannot be read (Permission denied)"}]
    assert list(LocalStore(tmp_path / "index").intact_manifest().unreadable) == report.errors  # type: ignore[union-attr]
    again = build_index(corpus, tmp_path / "index", CountingEmbedder())
    assert again.published is False and again.errors == report.errors, "still reported (the CLI exits 1)"


class DyingEmbedder(CountingEmbedder):
    """Stops the build (as a kill would) after ``calls`` encodes."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.left = calls

    def encode_full(self, texts: Sequence[str], progress=None, spans: bool = False):  # type: ignore[no-untyped-def]
        if self.left == 0:
            raise KeyboardInterrupt("killed")
        self.left -= 1
        return super().encode_full(texts, progress, spans)


def test_a_large_source_killed_while_embedding_resumes_within_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus, root = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    paragraphs = [
        f"Section {i} of the long brief covers topic number {i} in depth. It names {i} reasons." for i in range(120)
    ]
    # A section each: 120 passages, six batches of 20.
    sections = [f"## Part {i}\n\n{text}" for i, text in enumerate(paragraphs)]
    (corpus / "long.md").write_text("# Long brief\n\n" + "\n\n".join(sections) + "\n")
    monkeypatch.setattr(pipeline, "EMBED_GROUP", 20)
    whole = CountingEmbedder()
    build_index(corpus, tmp_path / "reference", whole)

    with pytest.raises(KeyboardInterrupt):
        build_index(corpus, root, DyingEmbedder(calls=5))
    partial = list((segment_dir(root, "fake-embedder") / "partial").rglob("*.npz"))
    assert len(partial) == 5, "each finished batch was kept"

    resumed = CountingEmbedder()
    build_index(corpus, root, resumed)
    assert len(resumed.embedded) == len(whole.embedded) - 5 * 20, "only the batches not finished"
    assert (segment_dir(root, "fake-embedder") / "partial").exists() is False or not any(
        (segment_dir(root, "fake-embedder") / "partial").iterdir()
    ), "batches are dropped once cached whole"
    ref = LocalStore(tmp_path / "reference").load(None, None)
    got = LocalStore(root).load(None, None)
    assert np.array_equal(ref.sentence_vectors(), got.sentence_vectors())
    assert np.array_equal(ref.chunk_vectors(), got.chunk_vectors())


class UnloadedModel(CountingEmbedder):
    """A model that fails the moment anything but its name is asked of it (as loading it would)."""

    @property
    def dimension(self) -> int:  # type: ignore[override]
        raise AssertionError("the model was loaded")

    @property
    def max_tokens(self) -> int:  # type: ignore[override]
        raise AssertionError("the model was loaded")

    def encode_full(self, texts: Sequence[str], progress=None, spans: bool = False):  # type: ignore[no-untyped-def]
        raise AssertionError("the model was loaded")


def test_a_build_with_nothing_to_do_never_loads_the_model(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    first = build_index(corpus, root, CountingEmbedder())
    report = build_index(corpus, root, UnloadedModel())
    assert not report.published and report.version == first.version
    write_source(corpus, "pensions.md", "pensions")
    with pytest.raises(AssertionError, match="the model was loaded"):
        build_index(corpus, root, UnloadedModel())


def test_versions_of_older_formats_and_their_cache_go_once_this_format_is_live(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    live = root / "versions" / str(LocalStore(root).current_version())
    old = root / "versions" / "20000101T000000000000Z-old"  # sorts as older than any build
    shutil.copytree(live, old)
    data = json.loads((old / "manifest.json").read_text())
    (old / "manifest.json").write_text(json.dumps({**data, "format": 3}))
    legacy_cache = root / "sources" / "fake-embedder" / "entry.npz"
    legacy_cache.parent.mkdir(parents=True)
    legacy_cache.write_bytes(b"vectors stored a second time")
    write_source(corpus, "pensions.md", "pensions")
    build_index(corpus, root, CountingEmbedder())
    assert not old.exists() and not (root / "sources").exists()
    assert live.exists(), "an older version of this format stays (servers may still read it)"
