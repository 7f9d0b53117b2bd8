"""Corpus folder changes -> rebuilds, debounced (watchfiles)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from .build import BuildReport, ProgressHook, build_index
from .embed import Embedder
from .errors import BriefqaError
from .ingest import SUFFIXES

log = logging.getLogger("briefqa.watch")


def watch_corpus(corpus: Path, debounce_ms: int = 1500, stop_event: threading.Event | None = None,
                 exclude: Path | None = None) -> Iterator[set[str]]:
    """Yield the changed paths each time the corpus settles after a change (until ``stop_event``).

    Changes to hidden files, non-source files and ``exclude`` (an index kept inside the corpus,
    whose own writes must not trigger builds) are ignored.
    """
    from watchfiles import Change, watch

    root = corpus.resolve()
    skip = exclude.resolve() if exclude is not None else None

    def relevant(change: Change, path: str) -> bool:
        where = Path(path).resolve()
        if skip is not None and where.is_relative_to(skip):
            return False
        try:
            rel = where.relative_to(root)
        except ValueError:
            return False
        if any(p.startswith(".") for p in rel.parts):
            return False
        if rel.suffix.lower() in SUFFIXES:
            return True
        # A folder moved in or out brings or takes sources without an event for each file; a
        # deleted path no longer says whether it was a folder, so it counts (a build that finds
        # nothing changed publishes nothing).
        return change == Change.deleted or where.is_dir()

    for changes in watch(root, debounce=debounce_ms, stop_event=stop_event, watch_filter=relevant):
        yield {path for _, path in changes}


def watch_and_rebuild(corpus: Path, root: Path, embedder: Embedder, *,
                      on_report: Callable[[BuildReport], None],
                      on_error: Callable[[BriefqaError], None],
                      progress: Callable[[], ProgressHook | None] = lambda: None,
                      debounce_ms: int = 1500, stop_event: threading.Event | None = None) -> None:
    """Rebuild ``root`` incrementally after every settled change to ``corpus``, until ``stop_event``.

    A build that fails (an emptied corpus, a busy lock) is reported and the watch goes on: the
    live version stays, and the next change gets another try.
    """
    for changed in watch_corpus(corpus, debounce_ms, stop_event, exclude=root):
        log.info("corpus changed (%d paths); rebuilding", len(changed))
        try:
            report = build_index(corpus, root, embedder, progress=progress())
        except BriefqaError as exc:
            on_error(exc)
        else:
            on_report(report)
