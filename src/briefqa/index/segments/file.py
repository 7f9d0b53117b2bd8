"""One segment file: a JSON header, named arrays at aligned offsets, and a digest footer.

A segment holds everything of one source that a version needs (``store`` says what). It is
written once, renamed into place whole, and never changed: versions and later builds share it.
Like a Lucene segment file it ends with a checksum of all that precedes it, so a segment can be
verified on its own, and any array (or a run of rows of one) can be read with ``pread`` alone:
nothing is mapped, and a file cut short under a reader gives a short read, never a SIGBUS.

A ``SegmentFile`` keeps its file open while it lives: a loaded version reads its word pieces per
query, and a build may prune the segment meanwhile (the version is no longer kept, or is a
fallback no build lists); the open descriptor keeps the data readable until the version goes.
So a process holds one descriptor per source of each version it has loaded, and raises its soft
limit on open files to the hard one (``allow_open_segments``).

Layout::

    MAGIC (8 bytes) | header length (8 bytes, little-endian) | header (JSON, zlib-compressed)
    | arrays, each at a multiple of ALIGN | BLAKE2b-128 of everything above (16 bytes)

The header holds the source's text and its passages' BM25 terms, which zlib halves (about 0.9 KB
a SQuAD paragraph); it is read whole once per load, so its decompression costs a few
microseconds a source. ``BQSEG01`` (format 4) headers were plain JSON: such a file reads as not
a segment, and a build writes it anew.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
import zlib
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"BQSEG02\n"
ALIGN = 64
FOOTER = 16  # bytes of the BLAKE2b digest that ends the file
# numpy parses every .npy header with ast.literal_eval, and CPython 3.11.7 can fail two threads
# parsing at once ("SystemError: AST constructor recursion depth mismatch"): a build and a reload
# of the live index in one process (an HTTP rebuild) must not read arrays at the same moment.
# Every np.load of the index (a build's partial batches, a version's BM25 files) holds it.
ARRAY_READS = threading.Lock()


class SegmentError(ValueError):
    """A segment that cannot be read as written: cut short, altered, or not a segment at all."""


def _digest() -> Any:
    return hashlib.blake2b(digest_size=FOOTER)


def write_segment(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write ``meta`` and ``arrays`` to ``path`` whole: a reader sees no file or the complete one."""
    table: dict[str, dict[str, Any]] = {}
    at = 0
    for name, array in arrays.items():
        table[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": at}
        at += -(-array.nbytes // ALIGN) * ALIGN
    header = zlib.compress(json.dumps({"meta": meta, "arrays": table}).encode(), 6)
    start = -(-(len(MAGIC) + 8 + len(header)) // ALIGN) * ALIGN
    head = MAGIC + len(header).to_bytes(8, "little") + header
    head += b"\0" * (start - len(head))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    digest = _digest()
    with open(tmp, "wb") as fh:
        for block in (head, *(_padded(np.ascontiguousarray(a)) for a in arrays.values())):
            fh.write(block)
            digest.update(block)
        fh.write(digest.digest())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _padded(array: np.ndarray) -> bytes:
    raw = array.tobytes()
    return raw + b"\0" * (-len(raw) % ALIGN)


def footer_problem(path: Path) -> str | None:
    """Whether the file's bytes still match the digest at its end; None when they do."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < FOOTER + len(MAGIC):
                return f"{path.name} is cut short ({size} bytes)"
            digest = _digest()
            left = size - FOOTER
            while left:
                block = fh.read(min(left, 1 << 20))
                if not block:
                    return f"{path.name} is cut short"
                digest.update(block)
                left -= len(block)
            if fh.read(FOOTER) != digest.digest():
                return f"{path.name} was altered (checksum mismatch)"
    except FileNotFoundError:
        return f"{path.name} is missing"
    except OSError as exc:
        return f"{path.name} cannot be read ({exc.strerror or type(exc).__name__})"
    return None


def allow_open_segments() -> None:
    """Raise this process's soft limit on open files to its hard limit (once): a version keeps one
    descriptor per source open, and the usual soft limit, 1024, is below a large corpus."""
    global _LIMIT_RAISED
    if _LIMIT_RAISED:
        return
    _LIMIT_RAISED = True
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 20, hard))
    except (ImportError, ValueError, OSError):
        pass  # not POSIX, or not allowed: the soft limit stays, as it was before


_LIMIT_RAISED = False


class SegmentFile:
    """The header of one segment, and reads of its arrays with ``pread`` on the descriptor it keeps."""

    __slots__ = ("_arrays", "_fd", "_start", "meta", "path", "size")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1
        allow_open_segments()
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise SegmentError(f"{path.name} cannot be opened ({exc.strerror or type(exc).__name__})") from None
        try:
            self.size = os.fstat(fd).st_size
            head = os.pread(fd, len(MAGIC) + 8, 0)
            if len(head) != len(MAGIC) + 8 or head[: len(MAGIC)] != MAGIC:
                raise SegmentError(f"{path.name} is not a segment file")
            length = int.from_bytes(head[len(MAGIC) :], "little")
            raw = os.pread(fd, length, len(MAGIC) + 8)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        try:
            header = json.loads(zlib.decompress(raw))
            self.meta: dict[str, Any] = header["meta"]
            self._arrays: dict[str, dict[str, Any]] = header["arrays"]
        except (ValueError, KeyError, TypeError, zlib.error):
            raise SegmentError(f"{path.name} has an unreadable header") from None
        self._start = -(-(len(MAGIC) + 8 + length) // ALIGN) * ALIGN
        end = max((self._start + e["offset"] + self._nbytes(e) for e in self._arrays.values()), default=self._start)
        if self.size < end + FOOTER:
            raise SegmentError(f"{path.name} has {self.size} bytes, its header says {end + FOOTER}")

    @staticmethod
    def _nbytes(entry: dict[str, Any]) -> int:
        return int(np.prod(entry["shape"], dtype=np.int64)) * np.dtype(entry["dtype"]).itemsize

    def dtype(self, name: str) -> np.dtype:
        return np.dtype(self._entry(name)["dtype"])

    def names(self) -> list[str]:
        """The arrays the segment holds, in file order."""
        return list(self._arrays)

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(int(n) for n in self._entry(name)["shape"])

    def array(self, name: str) -> np.ndarray:
        """Array ``name`` whole, read into memory."""
        entry = self._entry(name)
        shape = tuple(entry["shape"])
        return self._read(entry, 0, self._nbytes(entry)).reshape(shape)

    def rows(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of 2-D array ``name``, in one read."""
        entry = self._entry(name)
        width = int(entry["shape"][1])
        row = width * np.dtype(entry["dtype"]).itemsize
        if not 0 <= start <= stop <= int(entry["shape"][0]):
            raise SegmentError(f"{self.path.name}: rows {start}:{stop} of {name} are out of range")
        return self._read(entry, start * row, (stop - start) * row).reshape(-1, width)

    def span(self, name: str, start: int, stop: int) -> np.ndarray:
        """Values ``start:stop`` of 1-D array ``name``, in one read."""
        entry = self._entry(name)
        if len(entry["shape"]) != 1 or not 0 <= start <= stop <= int(entry["shape"][0]):
            raise SegmentError(f"{self.path.name}: values {start}:{stop} of {name} are out of range")
        size = np.dtype(entry["dtype"]).itemsize
        return self._read(entry, start * size, (stop - start) * size)

    def _entry(self, name: str) -> dict[str, Any]:
        try:
            return self._arrays[name]
        except KeyError:
            raise SegmentError(f"{self.path.name} has no array {name!r}") from None

    def _read(self, entry: dict[str, Any], skip: int, nbytes: int) -> np.ndarray:
        dtype = np.dtype(entry["dtype"])
        if not nbytes:
            return np.zeros(0, dtype=dtype)
        try:
            raw = os.pread(self._fd, nbytes, self._start + int(entry["offset"]) + skip)
        except OSError as exc:
            raise SegmentError(f"{self.path.name} cannot be read ({exc.strerror or type(exc).__name__})") from None
        if len(raw) != nbytes:
            raise SegmentError(f"{self.path.name} is shorter than its header says")
        return np.frombuffer(raw, dtype=dtype)

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __del__(self) -> None:
        self.close()
