"""The versioned folder: atomic publishing, builds killed at any point, garbage collection, the lock."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from briefqa.answers.searcher import open_searcher
from briefqa.errors import IndexMissingError
from briefqa.index.backends.interface import KEEP_VERSIONS, BuildLock
from briefqa.index.backends.local.folder import new_version_dir, point_current
from briefqa.index.backends.local.store import LocalStore
from briefqa.index.build.pipeline import build_index

from ....conftest import CountingEmbedder, write_source

TESTS = Path(__file__).resolve().parents[1]

# A build in a child process that stops dead at one point (touching ``marker`` first) so the test
# can SIGKILL it exactly there. The patching happens in the child only.
CHILD = """
import os, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from tests.conftest import CountingEmbedder
from briefqa.index.backends.local import store
from briefqa.index.build import pipeline
from briefqa.index.segments.store import segment_dir

corpus, root, point, marker = sys.argv[1:5]

def pause():
    Path(marker).touch()
    time.sleep(600)

def before(fn):
    def wrapped(*args, **kwargs):
        pause()
        return fn(*args, **kwargs)
    return wrapped

def after(fn):
    def wrapped(*args, **kwargs):
        out = fn(*args, **kwargs)
        pause()
        return out
    return wrapped

calls = {{"sources": 0, "embedding": 0}}
cache = segment_dir(Path(root), "fake-embedder")
cached_before = len(list(cache.glob("*.seg")))

def progress(stage, done, total):
    calls[stage] += 1
    # "sources": after the first file; "embedding": once the first new source's segment is written
    # (the next one is then part-way through its batches).
    if stage == "sources" == point and calls[stage] == 1:
        pause()
    if stage == "embedding" == point and len(list(cache.glob("*.seg"))) > cached_before:
        pause()

pipeline.EMBED_GROUP = 1  # one text per batch, so a kill mid-embedding leaves some batches kept
if point == "write_version":
    store.write_version = after(store.write_version)
elif point == "write_segment":
    # Killed with a new segment written in full under its temporary name, not yet renamed.
    rename = os.replace
    def replace(src, dst):
        if str(dst).endswith(".seg"):
            pause()
        rename(src, dst)
    os.replace = replace
elif point == "seal":
    store.seal = before(store.seal)
elif point == "point_current":
    store.point_current = before(store.point_current)
pipeline.build_index(Path(corpus), Path(root), CountingEmbedder(), progress=progress)
"""


def _kill_build_at(point: str, corpus: Path, root: Path, tmp_path: Path) -> None:
    marker = tmp_path / f"reached-{point}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(repo=str(TESTS.parent)), str(corpus), str(root), point, str(marker)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"the build ended before reaching {point}: {child.stderr.read() if child.stderr else ''}")
            if time.monotonic() > deadline:
                pytest.fail(f"the build never reached {point}")
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL


def _answers(root: Path, question: str) -> set[str]:
    emb = CountingEmbedder()
    return {r.source.id for r in open_searcher(root, emb).search(question).results}


@pytest.mark.parametrize("point", ["sources", "embedding", "write_segment", "write_version", "seal", "point_current"])
def test_build_killed_at_any_point_leaves_the_old_index_and_the_next_build_recovers(
    point: str, corpus: Path, tmp_path: Path
) -> None:
    root = tmp_path / "index"
    old = build_index(corpus, root, CountingEmbedder())
    for topic in ("pensions", "wildfire", "aquifers"):
        write_source(corpus, f"{topic}.md", topic)

    _kill_build_at(point, corpus, root, tmp_path)

    assert LocalStore(root).current_version() == old.version
    data = LocalStore(root).load(None, None)
    assert data.version == old.version and {d.id for d in data.documents} == {"fisheries", "railways", "glaciers"}
    assert "glaciers" in _answers(root, "glaciers budget")

    emb = CountingEmbedder()
    new = build_index(corpus, root, emb, lock_timeout=5)  # the killed build's lock died with it
    assert new.added == ["aquifers", "pensions", "wildfire"]
    assert LocalStore(root).current_version() == new.version
    assert "pensions" in _answers(root, "pensions budget")
    leftovers = [p.name for p in (root / "versions").iterdir() if p.name.startswith(".")]
    leftovers += [p.name for p in root.glob(".CURRENT.*")]
    leftovers += [p.name for p in (root / "segments").rglob(".*")]
    assert leftovers == []
    if point == "embedding":
        # The first new source was cached before the kill; its embedding was not redone.
        assert emb.sources_embedded() == {"pensions", "wildfire"}


def test_readers_never_see_a_half_published_version(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    stop = threading.Event()
    seen: set[str] = set()
    problems: list[str] = []

    def read() -> None:
        while not stop.is_set():
            try:
                data = LocalStore(root).load(None, None)
            except Exception as exc:
                problems.append(repr(exc))
                continue
            seen.add(data.version)
            if len(data.documents) != data.manifest.documents or data.chunk_count != data.manifest.chunks:
                problems.append(f"{data.version} is incomplete")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for year in (2001, 2002, 2003):
            write_source(corpus, "railways.md", "railways", year=year)
            version = build_index(corpus, root, CountingEmbedder()).version
            # On a busy machine the reader may not run between two builds; let it see each one.
            deadline = time.monotonic() + 10
            while version not in seen and not problems and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        stop.set()
        reader.join()
    assert problems == []
    assert len(seen) >= 2


def test_a_second_build_waits_for_the_first(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    held = threading.Event()

    def first_build() -> None:
        with BuildLock(root):
            held.set()
            time.sleep(0.5)

    holder = threading.Thread(target=first_build)
    holder.start()
    held.wait(5)
    started = time.monotonic()
    report = build_index(corpus, root, CountingEmbedder(), lock_timeout=30)
    holder.join()
    assert time.monotonic() - started >= 0.4
    assert report.version == LocalStore(root).current_version()


def test_garbage_collection_keeps_the_live_version_even_when_old(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    first = build_index(corpus, root, CountingEmbedder())
    write_source(corpus, "railways.md", "railways", year=2001)
    second = build_index(corpus, root, CountingEmbedder())
    newest = "29991231T000000000000Z-feed00"  # sealed later, never published
    shutil.copytree(root / "versions" / second.version, root / "versions" / newest)
    point_current(root, first.version)  # rolled back by hand
    (root / "versions" / ".building-crashed").mkdir()
    (root / ".CURRENT.tmp").write_text("x")
    LocalStore(root).collect_garbage()
    names = sorted(p.name for p in (root / "versions").iterdir())
    assert names == sorted([first.version, newest]) and len(names) == KEEP_VERSIONS
    assert not (root / ".CURRENT.tmp").exists()
    assert LocalStore(root).load(None, None).version == first.version


def test_current_pointing_at_a_missing_version_counts_as_no_index(tmp_path: Path) -> None:
    root = tmp_path / "index"
    root.mkdir()
    (root / "CURRENT").write_text("20200101T000000000000Z-abcdef\n")
    assert LocalStore(root).current_version() is None
    with pytest.raises(IndexMissingError, match="briefqa index"):
        LocalStore(root).load(None, None)


def test_versions_sort_by_age(tmp_path: Path) -> None:
    names = []
    for _ in range(5):
        names.append(new_version_dir(tmp_path).name)
    assert names == sorted(names)
