"""How a quote's source is credited where a user takes the quote away: "Copy quote with citation"
and the Markdown transcript.

The form is the short note citation of Chicago style, as policy and news writing cite a web
source: the authors, the title in quotation marks, the date written out, then the link::

    — Priya Raman and Li Wei, “Chips for the alliance”, 2 June 2025, https://…/sources/…

Each part the source lacks is left out; without authors the title leads, unquoted
(``— Chips for the alliance, 2 June 2025, https://…``). Four or more authors are the first one
"et al.". A date the metadata holds as ISO ``YYYY-MM-DD`` (or ``YYYY-MM``) is written out in
English; any other date text is given as the source gives it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ].*)?")
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def names(authors: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``; four or more: ``A et al.``."""
    if len(authors) >= 4:
        return f"{authors[0]} et al."
    if len(authors) <= 2:
        return " and ".join(authors)
    return f"{', '.join(authors[:-1])} and {authors[-1]}"


def long_date(date: str) -> str:
    """``2025-06-02`` as ``2 June 2025``, ``2025-06`` as ``June 2025``; other text as it is."""
    day = _DAY.fullmatch(date)
    if day:
        try:
            when = dt.date(int(day[1]), int(day[2]), int(day[3]))
        except ValueError:
            return date
        return f"{when.day} {_MONTHS[when.month - 1]} {when.year}"
    month = _MONTH.fullmatch(date)
    if month and 1 <= int(month[2]) <= 12:
        return f"{_MONTHS[int(month[2]) - 1]} {month[1]}"
    return date


def credit(
    title: str,
    authors: Sequence[str],
    date: str | None,
    *,
    text: Callable[[str], str] = str,
    title_as: Callable[[str], str] = str,
) -> str:
    """The citation of a source without its link: ``Priya Raman, “Title”, 2 June 2025``.

    ``text`` writes each part (Markdown escapes it); ``title_as`` wraps the written title (Markdown
    makes it the link).
    """
    lead = [text(names(authors)), title_as(text(f"“{title}”"))] if authors else [title_as(text(title))]
    return ", ".join([*lead, *([text(long_date(date))] if date else [])])
