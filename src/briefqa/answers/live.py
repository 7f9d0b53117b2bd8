"""The index a long-running process answers from, swapped whole when a new version is published."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ..embed import Embedder
from ..errors import BackendError, IndexDamagedError, IndexMismatchError, IndexMissingError
from ..index.backends.choose import as_store
from ..index.backends.interface import IndexStore
from ..index.build.embedding import ProgressHook
from ..index.build.pipeline import BuildReport, build_index
from .revisions import STATE_FOLDER, TextArchive
from .searcher import Searcher, open_searcher

log = logging.getLogger("briefqa.live")


class LiveIndex:
    """Holds the embedder and the searcher of the live version.

    A request takes ``searcher`` once and answers from it, so it never mixes two versions;
    ``refresh`` replaces the reference in one assignment after the new version is fully loaded.
    """

    def __init__(
        self, corpus: Path, where: Path | IndexStore, embedder: Embedder, archive: TextArchive | None = None
    ) -> None:
        self.corpus = corpus
        self.store = as_store(where)
        self.root = self.store.root
        self.embedder = embedder
        # Every text served is kept, so a citation made from it finds its sentence after an edit.
        self.archive = archive or TextArchive(self.root / STATE_FOLDER / "texts")
        self._searcher: Searcher | None = None
        self._load_error: str | None = None
        # (version, stamp) of the published version that last failed to load.
        self._failed: tuple[str, tuple[object, ...]] | None = None
        # The store's publish stamp when last acted on (see ``refresh_if_published``).
        self._published: object = None
        # The published version's name as last read, whether or not it is the one served.
        self._newest: str | None = None
        self._refresh_lock = threading.Lock()
        self._build_lock = threading.Lock()
        _one_search_thread()

    @property
    def searcher(self) -> Searcher:
        """The searcher of the live version; ``IndexMissingError`` while there is none."""
        current = self._searcher
        if current is None:
            raise IndexMissingError(self._load_error or f"no index in {self.store.describe()}; run `briefqa index`")
        return current

    @property
    def ready(self) -> bool:
        return self._searcher is not None

    def refresh(self) -> bool:
        """Load the published version if it is not the one served; True if it swapped.

        Safe to call from several threads; a version that fails to load leaves the old one serving.
        When nothing is served yet (start-up) and the published version is damaged, the newest
        intact older version is served instead until a build repairs the index.
        """
        with self._refresh_lock:
            try:
                name = self.store.current_version()
            except BackendError as exc:
                # The store is out of reach: keep serving what is loaded, and say why once.
                return self._unreachable(str(exc))
            self._newest = name
            if name is None or (self._searcher is not None and self._searcher.version == name):
                return False
            stamp = (name, self.store.version_stamp(name))
            if stamp == self._failed:
                # Known bad and untouched since: verifying it again every second would read it all.
                return False
            try:
                # Load the very version just read from CURRENT, not whatever CURRENT says by now,
                # so the searcher's name always matches its data.
                searcher = open_searcher(self.store, self.embedder, version=name)
            except (IndexDamagedError, IndexMismatchError, IndexMissingError, BackendError, OSError) as exc:
                # What a damaged, incompatible or vanished version raises: keep serving the old one
                # and say why the new one is not used. Anything else is a bug and surfaces with its
                # traceback rather than reading as "not loaded" until the files change.
                message = str(exc) if isinstance(exc, IndexDamagedError) else f"index version {name} not loaded: {exc}"
                # One log line per failing version, not one a second.
                if message != self._load_error:
                    log.error("%s", message)
                self._load_error = message
                self._failed = stamp
                return self._searcher is None and self._fall_back(name)
            self.archive.keep(d.text for d in searcher.index.documents)
            # One reference assignment: a request holds either the old searcher or the new one.
            self._searcher = searcher
            self._load_error = None
            self._failed = None
            log.info("serving index version %s", searcher.version)
            return True

    def refresh_if_published(self) -> None:
        """``refresh`` if a version was published since the last look; one ``stat`` otherwise.

        Called before each request, so that when a server runs several worker processes and one of
        them rebuilds, a request that any of them takes after the rebuild replied is answered from
        the new version (the periodic watcher alone would leave up to a second of the old one).
        A store whose stamp costs a round trip (Qdrant) has none, and leaves it to the watcher.
        """
        stamp = self.store.published_stamp()
        if stamp != self._published:
            self._published = stamp
            self.refresh()

    def _unreachable(self, message: str) -> bool:
        if message != self._load_error:
            log.error("%s", message)
        self._load_error = message
        return False

    def _fall_back(self, damaged: str) -> bool:
        older = self.store.load_newest_intact(self.embedder.name, self.embedder.dimension, older_than=damaged)
        if older is None:
            return False
        self.archive.keep(d.text for d in older.documents)
        self._searcher = Searcher(older, self.embedder)
        log.warning(
            "serving index version %s, the newest intact one, instead of %s until `briefqa index` repairs the index",
            older.version,
            damaged,
        )
        return True

    @property
    def newest(self) -> str | None:
        """The published version as last read (the watcher reads it every ``reload_interval``)."""
        return self._newest

    @property
    def load_error(self) -> str | None:
        """Why the published version is not the one served, if it is not."""
        return self._load_error

    def rebuild(
        self, *, full: bool = False, progress: ProgressHook | None = None, lock_timeout: float = 600.0
    ) -> BuildReport:
        """Build, publish, and swap the new version in before returning.

        Raises the build's error (the old version keeps serving; ``IndexBusyError`` when another
        build holds the index past ``lock_timeout`` seconds), or ``IndexMismatchError`` if the
        published version cannot be loaded by this process.
        """
        with self._build_lock:
            report = build_index(
                self.corpus, self.store, self.embedder, full=full, progress=progress, lock_timeout=lock_timeout
            )
            self.refresh()
            if self._load_error is not None:
                raise IndexMismatchError(self._load_error)
            return report


def _one_search_thread() -> None:
    """A search over the index is short; faiss's thread pool only contends with the encoder
    and with concurrent requests (measured: 0.55 ms with its default threads, 0.25 ms with one)."""
    import faiss

    faiss.omp_set_num_threads(1)
