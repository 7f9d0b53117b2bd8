"""Corpus -> documents: find the sources under a folder and parse each into a ``Document``."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import CorpusError, SourceError
from ..records import Document
from .html_pages import parse_html
from .library_noise import caught_library_noise
from .pdf_text import parse_pdf
from .plain_text import FRONT_MATTER_FIELDS, decode, parse_text
from .source_fields import ParsedSource, ParseProblem

__all__ = ["FRONT_MATTER_FIELDS", "PARSER_VERSION", "SUFFIXES", "Scan", "SourceFile", "discover", "parse", "scan"]
log = logging.getLogger(__name__)

# Bumped whenever parsing changes what a source's text becomes, so cached sources are re-parsed.
PARSER_VERSION = "3"  # 3: PDFs read as paragraphs; bylines kept; authors and date in one shape
SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file the corpus holds, before parsing."""

    path: Path
    relpath: str
    id: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class Scan:
    """What walking the corpus found: the sources, and the folders it could not read."""

    files: list[SourceFile]
    # {"path", "error"} of each folder that could not be listed; the rest of the corpus is indexed.
    errors: list[dict[str, str]]


def slugify(relpath: str) -> str:
    """A URL-safe slug of a path relative to the corpus folder, without its suffix."""
    from anyascii import anyascii

    stem = relpath.rsplit(".", 1)[0] if "." in Path(relpath).name else relpath
    # Transliterated, not stripped: "ünïcødé" is "unicode", "ø" is "o", "日本" is "riben".
    slug = re.sub(r"[^a-z0-9]+", "-", anyascii(stem).lower()).strip("-")
    # A name with nothing to transliterate ("🚀.md") still gets its own stable id.
    return slug or f"source-{hashlib.sha256(relpath.encode()).hexdigest()[:8]}"


def assign_ids(relpaths: list[str], known: Mapping[str, str] | None = None) -> dict[str, str]:
    """The id of each path: the one ``known`` (the last manifest) gave it, else a new unique one.

    A new path gets the slug of its path, or, when that is taken, the slug with its suffix (then
    a number): "briefs/japan.html" beside an indexed "briefs/japan.md" is "briefs-japan-html",
    and the markdown keeps "briefs-japan". Once given, an id stays with its path whatever
    arrives or leaves, so a link cited before keeps opening the same text.
    """
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for rel in relpaths:
        sid = (known or {}).get(rel)
        if sid and sid not in taken:
            ids[rel] = sid
            taken.add(sid)
    for rel in relpaths:
        if rel in ids:
            continue
        sid = base = slugify(rel)
        if sid in taken:
            suffix = Path(rel).suffix.lstrip(".").lower()
            sid = base = f"{base}-{suffix}" if suffix else base
            n = 2
            while sid in taken:
                sid, n = f"{base}-{n}", n + 1
        ids[rel] = sid
        taken.add(sid)
    return ids


def discover(corpus: Path, known: Mapping[str, str] | None = None) -> list[SourceFile]:
    """Every source under ``corpus`` (recursively), sorted by path; dot-names are skipped."""
    return scan(corpus, known).files


def scan(corpus: Path, known: Mapping[str, str] | None = None) -> Scan:
    """The sources under ``corpus`` with their ids (``known``: path -> id of the last build),
    and what was left out with a reason (folders that could not be read, links that lead out
    of the corpus). Raises ``CorpusError`` if ``corpus`` is no folder."""
    if not corpus.exists():
        raise CorpusError(f"corpus folder {corpus} does not exist")
    if not corpus.is_dir():
        raise CorpusError(f"corpus {corpus} is not a folder")
    paths, refused = _walk(corpus)
    relpaths = {path: path.relative_to(corpus).as_posix() for path in paths}
    ids = assign_ids(sorted(relpaths.values()), known)
    files: list[SourceFile] = []
    for path in sorted(paths, key=lambda p: relpaths[p]):
        try:
            content = path.read_bytes()
        except OSError as exc:  # unreadable: ``parse`` reports it, the other sources go on
            content = f"unreadable: {exc}".encode()
        digest = hashlib.sha256(PARSER_VERSION.encode() + b"\0" + content).hexdigest()
        rel = relpaths[path]
        files.append(SourceFile(path=path, relpath=rel, id=ids[rel], content_hash=digest))
    errors = [{"path": path.relative_to(corpus).as_posix() or ".", "error": reason} for path, reason in refused]
    return Scan(files, sorted(errors, key=lambda e: e["path"]))


LINK_OUTSIDE = "a symbolic link to a place outside the corpus folder (not read)"


def _walk(corpus: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Source files under ``corpus``, and what was left out with the reason.

    A symbolic link (to a file or a folder) that resolves outside the corpus folder is refused:
    the corpus is what the server may show, and a link must not widen it. A link that stays
    inside is read, but never twice: a linked folder is walked after every real one and only if
    its target was not walked already, and a linked file whose target is a source found at its
    own path is left out, so each text is indexed once, under its real path.

    An explicit stack, not recursion: a corpus may nest deeper than Python's recursion limit.
    """
    root = os.path.realpath(corpus)
    found: list[Path] = []
    linked_files: list[Path] = []
    refused: list[tuple[Path, str]] = []
    visited: set[tuple[int, int]] = set()
    stack = [corpus]
    linked_folders: list[Path] = []
    while stack or linked_folders:
        folder = stack.pop() if stack else linked_folders.pop()
        try:
            st = os.stat(folder)  # (device, inode) names a folder however it is reached
            if (st.st_dev, st.st_ino) in visited:  # a symlink loop, or a folder linked in twice
                continue
            visited.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            refused.append((folder, f"the folder cannot be read ({exc.strerror or type(exc).__name__})"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                link = entry.is_symlink()
                if link and not _inside(os.path.realpath(path), root):
                    refused.append((path, LINK_OUTSIDE))
                elif entry.is_dir():
                    (linked_folders if link else stack).append(path)
                elif entry.is_file() and path.suffix.lower() in SUFFIXES:
                    (linked_files if link else found).append(path)
            except OSError as exc:  # an entry that cannot be looked at: reported, the rest go on
                refused.append((path, f"the folder cannot be read ({exc.strerror or type(exc).__name__})"))
    real = {os.path.realpath(p) for p in found}
    found += [p for p in linked_files if os.path.realpath(p) not in real]
    return found, refused


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def parse(source: SourceFile) -> Document:
    """Parse one source file; raises ``SourceError`` naming the file and the reason.

    What the parsing libraries warn about while reading it is logged as one line naming the
    file (``library_noise``), not passed on message by message.
    """
    with caught_library_noise() as caught:
        doc = _parse(source)
    summary = caught.summary()
    if summary:
        log.warning("%s: %s", source.relpath, summary)
    return doc


def _parse(source: SourceFile) -> Document:
    suffix = source.path.suffix.lower()
    try:
        raw = source.path.read_bytes()
        if not raw:
            raise ParseProblem("the file is empty")
        if not raw.strip():
            raise ParseProblem("the file holds only white space")
        parsed: ParsedSource
        if suffix == ".pdf":
            parsed = parse_pdf(raw)
        elif suffix in (".html", ".htm"):
            parsed = parse_html(raw)
        else:
            decoded = decode(raw)
            if not decoded.strip():  # white space beyond ASCII's (no-break, ideographic spaces)
                raise ParseProblem("the file holds only white space")
            parsed = parse_text(decoded, markdown=suffix != ".txt")
    except SourceError:
        raise
    except ParseProblem as problem:
        raise SourceError(source.relpath, str(problem)) from None
    except Exception as exc:  # a parser library failing on hostile input must not stop the corpus
        raise SourceError(source.relpath, f"cannot be parsed ({type(exc).__name__}: {exc})") from exc
    if not parsed.text.strip():
        raise SourceError(source.relpath, "no text to index")
    return Document(
        id=source.id,
        path=source.relpath,
        title=parsed.title or _first_line(parsed.text) or source.path.stem,
        origin=parsed.origin,
        text=parsed.text,
        content_hash=source.content_hash,
        metadata=parsed.metadata,
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 200 else ""
    return ""
