"""A lifecycle run: build, serve under load, a Qdrant fault mid-build, rebuild, a fault while
collecting garbage; no version a server reads is lost, and every reply is whole.

The server is real (uvicorn on loopback), the store Qdrant's embedded mode, the faults its real
client raising on chosen calls (``faults.FaultyClient``).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from briefqa.answers.live import LiveIndex
from briefqa.api.app import create_app
from briefqa.index.backends.choose import open_store
from briefqa.index.backends.qdrant.store import QdrantStore
from briefqa.settings import Settings

from ....answers.test_live import (
    TOKEN,
    TOPICS,
    Hammer,
    _assert_whole_versions,
    _new_version,
    marked_corpus,
    write_marked,
)
from ....conftest import CountingEmbedder, RunningServer, free_port
from .faults import faulty, on


@pytest.mark.slow
def test_a_lifecycle_with_qdrant_faults_loses_no_version_a_server_reads(tmp_path: Path) -> None:
    corpus = marked_corpus(tmp_path / "corpus")
    store = open_store(tmp_path / "index", str(tmp_path / "qdrant"))
    assert isinstance(store, QdrantStore)
    live = LiveIndex(corpus, store, CountingEmbedder())
    first = live.rebuild().version
    settings = Settings(corpus=corpus, index=live.root, admin_token=TOKEN)
    injected = 0
    served: list[str] = [first]

    def rebuild() -> httpx.Response:
        return httpx.post(f"{server.url}/api/index/rebuild", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120)

    def still_readable() -> None:
        # Whatever a server read, now or one publish ago, is still there whole.
        versions = store.versions()
        for name in served[-2:]:
            assert name in versions and store.damage(name) is None, (name, versions)

    try:
        with RunningServer(create_app(settings, live), free_port()) as server:
            hammer = Hammer(server.url)
            try:
                hammer.wait_for(20)
                # 1. A fault mid-build: writing the new version's sentences fails.
                _new_version(corpus)
                with faulty(store, on("upsert", "-sentences")) as client:
                    reply = rebuild()
                injected += len(client.raised)
                assert reply.status_code == 503 and "injected fault in upsert" in reply.json()["detail"], reply.text
                assert live.searcher.version == first
                still_readable()
                hammer.keep_on(0.5)
                # 2. The rebuild again: the new version swaps in; the half-written one is dropped.
                reply = rebuild()
                assert reply.status_code == 200, reply.text
                served.append(live.searcher.version)
                assert served[-1] != first
                still_readable()
                assert len(store.versions()) == 2
                hammer.keep_on(0.5)
                # 3. A fault while collecting garbage: Qdrant fails to say whether the version
                # servers read one publish ago was finished; it is kept.
                for topic in (*TOPICS, "pensions"):
                    write_marked(corpus, topic, "alpha")
                with faulty(store, on("retrieve", f"{served[-1]}-sources", with_payload=["complete"]), 100) as client:
                    reply = rebuild()
                injected += len(client.raised)
                assert reply.status_code == 200, reply.text
                served.append(live.searcher.version)
                still_readable()
                hammer.keep_on(0.5)
            finally:
                replies = hammer.stop()
    finally:
        store.close()
    _assert_whole_versions(replies)
    failed = [r for r in replies if r[0] != 200]
    print(f"lifecycle: {len(replies)} requests, {injected} faults injected, {len(failed)} failed")
    assert injected >= 2 and len(set(served)) == 3
