"""The index a long-running process answers from, swapped whole when a new version is published."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from . import store
from .build import BuildReport, ProgressHook, build_index
from .embed import Embedder
from .errors import IndexMissingError
from .searcher import Searcher

log = logging.getLogger("briefqa.live")


class LiveIndex:
    """Holds the embedder and the searcher of the live version.

    A request takes ``searcher`` once and answers from it, so it never mixes two versions;
    ``refresh`` replaces the reference in one assignment after the new version is fully loaded.
    """

    def __init__(self, corpus: Path, root: Path, embedder: Embedder) -> None:
        self.corpus = corpus
        self.root = root
        self.embedder = embedder
        self._searcher: Searcher | None = None
        self._load_error: str | None = None
        self._refresh_lock = threading.Lock()
        self._build_lock = threading.Lock()

    @property
    def searcher(self) -> Searcher:
        """The searcher of the live version; ``IndexMissingError`` while there is none."""
        current = self._searcher
        if current is None:
            raise IndexMissingError(self._load_error or f"no index in {self.root}; run `briefqa index`")
        return current

    @property
    def ready(self) -> bool:
        return self._searcher is not None

    def refresh(self) -> bool:
        """Load the published version if it is newer than the one served; True if it swapped."""
        with self._refresh_lock:
            name = store.current_version(self.root)
            if name is None or (self._searcher is not None and self._searcher.version == name):
                return False
            try:
                data = store.load(self.root, self.embedder.name, self.embedder.dimension)
            except Exception as exc:  # keep serving the old version; say why the new one is not used
                self._load_error = str(exc)
                log.error("index version %s not loaded: %s", name, exc)
                return False
            self._searcher = Searcher(data, self.embedder)
            self._load_error = None
            log.info("serving index version %s", data.version)
            return True

    def rebuild(self, *, full: bool = False, progress: ProgressHook | None = None) -> BuildReport:
        """Build, publish, and swap the new version in before returning."""
        with self._build_lock:
            report = build_index(self.corpus, self.root, self.embedder, full=full, progress=progress)
            self.refresh()
            return report
