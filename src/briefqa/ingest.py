"""Corpus -> documents: find the sources under a folder and parse each into a ``Document``."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CorpusError, SourceError
from .records import Document

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


def slugify(relpath: str) -> str:
    """A stable, URL-safe id for a path relative to the corpus folder."""
    stem = relpath.rsplit(".", 1)[0] if "." in Path(relpath).name else relpath
    folded = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    # A name with no Latin letters or digits ("日本.md") still gets its own stable id.
    return slug or f"source-{hashlib.sha256(relpath.encode()).hexdigest()[:8]}"


def discover(corpus: Path) -> list[SourceFile]:
    """Every source under ``corpus`` (recursively), sorted by path; dot-names are skipped."""
    if not corpus.exists():
        raise CorpusError(f"corpus folder {corpus} does not exist")
    if not corpus.is_dir():
        raise CorpusError(f"corpus {corpus} is not a folder")
    files: list[SourceFile] = []
    seen: set[str] = set()
    for path in sorted(_walk(corpus, set())):
        relpath = path.relative_to(corpus).as_posix()
        sid = slugify(relpath)
        if sid in seen:
            # Same name with another suffix: keep both, the later one (in path order) marked by it.
            base = sid = f"{sid}-{path.suffix.lstrip('.').lower()}"
            n = 2
            while sid in seen:
                sid, n = f"{base}-{n}", n + 1
        seen.add(sid)
        try:
            content = path.read_bytes()
        except OSError as exc:  # unreadable: ``parse`` reports it, the other sources go on
            content = f"unreadable: {exc}".encode()
        digest = hashlib.sha256(PARSER_VERSION.encode() + b"\0" + content).hexdigest()
        files.append(SourceFile(path=path, relpath=relpath, id=sid, content_hash=digest))
    return files


def _walk(folder: Path, visited: set[Path]) -> Iterator[Path]:
    real = folder.resolve()
    if real in visited:  # a symlink loop, or a folder linked in twice
        return
    visited.add(real)
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, visited)
        elif entry.is_file() and entry.suffix.lower() in SUFFIXES:
            yield entry


def parse(source: SourceFile) -> Document:
    """Parse one source file; raises ``SourceError`` naming the file and the reason."""
    suffix = source.path.suffix.lower()
    try:
        raw = source.path.read_bytes()
        if not raw.strip():
            raise _ParseProblem("the file is empty")
        if suffix == ".pdf":
            title, origin, text, meta = _parse_pdf(raw)
        elif suffix in (".html", ".htm"):
            title, origin, text, meta = _parse_html(raw)
        else:
            title, origin, text, meta = _parse_text(_decode(raw), markdown=suffix != ".txt")
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
        text = text[match.end() :]
    title = str(meta.pop("title", "") or "").strip()
    origin = str(meta.pop("origin", "") or "").strip() or None
    if not title and markdown:
        heading = re.search(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", text, re.M)
        title = heading.group(1).strip() if heading else ""
    return title, origin, text, meta


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
