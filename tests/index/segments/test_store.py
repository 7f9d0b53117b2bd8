"""The segment store: one file per source, shared by versions, reused by builds, trusted by its stamps."""

from __future__ import annotations

from pathlib import Path

from briefqa.index.backends.local.files import read_json
from briefqa.index.build.pipeline import build_index
from briefqa.index.manifest import Manifest
from briefqa.index.segments import store as segments
from briefqa.index.segments.store import segment_dir

from ...conftest import CountingEmbedder, write_source


def test_a_new_version_writes_only_the_changed_sources_segments(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    first = build_index(corpus, root, CountingEmbedder())
    folder = segment_dir(root, "fake-embedder")
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.seg")}
    write_source(corpus, "railways.md", "railways", year=2031)
    second = build_index(corpus, root, CountingEmbedder())
    after = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.seg")}
    new = set(after) - set(before)
    assert len(new) == 1, "one segment for the one changed source"
    assert all(after[n] == t for n, t in before.items()), "no kept segment was written again"
    refs = {
        v: Manifest.from_json(read_json(root / "versions" / v / "manifest.json")).segments
        for v in (first.version, second.version)
    }
    shared = {r.name for r in refs[first.version]} & {r.name for r in refs[second.version]}
    assert len(shared) == 2, "the versions share the unchanged sources' segments"
    # The version folder itself holds no vectors: only the manifest, the lexical index and checksums.
    assert {p.name for p in (root / "versions" / second.version).iterdir()} == {
        "manifest.json",
        "bm25",
        "doc_freq.json",
        "checksums.json",
    }


def test_a_build_trusts_stamps_only_of_untouched_segments(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    folder = segment_dir(root, "fake-embedder")
    assert (folder / segments.STAMPS).is_file()
    victim = sorted(folder.glob("*.seg"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))  # same size, new mtime: the stamp no longer matches
    segments._VERIFIED.clear()  # a new process: only what the stamps file says
    report = build_index(corpus, root, CountingEmbedder())
    assert report.published and any("damaged" in n for n in report.notes)
