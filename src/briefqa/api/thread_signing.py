"""The per-deployment key that signs the thread references briefqa issues (``turns``).

A reference carried in a URL says which sentences a turn showed and whether they answered it; the
signature says that briefqa issued it, for that question after those earlier questions, from
those texts of the sources. Nobody without the key can make one, so a crafted URL cannot show a
sentence as briefqa's answer: a reference that does not check out is searched again.

The key is ``BRIEFQA_SECRET`` when set (the same on every host of a deployment, so each one's
links draw on the others). Unset, it is made once and kept in the index folder's state folder, so
links survive a restart; a server that cannot write there signs with a key of its own process,
and links it issued are searched again after a restart.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..answers.revisions import STATE_FOLDER
from ..settings import Settings

log = logging.getLogger("briefqa.api")

SECRET_FILE = "thread-secret"
# 128 bits of HMAC-SHA256, base64url: 22 characters on a reference.
SIGNATURE_BYTES = 16


class ThreadSigner:
    """Signs and checks a sequence of strings with one key, fetched from ``key`` when first needed
    (an app that never signs, such as one made only for its schema, writes no key file)."""

    def __init__(self, key: Callable[[], bytes]) -> None:
        self._fetch = key
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def _the_key(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._fetch()
        return self._key

    def sign(self, *parts: str) -> str:
        digest = hmac.new(self._the_key(), _framed(parts), hashlib.sha256).digest()[:SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def verify(self, signature: str, *parts: str) -> bool:
        return hmac.compare_digest(signature.encode(), self.sign(*parts).encode())


def _framed(parts: tuple[str, ...]) -> bytes:
    """Each part with its length first: ("ab", "c") and ("a", "bc") sign differently."""
    out = bytearray()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        out += len(data).to_bytes(8, "big") + data
    return bytes(out)


def signer_of(settings: Settings) -> ThreadSigner:
    """The signer of the deployment ``settings`` describe (see the module's docstring)."""
    secret = settings.secret.get_secret_value() if settings.secret else None
    return ThreadSigner(lambda: deployment_key(secret, settings.index))


def deployment_key(secret: str | None, index: Path) -> bytes:
    """``secret``'s bytes, or the key kept under ``index`` (made there on first use)."""
    if secret:
        return secret.encode()
    path = index / STATE_FOLDER / SECRET_FILE
    try:
        return _kept_key(path)
    except OSError as exc:
        log.warning("cannot keep the thread secret in %s (%s): links to threads last until a restart", path, exc)
        return secrets.token_bytes(32)


def _kept_key(path: Path) -> bytes:
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Exclusive create: of several workers starting at once, one writes and the others read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):  # another worker is between creating the file and writing its key
            with contextlib.suppress(OSError):
                return _read_key(path)
            time.sleep(0.02)
        return _read_key(path)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_text().strip()
    if len(key) < 32:
        raise OSError(f"{path} holds no key")
    return key.encode()
