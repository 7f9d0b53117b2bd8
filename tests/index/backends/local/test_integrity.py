"""Damaged index versions: refused at load with one line, repaired by the next build from the cache,
and never the end of a running server."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from briefqa.answers.live import LiveIndex
from briefqa.api.app import create_app
from briefqa.errors import IndexDamagedError
from briefqa.index.backends.local import integrity
from briefqa.index.backends.local.files import read_json
from briefqa.index.backends.local.store import LocalStore
from briefqa.index.build.pipeline import build_index, is_stale
from briefqa.index.manifest import Manifest
from briefqa.index.segments.store import segment_dir
from briefqa.settings import Settings

from ....conftest import CORPUS, CountingEmbedder, write_source

TESTS = Path(__file__).resolve().parents[1]


def truncate(path: Path, keep: float = 0.5) -> None:
    """Cut a file short in place, as ``cp`` or ``rsync --inplace`` of a shorter file does."""
    with open(path, "r+b") as fh:
        fh.truncate(int(path.stat().st_size * keep))


def scramble(path: Path) -> None:
    """Flip a stretch of bytes in the middle of a file, keeping its size."""
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(b ^ 0x5A for b in data[mid : mid + 64])
    with open(path, "r+b") as fh:
        fh.write(data)


def swap_for_another(path: Path) -> None:
    """Another source's segment under this one's name: a valid segment, the wrong text and vectors."""
    other = next(p for p in sorted(path.parent.glob("*.seg")) if p != path)
    path.write_bytes(other.read_bytes())


def bad_json(path: Path) -> None:
    path.write_text('{"documents": [')


def delete(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


# What to damage: a file of the live version, or (SEGMENT) the segment of its first source.
SEGMENT = "segment"
DAMAGE: dict[str, tuple[str, Callable[[Path], None]]] = {
    "truncated segment": (SEGMENT, truncate),
    "zero-byte segment": (SEGMENT, lambda p: truncate(p, 0.0)),
    "scrambled segment": (SEGMENT, scramble),
    "segment swapped for another source's": (SEGMENT, swap_for_another),
    "deleted segment": (SEGMENT, delete),
    "invalid manifest": ("manifest.json", bad_json),
    "deleted bm25": ("bm25", delete),
    "truncated bm25 file": ("bm25/params.index.json", truncate),
    "deleted checksums": ("checksums.json", delete),
}


def _live_folder(root: Path) -> Path:
    name = LocalStore(root).current_version()
    assert name is not None
    return root / "versions" / name


def _segment(root: Path, source: str | None = None) -> Path:
    """The segment file of ``source`` (the first source when None) in the live version."""
    manifest = Manifest.from_json(read_json(_live_folder(root) / "manifest.json"))
    ref = next(r for r in manifest.segments if source in (None, r.source))
    return segment_dir(root, manifest.model) / ref.name


def _target(root: Path, name: str) -> Path:
    return _segment(root) if name == SEGMENT else _live_folder(root) / name


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_version_is_refused_in_one_line_and_the_next_build_repairs_it_from_the_cache(
    case: str, corpus: Path, tmp_path: Path
) -> None:
    root = tmp_path / "index"
    first = build_index(corpus, root, CountingEmbedder())
    name, hurt = DAMAGE[case]
    target = _target(root, name)
    first_source = Manifest.from_json(read_json(_live_folder(root) / "manifest.json")).segments[0].source
    hurt(target)

    with pytest.raises(IndexDamagedError) as err:
        LocalStore(root).load(None, None)
    message = str(err.value)
    assert "\n" not in message and first.version in message and "run `briefqa index`" in message
    assert target.name in message or name.split("/")[0] in message
    assert is_stale(corpus, root, "fake-embedder"), "`briefqa serve` must repair before serving"

    emb = CountingEmbedder()
    report = build_index(corpus, root, emb)
    assert report.published and report.version != first.version, "a damaged live version is never 'unchanged'"
    assert any("damaged" in n and "repairing" in n for n in report.notes)
    # A damaged segment is the one copy of its source: only that source is embedded again.
    assert emb.sources_embedded() == ({first_source} if name == SEGMENT else set()), "intact segments are reused"
    data = LocalStore(root).load(None, None)
    assert sorted(d.id for d in data.documents) == ["fisheries", "glaciers", "railways"]
    if name not in ("manifest.json", "checksums.json"):
        # The manifest itself is intact, so the report still compares against it.
        assert report.added == [] and report.removed == []


def test_a_corrupt_manifest_is_also_repaired_by_a_full_build_without_deleting_the_cache(
    corpus: Path, tmp_path: Path
) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    bad_json(_live_folder(root) / "manifest.json")
    report = build_index(corpus, root, CountingEmbedder(), full=True)
    assert report.published and LocalStore(root).load(None, None).version == report.version


def test_with_no_intact_version_left_ids_still_come_from_the_paths(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    (_live_folder(root) / "manifest.json").write_text("")
    report = build_index(corpus, root, CountingEmbedder())
    assert sorted(d.id for d in LocalStore(root).load(None, None).documents) == ["fisheries", "glaciers", "railways"]
    assert report.documents == 3


def test_shapes_that_disagree_with_the_manifest_are_refused_even_with_matching_checksums(
    corpus: Path, tmp_path: Path
) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    folder = _live_folder(root)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["chunks"] += 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    integrity.record(folder)  # as a buggy writer would: the checksums agree with the files
    with pytest.raises(
        IndexDamagedError, match=re.escape("(segments' headings has shape (3,), the manifest says (4,))")
    ):
        LocalStore(root).load(None, None)


@pytest.mark.parametrize("name", ["manifest.json", "bm25"])
def test_a_version_missing_a_required_file_is_refused_even_when_its_checksums_agree(
    name: str, corpus: Path, tmp_path: Path
) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    folder = _live_folder(root)
    delete(folder / name)
    integrity.record(folder)  # even when the checksums were taken without it
    with pytest.raises(IndexDamagedError, match=re.escape(f"{name} is missing")):
        LocalStore(root).load(None, None)


def test_nothing_of_a_loaded_version_stays_mapped(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    data = LocalStore(root).load(None, None)
    arrays = {
        "chunk vectors": data.chunk_vectors(),
        "sentence vectors": data.sentence_vectors(),
        "token rows": data.sentence_rows([(0, 1)], np.zeros((0, data.manifest.dimension or 0)))[0].pieces.matrix,
    }
    for name, array in arrays.items():
        assert not isinstance(array, np.memmap) and not isinstance(array.base, np.memmap), name


# In a child process: a server's LiveIndex answers, every file of its version is truncated in
# place, and it answers again. A mapped file would end the process with SIGBUS (exit 135). What
# the searcher holds in memory answers as before; the word-piece vectors are read per question
# (``os.pread``), so a question that needs them may instead fail with one line naming the file
# (a BriefqaError: 503 over HTTP), never a crash.
SURVIVOR = """
import sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from tests.conftest import CountingEmbedder
from briefqa.errors import BriefqaError
from briefqa.answers.live import LiveIndex
corpus, root = Path(sys.argv[1]), Path(sys.argv[2])
embedder = CountingEmbedder()
live = LiveIndex(corpus, root, embedder)
live.rebuild()
searcher = live.searcher

def quotes(question):
    # Not through search(): its answer cache would not read the files again.
    query = searcher.query(question, question, embedder.encode_full([question]), 0)
    return [r.quote for r in searcher.answer(query, 5).results]

questions = ["glaciers budget", "railways research regions"]
before = [quotes(q) for q in questions]
cached = [r.quote for r in searcher.search("glaciers budget").results]
for path in [*(root / "versions").rglob("*"), *(root / "segments").rglob("*")]:
    if path.is_file():
        with open(path, "r+b") as fh:
            fh.truncate(0)
for question, was in zip(questions, before):
    assert was, question
    try:
        now = quotes(question)
    except BriefqaError as exc:
        message = str(exc)
        assert "\\n" not in message and ".seg" in message, message
        assert exc.http_status == 503, exc.http_status
        print("refused:", message)
    else:
        assert now == was, (question, was, now)
        print("answered:", question)
assert [r.quote for r in searcher.search("glaciers budget").results] == cached
assert live.refresh() is False  # the same version: nothing to reload, nothing re-read
print("survived")
"""


def test_a_version_truncated_in_place_under_a_running_server_does_not_kill_it(corpus: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SURVIVOR.format(repo=str(TESTS.parent)), str(corpus), str(tmp_path / "index")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "survived" in done.stdout, (done.returncode, done.stderr[-2000:])


def _client(live: LiveIndex, corpus: Path) -> TestClient:
    return TestClient(create_app(Settings(corpus=corpus, index=live.root), live))


def test_word_piece_vectors_cut_short_under_a_server_give_503_naming_the_file_until_repaired(
    corpus: Path, tmp_path: Path
) -> None:
    root = tmp_path / "index"
    live = LiveIndex(corpus, root, CountingEmbedder())
    live.rebuild()
    with _client(live, corpus) as client:
        assert client.get("/api/search", params={"q": "glaciers budget"}).status_code == 200
        segment = _segment(root, "railways")
        truncate(segment, 0.1)
        reply = client.get("/api/search", params={"q": "railways research regions"})
        assert reply.status_code == 503, reply.text
        detail = reply.json()["detail"]
        assert segment.name in detail and "\n" not in detail and "briefqa index" in detail
        # The next build sees the damage and repairs the version from the cache.
        assert is_stale(corpus, root, "fake-embedder")
        repaired = build_index(corpus, root, CountingEmbedder())
        assert repaired.published and live.refresh() is True
        assert client.get("/api/search", params={"q": "railways research regions"}).status_code == 200


def test_at_start_a_damaged_live_version_falls_back_to_the_newest_intact_one(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "index"
    older = build_index(corpus, root, CountingEmbedder())
    write_source(corpus, "pensions.md", "pensions")
    newer = build_index(corpus, root, CountingEmbedder())
    scramble(_segment(root, "pensions"))  # the older version does not list it

    live = LiveIndex(corpus, root, CountingEmbedder())
    with caplog.at_level(logging.WARNING, logger="briefqa.live"):
        assert live.refresh() is True
    assert live.searcher.version == older.version
    assert any(newer.version in r.message and "damaged" in r.message for r in caplog.records)
    assert any(older.version in r.message and "newest intact" in r.message for r in caplog.records)
    with _client(live, corpus) as client:
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["index_version"] == older.version
        assert client.get("/api/search", params={"q": "glaciers budget"}).status_code == 200
    # Known bad and untouched: not verified again on every poll.
    assert live.refresh() is False and live.searcher.version == older.version
    # A build repairs it, and the server moves to the repaired version.
    repaired = build_index(corpus, root, CountingEmbedder())
    assert live.refresh() is True and live.searcher.version == repaired.version
    assert live.load_error is None


def test_a_damaged_only_version_gives_503_with_the_reason(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    segment = _segment(root)
    truncate(segment)
    live = LiveIndex(corpus, root, CountingEmbedder())
    with _client(live, corpus) as client:
        for url in ("/healthz", "/api/search?q=glaciers"):
            reply = client.get(url)
            assert reply.status_code == 503
            assert "damaged" in reply.json()["detail"] and segment.name in reply.json()["detail"]


def test_a_damaged_new_version_is_not_swapped_in_and_the_old_one_keeps_answering(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    live = LiveIndex(corpus, root, CountingEmbedder())
    first = live.rebuild()
    write_source(corpus, "pensions.md", "pensions")
    second = build_index(corpus, root, CountingEmbedder())
    segment = _segment(root, "pensions")  # only the new version lists it
    truncate(segment)
    assert live.refresh() is False
    assert live.searcher.version == first.version
    assert live.load_error is not None and second.version in live.load_error and segment.name in live.load_error


@pytest.mark.slow
def test_cli_ask_names_the_damage_and_index_repairs_it(brief_index: Path, tmp_path: Path) -> None:
    from ....test_cli import run_cli

    root = tmp_path / "index"
    shutil.copytree(brief_index, root)
    segment = _segment(root)
    scramble(segment)

    code, out, err = run_cli("ask", "How many satellites does the US operate?", "--index", str(root))
    assert code != 0 and "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("briefqa: error: index version ")
    assert segment.name in lines[0] and "run `briefqa index`" in lines[0]

    code, out, err = run_cli("index", "--corpus", str(CORPUS), "--index", str(root))
    assert code == 0, out + err
    assert "damaged" in out and "nothing changed" not in out
    code, out, err = run_cli("ask", "How many satellites does the US operate?", "--index", str(root))
    assert code == 0 and "two-thirds" in out, out + err
