"""A source cut into the blocks its page shows, with the ``?hl=START-END`` range marked."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..answers.revisions import REVISION, REVISION_CHARS
from ..errors import InputError
from ..records import BlockKind, Document
from ..sources.segment import blocks_of

# ASCII digits only: ``int`` also reads other scripts' digits.
_HL = re.compile(r"([0-9]+)-([0-9]+)")
# Longer numbers lie past any text; never handing them to ``int`` keeps clear of its
# 4300-digit limit (a ValueError there would be a 500).
_MAX_DIGITS = 12
_MD_HEADING = re.compile(r"#{1,6}[ \t]+")
# A list item's bullet (as segment.blocks_of reads one): markup the page draws as a list instead.
# A number ("1.") is kept: it is part of what the item says.
_BULLET = re.compile(r"[-*+•–][ \t]+")


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of a block's text; ``marked`` runs fall inside the highlight."""

    text: str
    marked: bool = False
    first: bool = False  # the first marked run carries id="q", which the link's #q scrolls to


@dataclass(frozen=True, slots=True)
class ShownBlock:
    kind: BlockKind
    anchor: str
    pieces: tuple[Piece, ...]
    bullet: bool = False  # a list item whose bullet the page draws


def parse_hl(raw: str, length: int) -> tuple[int, int]:
    """``START-END`` as offsets into a text of ``length`` characters; ``InputError`` says what is wrong."""
    match = _HL.fullmatch(raw)
    if match is None:
        raise InputError(f"hl must be START-END, two whole numbers (e.g. 120-245), not {raw[:40]!r}")
    if max(len(match[1]), len(match[2])) > _MAX_DIGITS:
        raise InputError(f"hl runs past the end of the source ({length} characters)")
    start, end = int(match[1]), int(match[2])
    if start >= end:
        raise InputError(f"hl start ({start}) must be less than its end ({end})")
    if end > length:
        raise InputError(f"hl {start}-{end} runs past the end of the source ({length} characters)")
    return start, end


@dataclass(frozen=True, slots=True)
class Citation:
    """What a link's ``hl`` and ``rev`` mark in the served text of its source.

    ``changed``: the link was made from another text of the source; ``known``: that text is kept
    here, so the quote could be looked for. ``span`` is None when nothing is to be marked.
    """

    span: tuple[int, int] | None
    changed: bool = False
    known: bool = True


# How many places a quote that reads the same at several of them is weighed at: the nearest to
# where it stood wins; a source that repeats a sentence more often is not worth reading whole.
_MAX_PLACES = 1000


def cited_span(
    hl: str | None,
    rev: str | None,
    text: str,
    served: str,
    old_text: Callable[[str], str | None],
    whole_sentences: Callable[[int, int], bool],
) -> Citation:
    """The span to mark for a link: ``hl`` as it is when ``rev`` names the served text (``served``)
    or is missing (a link made before links carried it); else the same quote found in ``text`` by
    its words, from the old text (``old_text``), where it still stands as whole sentences, or none.
    """
    if rev is not None and REVISION.fullmatch(rev) is None:
        raise InputError(f"rev must be {REVISION_CHARS} hex digits, as a citation link carries it, not {rev[:40]!r}")
    if rev is None or rev == served:
        return Citation(parse_hl(hl, len(text)) if hl is not None else None)
    before = old_text(rev)
    if before is None:
        return Citation(None, changed=True, known=False)
    if hl is None:
        return Citation(None, changed=True)
    start, end = parse_hl(hl, len(before))
    quote = before[start:end]
    places: list[int] = []
    at = text.find(quote)
    while at >= 0 and len(places) < _MAX_PLACES:
        if whole_sentences(at, at + len(quote)):
            places.append(at)
        at = text.find(quote, at + 1)
    if not places:
        return Citation(None, changed=True)
    nearest = min(places, key=lambda p: abs(p - start))
    return Citation((nearest, nearest + len(quote)), changed=True)


def shown_blocks(doc: Document, hl: tuple[int, int] | None) -> list[ShownBlock]:
    """The headings, paragraphs and list items of ``doc``; ``text[hl]`` wrapped wherever it falls.

    A highlight that spans blocks is marked in each block it touches (the text between blocks,
    blank lines and rules, is not shown). A leading heading that only repeats the page title (as
    the ``# Title`` under a markdown file's front matter does) is left out unless the highlight
    touches it. A markdown ``#`` and a list item's bullet are markup, drawn as a heading and a list.
    """
    text = doc.text
    out: list[ShownBlock] = []
    marked_yet = False
    for i, block in enumerate(blocks_of(text)):
        start, end = block.start, block.end
        touched = hl is not None and hl[0] < end and start < hl[1]
        markup = {"heading": _MD_HEADING, "item": _BULLET}.get(block.kind)
        prefix = markup.match(text, start) if markup else None
        words_start = prefix.end() if prefix else start
        if i == 0 and block.kind == "heading" and not touched and text[words_start:end].strip() == doc.title.strip():
            continue
        # Keep the markup only when the highlight starts inside it.
        if prefix and (hl is None or hl[0] >= prefix.end() or hl[1] <= start):
            start = prefix.end()
        pieces = _cut(text, start, end, hl, first=not marked_yet)
        marked_yet = marked_yet or any(p.marked for p in pieces)
        bullet = block.kind == "item" and start != block.start
        out.append(ShownBlock(kind=block.kind, anchor=f"at-{block.start}", pieces=pieces, bullet=bullet))
    return out


def _cut(text: str, start: int, end: int, hl: tuple[int, int] | None, *, first: bool) -> tuple[Piece, ...]:
    if hl is None or hl[1] <= start or end <= hl[0]:
        return (Piece(text[start:end]),)
    lo, hi = max(start, hl[0]), min(end, hl[1])
    pieces = [Piece(text[start:lo]), Piece(text[lo:hi], marked=True, first=first), Piece(text[hi:end])]
    return tuple(p for p in pieces if p.text)


def safe_origin(origin: str | None) -> str | None:
    """``origin`` when it is a web address a link may point to (never ``javascript:`` and the like)."""
    if not origin:
        return None
    parts = urlsplit(origin.strip())
    return origin.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def byline(metadata: dict[str, Any]) -> tuple[str | None, str | None]:
    """The date and authors a source's metadata holds, as display text (either may be missing)."""
    date = metadata.get("date")
    authors = metadata.get("authors")
    if isinstance(authors, (list, tuple)):
        authors = ", ".join(str(a) for a in authors if a)
    return (str(date) if date else None), (str(authors) if authors else None)
