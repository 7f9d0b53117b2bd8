"""The build lock of a deployment, kept in Qdrant itself, so that it holds across hosts.

One point (``LOCK_ID``) in the collection ``<prefix>-lock`` names the build that holds the lock
and when its lease ends. It is taken by one conditional write, an upsert whose ``update_filter``
lets it replace the point only when the lease has ended or is already this build's: Qdrant applies
a point's update on its shard as a whole, so of two builds that write at once one replaces the
point and the other's write is skipped, and each reads back who holds it. A holder renews its lease
every third of ``LEASE_SECONDS`` from a thread, and deletes the point when it finishes.

A holder that dies (killed, its host lost) stops renewing: its lease ends at most ``LEASE_SECONDS``
later and the next build takes the lock; its half-written collections are unfinished and dropped by
that build. A holder that is merely stalled past its lease (a paused VM, Qdrant out of reach)
finds, when it next renews or is about to publish or delete, that another build owns the point,
and stops with ``IndexBusyError`` before it touches the aliases or drops anything.

What this does not give on a real cluster, and what one would need (the embedded mode is one
process, so only the logic is tested here, never a cluster):

- the lease is wall-clock time compared across hosts: builders' clocks must agree (NTP) to well
  within ``LEASE_SECONDS``;
- the conditional write must be ordered by the shard's leader (``WriteOrdering.STRONG``, used here)
  and the read back must see it (``ReadConsistencyType.ALL``, used here), with the lock collection
  on one shard; a replica that lags behind a network split could still let two hosts through;
- a build stalled past its lease between its last check and the alias swap can still publish (there
  is no fencing token Qdrant would check on ``update_collection_aliases``); the swap is one call
  and the check is right before it, so the window is one round trip.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ....errors import BackendError, IndexBusyError
from .client import QdrantClientGuard
from .schema import lock_collection

log = logging.getLogger("briefqa.store")

LOCK_ID = 1
# Long enough that a build's renewal (every third of it) survives a slow Qdrant; short enough that
# a dead holder delays the next build by a minute, not a night.
LEASE_SECONDS = 60.0


class QdrantBuildLock:
    """The lease on a deployment's builds; a second build waits up to ``timeout`` seconds."""

    def __init__(
        self,
        guard: QdrantClientGuard,
        prefix: str,
        timeout: float = 600.0,
        lease: float = LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._guard = guard
        self._collection = lock_collection(prefix)
        self._timeout = timeout
        self._lease = lease
        self._clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lost: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # ---- taking, keeping and giving back the lease ---------------------------------------------

    def __enter__(self) -> QdrantBuildLock:
        self._ensure_collection()
        deadline = time.monotonic() + self._timeout
        warned = False
        while (holder := self._take()) is not None:
            if time.monotonic() >= deadline:
                raise IndexBusyError(
                    f"another build ({holder}) holds the build lock in Qdrant at {self._guard.where} "
                    f"(waited {self._timeout:.0f}s); try again when it finishes"
                )
            if not warned:
                # Said once: otherwise a second `briefqa index` looks hung while it waits.
                log.warning(
                    "another build (%s) holds the build lock in Qdrant; waiting up to %.0fs", holder, self._timeout
                )
                warned = True
            time.sleep(min(1.0, self._lease / 3, max(0.0, deadline - time.monotonic())))
        self._renewer = threading.Thread(target=self._keep, name="briefqa-build-lease", daemon=True)
        self._renewer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self._lost is None:
            try:
                with self._guard.call("releasing the build lock") as client:
                    client.delete(self._collection, self._mine(), wait=True)
            except BackendError as err:
                # The lease runs out on its own; the next build waits for it at most LEASE_SECONDS.
                log.warning("%s; the lock is free again within %.0fs", err, self._lease)

    def check(self) -> None:
        """``IndexBusyError`` if this build no longer holds the lease (about to write what others read)."""
        if self._lost is None and self._take() is not None:
            self._lost = "another build took it"
        if self._lost is not None:
            raise IndexBusyError(
                f"this build lost the build lock in Qdrant at {self._guard.where} ({self._lost}); "
                "nothing was published by it"
            )

    def _keep(self) -> None:
        while not self._stop.wait(self._lease / 3):
            try:
                if (holder := self._take()) is not None:
                    self._lost = f"{holder} took it"
                    log.error("the build lock in Qdrant was taken by %s; this build will not publish", holder)
                    return
            except BackendError as exc:
                # Transient, as far as this build can tell: the lease still runs; the check before
                # publishing says whether it ran out.
                log.warning("could not renew the build lock: %s", exc)

    # ---- the one point ---------------------------------------------------------------------------

    def _ensure_collection(self) -> None:
        with self._guard.call("reading the build lock") as client:
            if client.collection_exists(self._collection):
                return
        try:
            with self._guard.call("creating the build lock") as client:
                client.create_collection(self._collection, vectors_config={})
        except BackendError:
            # Another builder created it first; a collection that truly cannot be made fails below.
            with self._guard.call("reading the build lock") as client:
                if not client.collection_exists(self._collection):
                    raise

    def _take(self) -> str | None:
        """Take or renew the lease; None when this build holds it, else who does."""
        from qdrant_client import models as m

        now = self._clock()
        point = m.PointStruct(
            id=LOCK_ID,
            vector={},
            payload={"owner": self.owner, "expires": now + self._lease, "taken": now},
        )
        free_or_mine = m.Filter(
            should=[m.FieldCondition(key="expires", range=m.Range(lt=now)), *self._mine().must]  # type: ignore[union-attr]
        )
        with self._guard.call("taking the build lock") as client:
            client.upsert(
                self._collection, [point], update_filter=free_or_mine, ordering=m.WriteOrdering.STRONG, wait=True
            )
            found = client.retrieve(
                self._collection, [LOCK_ID], with_payload=True, consistency=m.ReadConsistencyType.ALL
            )
        payload: dict[str, Any] = (found[0].payload or {}) if found else {}
        if payload.get("owner") == self.owner:
            return None
        until = payload.get("expires")
        when = time.strftime("%H:%M:%SZ", time.gmtime(until)) if isinstance(until, int | float) else "?"
        return f"{payload.get('owner', 'unknown')}, lease until {when}"

    def _mine(self) -> Any:
        from qdrant_client import models as m

        return m.Filter(must=[m.FieldCondition(key="owner", match=m.MatchValue(value=self.owner))])
