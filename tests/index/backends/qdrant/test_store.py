"""The index in Qdrant's embedded mode: what its storage adds to the shared suite, and the setting itself.

Every test starts Qdrant's embedded local mode in its own temporary folder (the real client, no
mock); the model is the fake embedder (plumbing), except in ``test_same_answers.py``, where the
real model judges the answers.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from briefqa.answers.live import LiveIndex
from briefqa.answers.searcher import open_searcher
from briefqa.api.app import create_app
from briefqa.errors import BackendError, IndexMissingError
from briefqa.index.backends.choose import open_store
from briefqa.index.backends.qdrant.schema import ROLES, collection_of
from briefqa.index.backends.qdrant.store import QdrantStore
from briefqa.index.build.pipeline import build_index
from briefqa.settings import Settings

from ....answers.test_live import TOKEN, TOPICS, Hammer, _assert_whole_versions, _markers, _new_version, marked_corpus
from ....conftest import REPO, CountingEmbedder, FakeEmbedder, RunningServer, free_port


def _collections(store: QdrantStore) -> set[str]:
    with store._guard.call("listing") as client:
        return {c.name for c in client.get_collections().collections}


def _quotes(store: QdrantStore, emb: FakeEmbedder, question: str) -> list[tuple[str, str]]:
    answer = open_searcher(store, emb).search(question)
    return [(r.source.id, r.quote) for r in answer.results]


def test_a_build_publishes_one_version_as_three_collections_behind_aliases(corpus: Path, qdrant: QdrantStore) -> None:
    report = build_index(corpus, qdrant, FakeEmbedder())
    assert {collection_of(report.version, r) for r in ROLES} <= _collections(qdrant)
    assert open_searcher(qdrant, FakeEmbedder()).index.dense_kind == "qdrant"
    # Nothing of the version is written as local files: only the segments (the build's cache).
    assert not (qdrant.root / "versions").exists() and (qdrant.root / "segments").is_dir()


def test_the_folder_holds_the_data(corpus: Path, tmp_path: Path) -> None:
    store = open_store(tmp_path / "index", str(tmp_path / "qdrant"))
    build_index(corpus, store, FakeEmbedder())
    before = _quotes(store, FakeEmbedder(), "Who argues the fisheries budget is too small?")  # type: ignore[arg-type]
    store.close()  # type: ignore[attr-defined]
    # The local segments are only the build's cache: without them the folder still answers.
    shutil.rmtree(tmp_path / "index")
    again = open_store(tmp_path / "elsewhere", str(tmp_path / "qdrant"))
    try:
        after = _quotes(again, FakeEmbedder(), "Who argues the fisheries budget is too small?")  # type: ignore[arg-type]
        # The same first quote; passages that tie exactly (these three sources are alike but for a
        # word) may follow in another order, as the embedded mode reloads its points.
        assert after[0] == before[0] and len(after) == len(before)
        assert any((tmp_path / "qdrant").rglob("storage.sqlite"))
    finally:
        again.close()  # type: ignore[attr-defined]


def test_a_version_whose_collection_is_gone_is_missing_not_damaged(corpus: Path, qdrant: QdrantStore) -> None:
    # Damage itself, and its repair, is the shared suite's (tests/index/backends/test_store_suite.py).
    emb = FakeEmbedder()
    version = build_index(corpus, qdrant, emb).version
    with qdrant._guard.call("damaging") as client:
        client.delete_collection(collection_of(version, "sentences"))
    with pytest.raises(IndexMissingError, match="gone from Qdrant"):
        open_searcher(qdrant, emb)


def test_a_store_out_of_reach_is_one_error_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match=r"BRIEFQA_QDRANT: cannot reach Qdrant at http://127\.0\.0\.1:\d+"):
        open_store(tmp_path / "index", f"http://127.0.0.1:{free_port()}")
    (tmp_path / "file").write_text("x")
    with pytest.raises(BackendError, match="is a file, not a folder"):
        open_store(tmp_path / "index", str(tmp_path / "file"))
    with pytest.raises(BackendError, match="unknown option 'shards'"):
        open_store(tmp_path / "index", "http://127.0.0.1:1/?shards=2")


def _run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "briefqa.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        cwd=REPO,
    )


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("ftp://example.org", "BRIEFQA_QDRANT='ftp://example.org': Value error, 'ftp://example.org' is neither"),
        ("http://", "names no host"),
        ("http://127.0.0.1:{port}", "BRIEFQA_QDRANT: cannot reach Qdrant at http://127.0.0.1:"),
    ],
)
def test_cli_says_what_is_wrong_with_the_setting_in_one_line_before_the_model_loads(
    tmp_path: Path, value: str, said: str
) -> None:
    env = {"BRIEFQA_QDRANT": value.format(port=free_port()), "BRIEFQA_MODEL": "no-such-model-would-fail-later"}
    for command in (["ask", "What?"], ["index", "--corpus", str(REPO / "corpus")]):
        done = _run_cli(*command, "--index", str(tmp_path / "index"), env=env)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("briefqa: error: ") and said in lines[0], done.stderr


def test_a_folder_open_in_another_process_is_a_clear_error(corpus: Path, qdrant: QdrantStore, tmp_path: Path) -> None:
    build_index(corpus, qdrant, FakeEmbedder())
    env = {"BRIEFQA_QDRANT": str(tmp_path / "qdrant")}
    done = _run_cli("ask", "What?", "--index", str(tmp_path / "index"), env=env)
    assert done.returncode == 1
    assert "is in use by another process" in done.stderr and "POST /api/index/rebuild" in done.stderr


@pytest.fixture
def marked(tmp_path: Path) -> Path:
    return marked_corpus(tmp_path / "marked")


@pytest.mark.slow
def test_http_rebuild_into_qdrant_swaps_under_load_without_a_failed_or_mixed_reply(
    marked: Path, qdrant: QdrantStore
) -> None:
    live = LiveIndex(marked, qdrant, CountingEmbedder())
    live.rebuild()
    settings = Settings(corpus=marked, index=live.root, admin_token=TOKEN)
    with RunningServer(create_app(settings, live), free_port()) as server:
        hammer = Hammer(server.url)
        try:
            hammer.wait_for(40)
            _new_version(marked)
            reply = httpx.post(
                f"{server.url}/api/index/rebuild", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
            )
            assert reply.status_code == 200, reply.text
            body = reply.json()
            assert (body["added"], body["updated"], body["removed"]) == (["pensions"], sorted(TOPICS), [])
            after = httpx.get(f"{server.url}/api/search", params={"q": "What does the ministry fund?"}).json()
            assert _markers(after) == {"omega"}
            hammer.wait_for(len(hammer.replies) + 40)
            (marked / "pensions.md").unlink()
            reply = httpx.post(
                f"{server.url}/api/index/rebuild", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
            )
            assert reply.json()["removed"] == ["pensions"]
            sources = httpx.get(f"{server.url}/api/sources").json()["sources"]
            assert "pensions" not in {s["id"] for s in sources}
            hammer.wait_for(len(hammer.replies) + 40)
        finally:
            replies = hammer.stop()
    _assert_whole_versions(replies)


def test_maxsim_over_the_candidates_is_qdrants_and_agrees_with_their_word_pieces(
    corpus: Path, qdrant: QdrantStore
) -> None:
    import itertools

    import numpy as np

    emb = FakeEmbedder()
    build_index(corpus, qdrant, emb)
    index = open_searcher(qdrant, emb).index
    tokens = emb.encode_full(["Who argues the railways budget is too small?"]).tokens[0]
    weights = np.linspace(0.5, 2.0, len(tokens))
    spans = [(c.first, c.last) for c in index.chunks()]
    for got in index.sentence_rows(spans, tokens, (weights, np.ones(len(tokens)))):
        assert got.maxsim is not None  # computed by Qdrant's multivector MaxSim, not here
        bounds = got.pieces.bounds
        sims = tokens @ got.pieces.matrix.T
        best = np.stack([sims[:, a:b].max(axis=1) for a, b in itertools.pairwise(bounds)], axis=1)
        assert got.maxsim[0] == pytest.approx(weights @ best / weights.sum(), abs=1e-5)
        assert got.maxsim[1] == pytest.approx(best.mean(axis=0), abs=1e-5)


def test_the_app_stops_at_start_when_qdrant_is_out_of_reach_before_loading_the_model(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    url = f"http://127.0.0.1:{free_port()}"
    settings = Settings(corpus=tmp_path, index=tmp_path / "index", qdrant=url, model="no-such-model")
    with (
        pytest.raises(BackendError, match=rf"BRIEFQA_QDRANT: cannot reach Qdrant at {url}"),
        TestClient(create_app(settings)),
    ):
        pass


def test_a_server_that_loses_qdrant_answers_503_with_the_reason(corpus: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    store = open_store(tmp_path / "index", str(tmp_path / "qdrant"))
    build_index(corpus, store, FakeEmbedder())
    live = LiveIndex(corpus, store, FakeEmbedder())
    live.refresh()
    with TestClient(create_app(Settings(corpus=corpus, index=tmp_path / "index"), live)) as client:
        assert client.get("/api/search", params={"q": "fisheries budget"}).status_code == 200
        store.close()  # type: ignore[attr-defined]  # the client is gone: every call to Qdrant fails
        reply = client.get("/api/search", params={"q": "railways budget"})
        assert reply.status_code == 503
        assert reply.json()["detail"].startswith(f"Qdrant at {tmp_path / 'qdrant'} failed while searching")
