"""Markdown and plain text: the text as it is, after its optional YAML front matter."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from .source_fields import ParsedSource, ParseProblem, byline_fields

FRONT_MATTER_FIELDS = ("title", "origin", "date", "authors")


def decode(raw: bytes) -> str:
    """UTF-8 text (a BOM dropped) with ``\\n`` line ends; ``ParseProblem`` for anything else."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseProblem(f"not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise ParseProblem("binary content (NUL bytes) in a text file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.S)


def parse_text(text: str, *, markdown: bool) -> ParsedSource:
    """A text file's title, origin, text and metadata (``authors`` and ``date`` normalised)."""
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
            raise ParseProblem(f"front matter is not valid YAML ({where}{problem})") from None
        if not isinstance(loaded, dict):
            raise ParseProblem("front matter must be a mapping of fields")
        meta = {k: _plain(v) for k, v in loaded.items() if isinstance(k, str)}
        _check_fields(meta)
        text = text[match.end() :]
    title = str(meta.pop("title", "") or "").strip()
    origin = str(meta.pop("origin", "") or "").strip() or None
    meta.update(byline_fields(meta.pop("authors", None), meta.pop("date", None)))
    if not title and markdown:
        heading = re.search(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", text, re.M)
        title = heading.group(1).strip() if heading else ""
    return ParsedSource(title, origin, text, meta)


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
            raise ParseProblem(f"front matter field '{name}' must be {wanted}, not {_kind(value)}")


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
