"""Faults that must not turn into wrong service: Qdrant failing under a server, a fallback version
outliving the builds that no longer list it. Faults come from the real embedded Qdrant client
raising on chosen calls (``tests/index/backends/qdrant/faults.py``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from briefqa.answers.live import LiveIndex
from briefqa.index.backends.local.store import LocalStore
from briefqa.index.backends.qdrant.store import QdrantStore
from briefqa.index.build.pipeline import build_index

from ..conftest import CountingEmbedder
from ..index.backends.qdrant.faults import faulty, on
from .test_live import TOPICS, _markers, _new_version, marked_corpus, write_marked


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return marked_corpus(tmp_path / "corpus")


def _quotes_marker(live: LiveIndex) -> set[str]:
    answer = live.searcher.search("What does the ministry fund?")
    return _markers({"results": [{"quote": r.quote} for r in answer.results]})


def test_a_qdrant_error_in_refresh_is_one_logged_line_and_the_served_version_keeps_serving(
    corpus: Path, qdrant: QdrantStore, caplog: pytest.LogCaptureFixture
) -> None:
    live = LiveIndex(corpus, qdrant, CountingEmbedder())
    served = live.rebuild().version
    _new_version(corpus)
    newer = build_index(corpus, qdrant, CountingEmbedder()).version  # published by another builder
    caplog.set_level(logging.ERROR, "briefqa.live")
    # Counting the new version's points fails, as the watcher asks once a second.
    with faulty(qdrant, on("count"), times=100) as client:
        for _ in range(5):
            assert live.refresh() is False
    assert len(client.raised) == 5
    assert live.searcher.version == served and _quotes_marker(live) == {"alpha"}
    lines = [r for r in caplog.records if "injected fault in count" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None  # one line, no traceback
    assert live.refresh() is True and live.searcher.version == newer and live.load_error is None


def test_a_server_starting_while_qdrant_fails_starts_and_loads_once_it_answers(
    corpus: Path, qdrant: QdrantStore
) -> None:
    build_index(corpus, qdrant, CountingEmbedder())
    live = LiveIndex(corpus, qdrant, CountingEmbedder())
    # The alias reads, then counting the version fails (the first call past the alias).
    with faulty(qdrant, on("count")):
        assert live.refresh() is False  # at start-up: no exception to abort it
    assert not live.ready and "injected fault in count" in (live.load_error or "")
    assert live.refresh() is True and live.ready


def test_a_no_op_rebuild_after_qdrant_came_back_answers_rather_than_503(corpus: Path, qdrant: QdrantStore) -> None:
    live = LiveIndex(corpus, qdrant, CountingEmbedder())
    served = live.rebuild().version
    with faulty(qdrant, on("get_aliases")):
        live.refresh()
    assert live.load_error is not None
    report = live.rebuild()  # nothing changed: nothing published; the served version is the live one
    assert not report.published and report.version == served
    assert live.load_error is None and live.searcher.version == served


def test_a_fallback_version_after_three_builds_still_answers(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    emb = CountingEmbedder()
    first = build_index(corpus, root, emb).version
    _new_version(corpus)
    damaged = build_index(corpus, root, emb).version
    (root / "versions" / damaged / "doc_freq.json").write_text("{}")  # altered after sealing
    live = LiveIndex(corpus, root, emb)
    assert live.refresh() is True and live.searcher.version == first  # the newest intact one
    # Three builds (another process's, as `briefqa index`; this server has not looked since),
    # each changing every source: none lists the fallback's segments any more.
    for marker in ("beta", "gamma", "delta"):
        for topic in (*TOPICS, "pensions"):
            write_marked(corpus, topic, marker)
        build_index(corpus, LocalStore(root), CountingEmbedder())
    assert not (root / "versions" / first).exists()
    assert live.searcher.version == first and _quotes_marker(live) == {"alpha"}
