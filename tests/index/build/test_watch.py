"""Watching the corpus: debounced change batches, and rebuilds that keep going after a failure."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from briefqa.errors import BriefqaError, CorpusError
from briefqa.index.backends.local.store import LocalStore
from briefqa.index.build import pipeline
from briefqa.index.build.pipeline import BuildReport
from briefqa.index.build.watch import watch_and_rebuild, watch_corpus

from ...conftest import CountingEmbedder, write_source

DEBOUNCE_MS = 200


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    write_source(folder, "fisheries.md", "fisheries")
    return folder


@pytest.fixture
def batches(corpus: Path) -> Iterator[queue.Queue[set[str]]]:
    """Change batches of a watch running in a thread, stopped at the end of the test."""
    out: queue.Queue[set[str]] = queue.Queue()
    stop = threading.Event()
    index = corpus / "index"

    def run() -> None:
        for changed in watch_corpus(corpus, DEBOUNCE_MS, stop, exclude=index):
            out.put(changed)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert out.get(timeout=10) == set(), "the first yield says the watch is live"
    yield out
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the watch stops when asked"


def _next(batches: queue.Queue[set[str]], timeout: float = 10) -> set[str]:
    return {Path(p).name for p in batches.get(timeout=timeout)}


def test_changes_arrive_as_one_debounced_batch(corpus: Path, batches: queue.Queue[set[str]]) -> None:
    for topic in ("railways", "glaciers", "pensions"):
        write_source(corpus, f"{topic}.md", topic)
    assert _next(batches) == {"railways.md", "glaciers.md", "pensions.md"}
    (corpus / "fisheries.md").unlink()
    assert _next(batches) == {"fisheries.md"}


def test_hidden_non_source_and_index_files_are_ignored(corpus: Path, batches: queue.Queue[set[str]]) -> None:
    (corpus / ".draft.md").write_text("hidden")
    (corpus / "notes.docx").write_text("not a source")
    (corpus / "index").mkdir()
    (corpus / "index" / "brief.md").write_text("inside the index folder")
    time.sleep(3 * DEBOUNCE_MS / 1000)
    write_source(corpus, "railways.md", "railways")
    assert _next(batches) == {"railways.md"}


def test_a_folder_moved_in_counts(corpus: Path, tmp_path: Path, batches: queue.Queue[set[str]]) -> None:
    outside = tmp_path / "incoming"
    write_source(outside, "railways.md", "railways")
    outside.rename(corpus / "incoming")
    assert "incoming" in _next(batches)


def _next_outcome(reports: queue.Queue[BuildReport | BriefqaError]) -> BuildReport | BriefqaError:
    """The next build that did something or failed: a change seen twice (once by the catch-up
    scan, once as an event) may add a build that finds nothing changed and publishes nothing."""
    while True:
        outcome = reports.get(timeout=15)
        if not (isinstance(outcome, BuildReport) and not outcome.published):
            return outcome


def test_watch_rebuilds_and_survives_a_failed_build(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    pipeline.build_index(corpus, root, CountingEmbedder())
    reports: queue.Queue[BuildReport | BriefqaError] = queue.Queue()
    stop = threading.Event()
    put: Callable[[BuildReport | BriefqaError], None] = reports.put
    thread = threading.Thread(
        target=watch_and_rebuild,
        daemon=True,
        args=(corpus, root, CountingEmbedder()),
        kwargs={"on_report": put, "on_error": put, "debounce_ms": DEBOUNCE_MS, "stop_event": stop},
    )
    thread.start()
    try:
        # Written before the watch is live: caught up on when it is.
        write_source(corpus, "railways.md", "railways")
        first = _next_outcome(reports)
        assert isinstance(first, BuildReport) and first.added == ["railways"]
        assert LocalStore(root).current_version() == first.version

        for path in corpus.iterdir():
            path.unlink()
        failed = _next_outcome(reports)
        assert isinstance(failed, CorpusError)
        assert LocalStore(root).current_version() == first.version, "the previous index stays"

        write_source(corpus, "glaciers.md", "glaciers")
        again = _next_outcome(reports)
        assert isinstance(again, BuildReport) and again.removed == ["fisheries", "railways"]
        assert again.added == ["glaciers"]
    finally:
        stop.set()
        thread.join(timeout=10)
