"""Corpus folder changes -> rebuild triggers, debounced (watchfiles)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from .ingest import SUFFIXES


def watch_corpus(corpus: Path, debounce_ms: int = 1500,
                 stop_event: threading.Event | None = None) -> Iterator[set[str]]:
    """Yield the changed source paths each time the corpus settles after a change."""
    from watchfiles import watch

    root = corpus.resolve()

    def is_source(_change: object, path: str) -> bool:
        try:
            rel = Path(path).resolve().relative_to(root)
        except ValueError:
            return False
        return not any(p.startswith(".") for p in rel.parts) and rel.suffix.lower() in SUFFIXES

    for changes in watch(root, debounce=debounce_ms, stop_event=stop_event, watch_filter=is_source):
        yield {path for _, path in changes}
