"""A source text's revision (the ``rev`` of a citation link), and the texts a server has quoted from.

A citation's offsets index one text of its source. Its link names that text by ``revision_of``,
a digest of the text itself (not of the file: a new reader of the same file gives another text).
When the source is edited, the page that opens an old link needs the quote's words to find the
same sentence in the new text; those words are in the old text alone, so each text a server has
served is kept, by revision, in the index folder's state folder (``TextArchive``), compressed.
A link whose text is not there (made by another deployment, or before the archive existed) is
told apart from a stale one and highlights nothing.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("briefqa.revisions")

# The folder of what a deployment keeps besides its index: the texts below, the thread secret.
STATE_FOLDER = ".state"
# 64 bits of SHA-256: the revisions of one source never meet by chance, and a link stays short.
REVISION_CHARS = 16
REVISION = re.compile(f"[0-9a-f]{{{REVISION_CHARS}}}")


def revision_of(text: str) -> str:
    """The revision that names ``text``: the first ``REVISION_CHARS`` hex digits of its SHA-256."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:REVISION_CHARS]


class TextArchive:
    """Source texts by revision, one gzip file each, written once and never changed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, revision: str) -> Path:
        return self.folder / f"{revision}.txt.gz"

    def keep(self, texts: Iterable[str]) -> None:
        """Store each text not stored yet. A folder that cannot be written costs the old links
        their re-finding (they highlight nothing), never the serving: logged once, not raised."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for text in texts:
                path = self._path(revision_of(text))
                if not path.exists():
                    self._write(path, text)
        except OSError as exc:
            log.warning(
                "cannot keep source texts in %s (old citation links will highlight nothing): %s", self.folder, exc
            )

    def _write(self, path: Path, text: str) -> None:
        # Written aside and renamed: several worker processes may keep the same text at once.
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(gzip.compress(text.encode("utf-8", "surrogatepass"), mtime=0))
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def text(self, revision: str) -> str | None:
        """The text named ``revision``, None when it was never kept here (or does not check out)."""
        if REVISION.fullmatch(revision) is None:
            return None
        try:
            text = gzip.decompress(self._path(revision).read_bytes()).decode("utf-8", "surrogatepass")
        except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile):
            return None
        return text if revision_of(text) == revision else None
