"""Checksums of every file of an index version: recorded when it is sealed, verified before it is served.

Lucene ends each segment file with a CRC footer; here one ``checksums.json`` beside the files
holds the size and BLAKE2b digest of each. It is taken by walking the folder when the version is
sealed, so a writer adding a file to the format gets it covered without telling anyone. A file
truncated, scrambled, shuffled, replaced or deleted after sealing no longer matches.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

CHECKSUMS = "checksums.json"
ALGORITHM = "blake2b-128"


def _digest(path: Path) -> str:
    # BLAKE2b streams at several hundred MB/s on one core: a 64 MB version verifies in ~0.1 s.
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUMS)


def record(folder: Path) -> dict[str, dict[str, object]]:
    """Write ``checksums.json`` for every file now in ``folder`` (recursively); returns its entries."""
    entries: dict[str, dict[str, object]] = {
        p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "digest": _digest(p)} for p in _files(folder)
    }
    tmp = folder / f".{CHECKSUMS}.tmp"
    tmp.write_text(json.dumps({"algorithm": ALGORITHM, "files": entries}, indent=1))
    os.replace(tmp, folder / CHECKSUMS)
    return entries


def recorded(folder: Path) -> dict[str, dict[str, object]]:
    """The entries of ``checksums.json``; ``ValueError`` saying why when it is missing or unreadable."""
    try:
        data = json.loads((folder / CHECKSUMS).read_bytes())
    except FileNotFoundError:
        raise ValueError(f"{CHECKSUMS} is missing") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{CHECKSUMS} is unreadable ({type(exc).__name__})") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or data.get("algorithm") != ALGORITHM:
        raise ValueError(f"{CHECKSUMS} is not in the expected form")
    return files


def problems(folder: Path) -> list[str]:
    """What is wrong with the files of ``folder`` against its checksums; empty when intact.

    Sizes are compared first (cheap, and a truncation says so plainly), then digests.
    """
    try:
        files = recorded(folder)
    except ValueError as exc:
        return [str(exc)]
    found: list[str] = []
    for name, entry in files.items():
        path = folder / name
        try:
            size = path.stat().st_size
            if size != entry.get("size"):
                found.append(f"{name} has {size} bytes, {entry.get('size')} were written")
            elif _digest(path) != entry.get("digest"):
                found.append(f"{name} was altered (checksum mismatch)")
        except FileNotFoundError:
            found.append(f"{name} is missing")
        except OSError as exc:
            found.append(f"{name} cannot be read ({exc.strerror or type(exc).__name__})")
    return found
