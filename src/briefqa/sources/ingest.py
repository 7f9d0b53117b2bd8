"""Corpus -> documents: find the sources under a folder and parse each into a ``Document``."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CorpusError, SourceError
from ..records import Document

# Bumped whenever parsing changes what a source's text becomes, so cached sources are re-parsed.
PARSER_VERSION = "2"
SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
FRONT_MATTER_FIELDS = ("title", "origin", "date", "authors")


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
    and the folders that could not be read. Raises ``CorpusError`` if ``corpus`` is no folder."""
    if not corpus.exists():
        raise CorpusError(f"corpus folder {corpus} does not exist")
    if not corpus.is_dir():
        raise CorpusError(f"corpus {corpus} is not a folder")
    paths, unreadable = _walk(corpus)
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
    errors = [
        {
            "path": folder.relative_to(corpus).as_posix() or ".",
            "error": f"the folder cannot be read ({exc.strerror or type(exc).__name__})",
        }
        for folder, exc in unreadable
    ]
    return Scan(files, sorted(errors, key=lambda e: e["path"]))


def _walk(corpus: Path) -> tuple[list[Path], list[tuple[Path, OSError]]]:
    """Source files under ``corpus`` and the folders that could not be listed.

    An explicit stack, not recursion: a corpus may nest deeper than Python's recursion limit.
    """
    found: list[Path] = []
    unreadable: list[tuple[Path, OSError]] = []
    visited: set[tuple[int, int]] = set()
    stack = [corpus]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)  # (device, inode) names a folder however it is reached
            if (st.st_dev, st.st_ino) in visited:  # a symlink loop, or a folder linked in twice
                continue
            visited.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            unreadable.append((folder, exc))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    stack.append(Path(entry.path))
                elif entry.is_file() and Path(entry.name).suffix.lower() in SUFFIXES:
                    found.append(Path(entry.path))
            except OSError as exc:  # a dangling or unreadable entry: skip it, say nothing more
                unreadable.append((Path(entry.path), exc))
    return found, unreadable


def parse(source: SourceFile) -> Document:
    """Parse one source file; raises ``SourceError`` naming the file and the reason."""
    suffix = source.path.suffix.lower()
    try:
        raw = source.path.read_bytes()
        if not raw:
            raise _ParseProblem("the file is empty")
        if not raw.strip():
            raise _ParseProblem("the file holds only white space")
        if suffix == ".pdf":
            title, origin, text, meta = _parse_pdf(raw)
        elif suffix in (".html", ".htm"):
            title, origin, text, meta = _parse_html(raw)
        else:
            decoded = _decode(raw)
            if not decoded.strip():  # white space beyond ASCII's (no-break, ideographic spaces)
                raise _ParseProblem("the file holds only white space")
            title, origin, text, meta = _parse_text(decoded, markdown=suffix != ".txt")
    except SourceError:
        raise
    except _ParseProblem as problem:
        raise SourceError(source.relpath, str(problem)) from None
    except Exception as exc:  # a parser library failing on hostile input must not stop the corpus
        raise SourceError(source.relpath, f"cannot be parsed ({type(exc).__name__}: {exc})") from exc
    if not text.strip():
        raise SourceError(source.relpath, "no text to index")
    if not title:
        title = _first_line(text) or source.path.stem
    return Document(
        id=source.id,
        path=source.relpath,
        title=title,
        origin=origin,
        text=text,
        content_hash=source.content_hash,
        metadata=meta,
    )


class _ParseProblem(Exception):
    pass


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _ParseProblem(f"not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise _ParseProblem("binary content (NUL bytes) in a text file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.S)


def _parse_text(text: str, *, markdown: bool) -> tuple[str, str | None, str, dict[str, Any]]:
    meta: dict[str, Any] = {}
    match = _FRONT.match(text)
    if match:
        import yaml

        try:
            loaded = yaml.safe_load(match.group(1) or "") or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problem = getattr(exc, "problem", None) or exc.__class__.__name__
            where = f"line {mark.line + 2}: " if mark is not None else ""  # +2: 1-based, after "---"
            raise _ParseProblem(f"front matter is not valid YAML ({where}{problem})") from None
        if not isinstance(loaded, dict):
            raise _ParseProblem("front matter must be a mapping of fields")
        meta = {k: _plain(v) for k, v in loaded.items() if isinstance(k, str)}
        _check_fields(meta)
        text = text[match.end() :]
    title = str(meta.pop("title", "") or "").strip()
    origin = str(meta.pop("origin", "") or "").strip() or None
    if not title and markdown:
        heading = re.search(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", text, re.M)
        title = heading.group(1).strip() if heading else ""
    return title, origin, text, meta


# What each front-matter field may hold (after dates became ISO strings). Anything else is a
# mistake worth naming: "title: [a, b]" would otherwise become the title "['a', 'b']".
_FIELD_TYPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "title": ("text", lambda v: isinstance(v, str)),
    "origin": ("text (the URL of the original)", lambda v: isinstance(v, str)),
    "date": ("a date or text", lambda v: isinstance(v, str)),
    "authors": (
        "text or a list of names",
        lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(a, str) for a in v)),
    ),
}


def _check_fields(meta: dict[str, Any]) -> None:
    for name, (wanted, ok) in _FIELD_TYPES.items():
        value = meta.get(name)
        if value is not None and not ok(value):
            raise _ParseProblem(f"front matter field '{name}' must be {wanted}, not {_kind(value)}")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _plain(value: Any) -> Any:
    """Front-matter values as JSON-ready data (YAML dates become ISO strings)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _parse_html(raw: bytes) -> tuple[str, str | None, str, dict[str, Any]]:
    import trafilatura
    from trafilatura.utils import decode_file

    # UTF-8 first; a page saved in another encoding is decoded by its declared/guessed charset.
    html = decode_file(raw)
    if "\x00" in html:
        raise _ParseProblem("binary content (NUL bytes) in an HTML file")
    # Menus and footers are never the main text; without them a page of links has none.
    text = trafilatura.extract(
        html,
        output_format="txt",
        include_comments=False,
        include_tables=True,
        prune_xpath=["//nav", "//footer"],
    )
    if not text or not text.strip():
        raise _ParseProblem("no main text found in the HTML")
    # Not extensive: a date guessed from a copyright line is not the page's date.
    meta_doc = trafilatura.extract_metadata(html, extensive=False)
    title = (meta_doc.title or "").strip() if meta_doc else ""
    origin = (meta_doc.url or None) if meta_doc else None
    meta: dict[str, Any] = {}
    if meta_doc and meta_doc.date:
        meta["date"] = meta_doc.date
    if meta_doc and meta_doc.author:
        meta["authors"] = meta_doc.author
    return title, origin, text.replace("\r\n", "\n").replace("\r", "\n"), meta


def _parse_pdf(raw: bytes) -> tuple[str, str | None, str, dict[str, Any]]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise _ParseProblem("the PDF is encrypted")
        pages = [
            (page.extract_text() or "").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
            for page in reader.pages
        ]
    except PdfReadError as exc:
        raise _ParseProblem(f"not a readable PDF ({exc})") from None
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise _ParseProblem("the PDF has no text layer")
    info = reader.metadata
    title = str(info.title).strip() if info and info.title else ""
    meta: dict[str, Any] = {"pages": len(reader.pages)}
    if info and info.author:
        meta["authors"] = str(info.author)
    return title, None, text, meta


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 200 else ""
    return ""
