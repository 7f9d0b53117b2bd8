"""The versioned index folder: ``CURRENT``, listing versions, sealing a written one.

Names of versions sort by age (UTC timestamps). Readers never see a version before ``CURRENT``
names it, and ``CURRENT`` only ever names a sealed one: complete, flushed, its checksums recorded.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from ..interface import version_name
from . import integrity


def current_version(root: Path) -> str | None:
    """Name of the live version, or None when nothing was ever built."""
    try:
        name = (root / "CURRENT").read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError):
        # A CURRENT that cannot be read names nothing; a build writes a new one.
        return None
    return name if name and (root / "versions" / name).is_dir() else None


def published_stamp(root: Path) -> tuple[int, int, int] | None:
    """Inode, size and modification time of ``CURRENT``: one ``stat``, changed by every publish
    (a publish renames a new file over it), so a server can look before each request."""
    try:
        st = (root / "CURRENT").stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def sealed_versions(root: Path) -> list[str]:
    """Every sealed version's name, newest first (damaged ones included)."""
    versions = root / "versions"
    if not versions.is_dir():
        return []
    return sorted((p.name for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)


def new_version_dir(root: Path) -> Path:
    """A fresh folder for a version being built; invisible to readers until it is published."""
    path = root / "versions" / f".building-{version_name()}"
    path.mkdir(parents=True)
    return path


def seal(building: Path) -> str:
    """Record the checksum of every file written, flush, and give the version its final name.

    The version is not live yet. Whatever files its writers put in the folder are covered: the
    checksums are taken by walking it, so a file added to the format needs no change here.
    """
    name = building.name.removeprefix(".building-")
    integrity.record(building)
    _fsync_tree(building)
    os.replace(building, building.with_name(name))
    _fsync_dir(building.parent)
    return name


def point_current(root: Path, name: str) -> None:
    """Make version ``name`` the live one: readers see the old name or the new, never a mix."""
    tmp = root / f".CURRENT.{uuid.uuid4().hex}"
    with open(tmp, "w") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / "CURRENT")
    _fsync_dir(root)


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
