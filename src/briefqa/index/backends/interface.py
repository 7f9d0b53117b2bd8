"""Where versions live: the one interface (``IndexStore``) the build, the searcher and the server use.

Two backends implement it: ``local.store.LocalStore``, the versioned folder (the default), and
``qdrant.store.QdrantStore``, chosen by ``BRIEFQA_QDRANT`` (``choose.open_store``). Both keep the
per-source segments under ``BRIEFQA_INDEX``: they are the build's cache (a source that did not
change is never embedded again) and the local store's data; a version in Qdrant is written from
them and then served from Qdrant alone.

What both do alike is written here once: which version a build starts from, which loads when the
live one is damaged, how many are kept, how damage is told, the build lock. A backend supplies
only its storage: naming, listing, reading, writing and dropping versions.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from ...errors import BackendError, IndexBusyError, IndexDamagedError, IndexMismatchError, IndexMissingError
from ..lexical import LexicalIndex
from ..loaded_version import IndexVersion
from ..manifest import Manifest, incompatibility

log = logging.getLogger("briefqa.store")

# Versions kept in either backend: the live one and the one before it. A server that has not yet
# swapped, and requests in flight on the version it is swapping out, read the previous one; a
# damaged live version falls back to it. A third would cost a Qdrant store a whole copy of every
# vector for a reader two publishes behind, which the watcher never leaves a server.
KEEP_VERSIONS = 2


def version_name() -> str:
    """A new version's name: UTC to the microsecond first, so sorting names sorts versions by age
    (garbage collection relies on it) whatever the local clock does at a daylight-saving change."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def damage_phrase(name: str, problems: list[str], where: str = "") -> str:
    """Version ``name`` is damaged, in one phrase: the first problem, and how many more."""
    more = f"; and {len(problems) - 1} more" if len(problems) > 1 else ""
    return f"index version {name}{where} is damaged ({problems[0]}{more})"


def damaged(phrase: str) -> IndexDamagedError:
    """The one error for a damaged version, saying what repairs it."""
    return IndexDamagedError(f"{phrase}; run `briefqa index` to repair it")


def check_manifest(manifest: Manifest, model: str | None, dimension: int | None) -> None:
    """Refuse an index of another format, model or dimension (``incompatibility``), saying what to run."""
    if (reason := incompatibility(manifest, model, dimension)) is not None:
        raise IndexMismatchError(f"{reason}; run `briefqa index --full` to rebuild it")


class BuildLock:
    """The one lock a build holds while it writes; a second build waits up to ``timeout`` seconds."""

    def __init__(self, root: Path, timeout: float = 600.0) -> None:
        from filelock import FileLock

        root.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(root / ".lock"))
        self._timeout = timeout
        self._root = root

    def __enter__(self) -> BuildLock:
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=0)
            return self
        except Timeout:
            # Say so once: otherwise a second `briefqa index` looks hung while it waits.
            log.warning(
                "another build of %s is running; waiting up to %.0fs for it to finish", self._root, self._timeout
            )
        try:
            self._lock.acquire(timeout=self._timeout)
        except Timeout:
            raise IndexBusyError(
                f"another build of {self._root} is still running (waited {self._timeout:.0f}s); "
                "try again when it finishes"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class IndexStore(ABC):
    """A place that holds index versions: write, publish atomically, drop old ones, load one."""

    # Whether builds on other hosts publish into it (Qdrant): ``serve`` then serves what is
    # published rather than building from its own corpus.
    shared = False

    # ---- what a backend supplies ----------------------------------------------------------------

    @property
    @abstractmethod
    def root(self) -> Path:
        """The folder of the segments (the build's cache) and of the build lock."""

    @abstractmethod
    def describe(self) -> str:
        """Where the versions are, for messages ("index folder ./index", "Qdrant at http://...")."""

    @property
    def location(self) -> str:
        """Where the versions are, as "no index in ..." names it."""
        return self.describe()

    @abstractmethod
    def current_version(self) -> str | None:
        """The live version's name; None when none was published."""

    @abstractmethod
    def versions(self) -> list[str]:
        """Every version the backend holds (damaged and unfinished ones included), newest first."""

    def finished(self, name: str) -> bool | None:
        """Whether version ``name`` was written to the end (it may still be damaged since); None
        when the backend cannot tell right now (garbage collection then keeps it)."""
        return True

    @abstractmethod
    def damage(self, name: str) -> str | None:
        """What is wrong with version ``name``, in one phrase (``damage_phrase``); None when intact."""

    @abstractmethod
    def manifest(self, name: str) -> Manifest | None:
        """Version ``name``'s manifest, or None when it cannot be read."""

    def trusted_manifest(self, name: str) -> Manifest | None:
        """Version ``name``'s manifest when the record itself is intact, even if other parts are not."""
        return self.manifest(name)

    @abstractmethod
    def read(self, name: str, model: str | None, dimension: int | None) -> IndexVersion:
        """Version ``name`` loaded and verified; ``IndexMissingError`` when it is gone,
        ``IndexDamagedError`` (``damaged``) when damaged, ``IndexMismatchError`` (``check_manifest``)
        when of another format, model or dimension."""

    @abstractmethod
    def drop(self, name: str) -> None:
        """Delete version ``name``."""

    @abstractmethod
    def drop_unfinished(self) -> None:
        """Delete what builds left that ``versions`` does not list (only under the build lock)."""

    @abstractmethod
    def begin_version(self) -> str:
        """A name for a version about to be written; readers cannot see it yet."""

    @abstractmethod
    def publish(self, name: str, manifest: Manifest, chunk_vectors: np.ndarray, lexical: LexicalIndex) -> str:
        """Write version ``name`` (its segments are in ``root``) and make it the live one atomically."""

    @abstractmethod
    def segments_in_use(self) -> set[str]:
        """Names of the segments under ``root`` that the versions kept still read."""

    @abstractmethod
    def version_stamp(self, name: str) -> tuple[object, ...]:
        """Something that changes whenever version ``name`` is repaired or replaced."""

    @abstractmethod
    def published_stamp(self) -> object:
        """Something that changes with every publish, cheap enough to read before each request;
        None when reading it costs a round trip (then only the periodic look sees a publish)."""

    # ---- what every backend does alike ----------------------------------------------------------

    def build_lock(self, timeout: float = 600.0) -> AbstractContextManager[object]:
        """The lock the one build that may write holds (here a file under ``root``; Qdrant adds a
        lease kept in Qdrant, for builds on other hosts)."""
        return BuildLock(self.root, timeout)

    def load(self, model: str | None, dimension: int | None, version: str | None = None) -> IndexVersion:
        """The live version (or ``version``), verified and checked against the model."""
        name = version or self.current_version()
        if name is None:
            raise IndexMissingError(f"no index in {self.location}; run `briefqa index` to build it")
        return self.read(name, model, dimension)

    def load_newest_intact(
        self, model: str | None, dimension: int | None, older_than: str | None = None
    ) -> IndexVersion | None:
        """The newest version older than ``older_than`` that loads; None if none does."""
        for name in self.versions():
            if older_than is not None and name >= older_than:
                continue
            try:
                return self.read(name, model, dimension)
            except (IndexDamagedError, IndexMismatchError, IndexMissingError):
                continue
        return None

    def intact_manifest(self) -> Manifest | None:
        """The live version's manifest if the whole version is intact, else None."""
        name = self.current_version()
        return None if name is None or self.damage(name) else self.manifest(name)

    def previous_manifest(self) -> tuple[Manifest | None, str | None]:
        """What a build starts from: (a manifest to compare with, what is damaged in the live version).

        When the live version is intact, its manifest and None. When it is damaged, its manifest if
        that record itself is intact (its ids and hashes are still true), else the newest intact older
        version's, else None; with the damage in one phrase, so the build repairs rather than
        reporting "nothing changed".
        """
        name = self.current_version()
        if name is None:
            return None, None
        reason = self.damage(name)
        if reason is None:
            return self.manifest(name), None
        if (manifest := self.trusted_manifest(name)) is not None:
            return manifest, reason
        for older in self.versions():
            if older < name and self.damage(older) is None and (manifest := self.manifest(older)):
                return manifest, reason
        return None, reason

    def collect_garbage(self) -> None:
        """Drop unfinished builds and all but ``KEEP_VERSIONS`` versions (only under the build lock).

        Kept: the live version, however old (rolled back by hand), and the newest finished others;
        with no live version (a ``CURRENT`` that cannot be read), the newest finished ones, so that
        it costs no fallback. A version is dropped only when the store said it may be: when the
        store fails to say which is live, which there are, or whether one was finished, that one
        (or all) is kept, since other servers may still read it; the next build tries again.
        Servers still answering from a dropped version of the local folder are unaffected: they
        hold its texts and vectors in memory, and their segments' open descriptors keep the word
        pieces readable (``segments.file``).
        """
        try:
            self.drop_unfinished()
            live = self.current_version()
            listed = self.versions()
        except BackendError as exc:
            log.warning("%s: no version dropped this time", exc)
            return
        kept = [live] if live else []
        others = [(v, self.finished(v)) for v in listed if v != live]
        kept += [v for v, done in others if done][: KEEP_VERSIONS - len(kept)]
        kept += [v for v, done in others if done is None]
        for name in listed:
            if name not in kept:
                try:
                    self.drop(name)
                except BackendError as exc:
                    log.warning("%s: version %s is left for the next build", exc, name)

    def drop_old_versions(self) -> None:
        """After a publish: drop what no reader needs any more (kept versions stay)."""
        self.collect_garbage()
