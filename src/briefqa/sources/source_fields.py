"""What every format's parser hands back, and the one shape its byline metadata takes.

Every format fills ``metadata["authors"]`` (a list of names) and ``metadata["date"]`` (ISO
``YYYY-MM-DD``, or ``YYYY-MM`` / ``YYYY`` when that is all the source says) the same way, so a
citation reads them without knowing where a source came from.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ParsedSource:
    """One file read by its format's parser, before it becomes a ``Document``."""

    title: str
    origin: str | None
    text: str
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


class ParseProblem(Exception):
    """Why a file cannot be read; ``ingest.parse`` turns it into a ``SourceError`` naming the file."""


# "Priya Raman; Kenji Ito", "Priya Raman and Kenji Ito", "Priya Raman & Kenji Ito".
_NAME_BREAKS = re.compile(r"\s*(?:;|&|\band\b)\s*")


def authors_of(value: Any) -> list[str]:
    """Names as a list, from a list or from one line that joins several.

    A comma separates names only when every part is a name of several words ("Priya Raman,
    Kenji Ito"); "Raman, Priya" is one name written surname first.
    """
    if value is None:
        return []
    parts = [str(v) for v in value] if isinstance(value, (list, tuple)) else _NAME_BREAKS.split(str(value))
    names: list[str] = []
    for part in parts:
        pieces = [p.strip() for p in part.split(",")]
        split = len(pieces) > 1 and all(len(p.split()) > 1 for p in pieces)
        for name in pieces if split else [part]:
            name = " ".join(name.split())
            if name and name not in names:
                names.append(name)
    return names


_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2}))?")


def iso_date(value: Any) -> str | None:
    """A date as ISO text, as precise as the value is: ``2025-06-02``, ``2025-06`` or ``2025``.

    Accepts dates, ISO text, PDF dates (``D:20250602…``) and the ways people write them ("June
    2, 2025", "2 June 2025"). Text that holds no date is given back as it is (stripped), so
    nothing a source says is lost; nothing at all gives None.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = " ".join(str(value).split())
    if not text:
        return None
    pdf = re.fullmatch(r"D:(\d{4})(\d{2})?(\d{2})?.*", text)
    if pdf:
        return "-".join(p for p in pdf.groups() if p)
    partial = _PARTIAL.fullmatch(text)
    if partial:
        return "-".join(p for p in partial.groups() if p)
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        pass
    return _written_date(text) or text


def _written_date(text: str) -> str | None:
    from dateutil import parser

    # Parsed twice with different defaults: a field that changes with the default was not in
    # the text, so "June 2025" is "2025-06", never a made-up day.
    try:
        one = parser.parse(text, default=dt.datetime(2000, 1, 1))
        two = parser.parse(text, default=dt.datetime(2001, 2, 2))
    except (ValueError, OverflowError):
        return None
    if one.year != two.year:
        return None
    if one.month != two.month:
        return f"{one.year:04d}"
    if one.day != two.day:
        return f"{one.year:04d}-{one.month:02d}"
    return one.date().isoformat()


def byline_fields(authors: Any, date: Any) -> dict[str, Any]:
    """``{"authors": [...], "date": "..."}`` with only the fields the source has."""
    out: dict[str, Any] = {}
    names = authors_of(authors)
    if names:
        out["authors"] = names
    when = iso_date(date)
    if when:
        out["date"] = when
    return out
