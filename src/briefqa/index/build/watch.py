"""Corpus folder changes -> rebuilds, debounced (watchfiles)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from ...embed import Embedder
from ...errors import BriefqaError
from ...sources.ingest import SUFFIXES
from ..backends.choose import as_store
from ..backends.interface import IndexStore
from .embedding import ProgressHook
from .pipeline import BuildReport, build_index

log = logging.getLogger("briefqa.watch")

# How soon an idle watch reports that it is live.
READY_MS = 300


def watch_corpus(
    corpus: Path, debounce_ms: int = 1500, stop_event: threading.Event | None = None, exclude: Path | None = None
) -> Iterator[set[str]]:
    """Yield the changed paths each time the corpus settles after a change (until ``stop_event``).

    The first yield is an empty set, as soon as the watch is live: from then on no change is
    missed, and whatever changed before may need catching up on. Changes to hidden files,
    non-source files and ``exclude`` (an index kept inside the corpus, whose own writes must
    not trigger builds) are ignored.
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

    live = False
    # A timeout yields an empty set: the first one says the watch is live, later ones say nothing.
    for changes in watch(
        root,
        debounce=debounce_ms,
        stop_event=stop_event,
        watch_filter=relevant,
        rust_timeout=READY_MS,
        yield_on_timeout=True,
    ):
        if not live:
            live = True
            yield set()
        if changes:
            yield {path for _, path in changes}


def watch_and_rebuild(
    corpus: Path,
    where: Path | IndexStore,
    embedder: Embedder,
    *,
    on_report: Callable[[BuildReport], None],
    on_error: Callable[[BriefqaError], None],
    progress: Callable[[], ProgressHook | None] = lambda: None,
    on_ready: Callable[[], None] = lambda: None,
    debounce_ms: int = 1500,
    stop_event: threading.Event | None = None,
) -> None:
    """Rebuild the store ``where`` (a folder: the local store) incrementally after every settled
    change to ``corpus``, until ``stop_event``.

    ``on_ready`` is called once the watch is live; a change made before that is caught up on
    then. A build that fails (an emptied corpus, a busy lock) is reported and the watch goes
    on: the live version stays, and the next change gets another try.
    """
    target = as_store(where)
    for changed in watch_corpus(corpus, debounce_ms, stop_event, exclude=target.root):
        catching_up = not changed
        if catching_up:
            on_ready()
        else:
            log.info("corpus changed (%d paths); rebuilding", len(changed))
        try:
            report = build_index(corpus, target, embedder, progress=progress())
        except BriefqaError as exc:
            on_error(exc)
        else:
            if report.published or not catching_up:
                on_report(report)
