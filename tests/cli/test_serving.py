"""Where a running server listens, as `briefqa ask` reads it from beside the index."""

import os
import subprocess
import sys
import time
from pathlib import Path

from briefqa.cli.serving import SERVING_FILE, base_url, serving_address
from briefqa.settings import Settings


def test_a_serving_record_left_by_a_killed_server_is_ignored(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id that ran and is gone
    (tmp_path / SERVING_FILE).write_text(f'{{"url": "http://127.0.0.1:9", "pid": {gone.pid}}}')
    assert serving_address(tmp_path) is None
    (tmp_path / SERVING_FILE).write_text(f'{{"url": "http://127.0.0.1:9", "pid": {os.getpid()}}}')
    assert serving_address(tmp_path) == "http://127.0.0.1:9"
    (tmp_path / SERVING_FILE).write_text("not json")
    assert serving_address(tmp_path) is None


def test_a_server_listening_everywhere_is_reached_on_loopback() -> None:
    assert base_url(Settings(host="0.0.0.0", port=8123)) == "http://127.0.0.1:8123"
    assert base_url(Settings(host="::1", port=8123), port=9000) == "http://[::1]:9000"


def _qdrant_settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(corpus=corpus, index=tmp_path / "index", qdrant=str(tmp_path / "qdrant"))


def test_serve_on_qdrant_serves_what_is_published_and_says_when_it_differs_from_its_corpus(
    tmp_path: Path,
    embedder,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    from briefqa.cli.arguments import open_named_store
    from briefqa.cli.serving import prepare
    from briefqa.index.build.pipeline import build_index

    from ..conftest import write_source

    published = tmp_path / "elsewhere"  # another host's corpus, published into the shared Qdrant
    write_source(published, "fisheries.md", "fisheries")
    here = tmp_path / "corpus"
    write_source(here, "railways.md", "railways")
    settings = _qdrant_settings(tmp_path, here)
    store = open_named_store(settings)
    try:
        version = build_index(published, store, embedder).version
        live = prepare(settings, store, time.monotonic())
        assert store.versions() == [version]  # nothing built from ./corpus, nothing published
        live.refresh()  # as the app does when it starts
        assert live.searcher.version == version
        assert {d.id for d in live.searcher.sources()} == {"fisheries"}
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "differs from corpus folder" in err[0] and "serving it as published" in err[0]
    finally:
        store.close()


def test_serve_on_an_empty_qdrant_builds_and_publishes_its_corpus(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from briefqa.cli.arguments import open_named_store
    from briefqa.cli.serving import prepare

    from ..conftest import write_source

    here = tmp_path / "corpus"
    write_source(here, "railways.md", "railways")
    settings = _qdrant_settings(tmp_path, here)
    store = open_named_store(settings)
    try:
        live = prepare(settings, store, time.monotonic())
        assert store.current_version() == live.searcher.version
        assert {d.id for d in live.searcher.sources()} == {"railways"}
    finally:
        store.close()
