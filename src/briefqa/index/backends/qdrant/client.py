"""The one Qdrant client of a process: connecting as ``BRIEFQA_QDRANT`` says, and every call guarded.

``BRIEFQA_QDRANT`` is a folder (Qdrant's embedded local mode: the client's own Python
re-implementation, one process at a time, for tests and small installs) or the http(s) URL of a
Qdrant server or cluster (``BRIEFQA_QDRANT_API_KEY`` when it needs one). A URL's query may say how
a version's collections are laid out on a cluster: ``?shard_number=6&replication_factor=2``
(and ``write_consistency_factor``).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from ....errors import BackendError, BriefqaError

CLUSTER_OPTIONS = ("shard_number", "replication_factor", "write_consistency_factor")
# One client per embedded folder in a process: Qdrant's local mode locks its folder, and a server
# that rebuilds over HTTP writes with the client it serves from.
_EMBEDDED: dict[str, QdrantClientGuard] = {}
_EMBEDDED_LOCK = threading.Lock()


def names_server(setting: str) -> bool:
    """Whether a ``BRIEFQA_QDRANT`` value names a Qdrant server (a URL) rather than the folder of
    the embedded mode, which one process at a time may open."""
    return "://" in setting


@dataclass(frozen=True, slots=True)
class Cluster:
    """How versions are laid out on a Qdrant server (ignored by the embedded mode)."""

    shard_number: int | None = None
    replication_factor: int | None = None
    write_consistency_factor: int | None = None


class QdrantClientGuard:
    """The one client of a process, every call through ``call``: failures become ``BackendError``.

    The embedded mode is a Python re-implementation that is not safe for concurrent use, so its
    calls are serialised; a server client is called from any thread at once.
    """

    def __init__(self, client: Any, where: str, embedded: bool) -> None:
        self.client = client
        self.where = where
        self.embedded = embedded
        self._lock: Any = threading.RLock() if embedded else None

    @contextmanager
    def call(self, doing: str) -> Iterator[Any]:
        try:
            if self._lock is None:
                yield self.client
            else:
                with self._lock:
                    yield self.client
        except BriefqaError:
            raise  # ours already says what is wrong
        except Exception as exc:  # the client raises many kinds (HTTP, gRPC, its own, ValueError)
            raise BackendError(f"Qdrant at {self.where} failed while {doing} ({first_line(exc)})") from None


def first_line(exc: BaseException) -> str:
    """What a client error says, in one short line (its type when it says nothing)."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def release(guard: QdrantClientGuard) -> None:
    """Let another process open an embedded folder (a server's client stays shared)."""
    if guard.embedded:
        with _EMBEDDED_LOCK:
            for key, held in list(_EMBEDDED.items()):
                if held is guard:
                    del _EMBEDDED[key]
            guard.client.close()


def embedded(folder: Path) -> QdrantClientGuard:
    if folder.exists() and not folder.is_dir():
        raise BackendError(f"BRIEFQA_QDRANT {folder} is a file, not a folder")
    key = str(folder.resolve())
    with _EMBEDDED_LOCK:
        if key in _EMBEDDED:
            return _EMBEDDED[key]
        try:
            folder.mkdir(parents=True, exist_ok=True)
            from qdrant_client import QdrantClient

            client = QdrantClient(path=str(folder))
        except OSError as exc:
            raise BackendError(f"BRIEFQA_QDRANT folder {folder} cannot be used: {exc.strerror or exc}") from None
        except RuntimeError as exc:
            if "already accessed" not in str(exc):
                raise BackendError(f"BRIEFQA_QDRANT folder {folder} cannot be opened ({exc})") from None
            raise BackendError(
                f"BRIEFQA_QDRANT folder {folder} is in use by another process (Qdrant's embedded mode admits "
                "one at a time): stop it, or rebuild through the server that holds it (POST /api/index/rebuild)"
            ) from None
        # Closed before the interpreter tears its modules down (the client's own __del__ is too late).
        atexit.register(client.close)
        guard = QdrantClientGuard(client, str(folder), embedded=True)
        _EMBEDDED[key] = guard
        return guard


def server(setting: str, api_key: str | None) -> QdrantClientGuard:
    from qdrant_client import QdrantClient

    parts = urlsplit(setting)
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    try:
        client = QdrantClient(url=url, api_key=api_key, timeout=10, check_compatibility=False)
        client.get_collections()
    except Exception as exc:  # connection refused, DNS, TLS, 401/403: all mean "not usable as set"
        text = first_line(exc)
        if "401" in text or "403" in text or "nauthorized" in text or "orbidden" in text:
            raise BackendError(
                f"BRIEFQA_QDRANT: Qdrant at {url} refused the request ({text}); check BRIEFQA_QDRANT_API_KEY"
            ) from None
        raise BackendError(f"BRIEFQA_QDRANT: cannot reach Qdrant at {url} ({text})") from None
    return QdrantClientGuard(client, url, embedded=False)


def cluster_of(setting: str) -> Cluster:
    options = dict(parse_qsl(urlsplit(setting).query))
    unknown = sorted(set(options) - set(CLUSTER_OPTIONS))
    if unknown:
        raise BackendError(f"BRIEFQA_QDRANT: unknown option {unknown[0]!r} (known: {', '.join(CLUSTER_OPTIONS)})")
    try:
        values = {k: int(v) for k, v in options.items()}
    except ValueError:
        raise BackendError(f"BRIEFQA_QDRANT: {options} must be whole numbers") from None
    if any(v < 1 for v in values.values()):
        raise BackendError("BRIEFQA_QDRANT: shard_number, replication_factor and write_consistency_factor are >= 1")
    return Cluster(**values)
