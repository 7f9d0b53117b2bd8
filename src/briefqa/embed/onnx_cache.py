"""Where a model folder's ONNX file is kept, whether it is still the weights' own, and its making.

One folder under the cache (``BRIEFQA_ONNX_CACHE``) per model folder: ``model.onnx`` and
``export.json``, which records the weights it was made from (each file's size and time, and a
SHA-256 over them all) and how closely it agreed with sentence-transformers. A start compares the
sizes and times (cheap); when they moved, the digest decides: the same bytes keep the file, other
bytes make a new one. Making one runs ``onnx_export`` in a child process, once, under a lock that
every other process waiting for the same file shares; this process never imports torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..errors import ModelError
from .model_folder import content_print, stat_print

log = logging.getLogger("briefqa.embed")

# The layout of export.json; a cache written by another layout is made again (2: the name of the
# word-piece table's initializer, which sessions share: word_table.py).
FORMAT = 2


def cache_folder(cache: Path, folder: Path) -> Path:
    """The cache's folder for one model folder (by its path: the digest says whether it changed)."""
    return cache / hashlib.sha256(str(folder).encode()).hexdigest()[:16]


def valid_record(where: Path, folder: Path) -> dict[str, Any] | None:
    """The export record of ``where`` when its ONNX file is whole and made from ``folder`` as it is now."""
    try:
        record = json.loads((where / "export.json").read_text(encoding="utf-8"))
        whole = (where / "model.onnx").stat().st_size == record["onnx_bytes"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if record.get("format") != FORMAT or not whole or record.get("folder") != str(folder):
        return None
    now = stat_print(folder)
    if now == record.get("files"):
        return record
    if content_print(folder) != record.get("content"):
        return None
    # Touched, not changed (a copy, a reinstall): note the new times so the next start is cheap.
    record["files"] = now
    with contextlib.suppress(OSError):
        _write(where, record)
    return record


def write_record(where: Path, folder: Path, table_folder: Path, **fields: Any) -> dict[str, Any]:
    """``where/export.json`` for the ONNX file just made there from ``folder``: what
    ``valid_record`` checks, the initializer name of ``table_folder``'s word-piece table
    (``word_table``), and the exporter's own ``fields``. Called by the exports, never by serving."""
    import onnx

    from .word_table import initializer_name

    model = where / "model.onnx"
    record = {
        "format": FORMAT,
        "folder": str(folder),
        "content": content_print(folder),
        "files": stat_print(folder),
        "onnx_bytes": model.stat().st_size,
        "word_table": initializer_name(onnx.load(str(model)), table_folder),
        **fields,
    }
    _write(where, record)
    return record


def _write(where: Path, record: dict[str, Any]) -> None:
    """export.json whole or not at all: written beside it, then moved over it."""
    written = where / f"export.json.{os.getpid()}.partial"
    try:
        written.write_text(json.dumps(record, indent=1), encoding="utf-8")
        os.replace(written, where / "export.json")
    finally:
        written.unlink(missing_ok=True)


def onnx_file(folder: Path, cache: Path, maker: str = "briefqa.embed.onnx_export") -> tuple[Path, dict[str, Any]]:
    """The checked ONNX file of ``folder`` and its record, made first if it is missing or stale
    (by ``python -m maker FOLDER WHERE``: the encoder's export, or the reader's); ``ModelError``
    saying why when it cannot be made."""
    where = cache_folder(cache, folder)
    record = valid_record(where, folder)
    if record is not None:
        return where / "model.onnx", record
    from filelock import FileLock

    try:
        where.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(where / "export.lock"))
        lock.acquire()
    except OSError as exc:
        raise ModelError(f"the ONNX cache {where} (BRIEFQA_ONNX_CACHE) cannot be written: {exc}") from None
    try:
        record = valid_record(where, folder)  # another process may have made it while this one waited
        if record is None:
            log.info("making the ONNX file of %s into %s (once; about a minute)", folder, where)
            made = subprocess.run(
                [sys.executable, "-m", maker, str(folder), str(where)],
                capture_output=True,
                text=True,
                check=False,
            )
            record = valid_record(where, folder)
            if made.returncode != 0 or record is None:
                said = (made.stderr.strip().splitlines() or ["no message"])[-1]
                raise ModelError(f"the ONNX export of {folder} failed: {said}")
    finally:
        lock.release()
    return where / "model.onnx", record
