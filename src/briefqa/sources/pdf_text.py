"""PDF files read as documents: the text layer's lines joined into paragraphs.

A PDF's text layer is laid out, not written: its line ends are where the page ran out of width,
its hyphens at line ends are where a word was split to fit, and every page repeats its header
and footer. Reading it as a document undoes that layout. Lines come from pypdf with where each
sits on the page (baseline and font size), so a paragraph ends where the layout shows it: a
larger gap than the page's line spacing, a change of font size, a short line that ends a
sentence, or a short line that reads as a heading.
"""

from __future__ import annotations

import io
import itertools
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .source_fields import ParsedSource, ParseProblem, byline_fields

# A header or footer is among the first or last lines of a page...
RUNNING_LINES = 2
# ...and recurs on at least this share of the pages (and on two at least): an even and an odd
# page header each recur on half of them.
RUNNING_SHARE = 0.4
# A gap this much wider than the page's usual line spacing ends a paragraph.
PARAGRAPH_GAP = 1.3
# A line shorter than this share of the document's long lines, ending a sentence, ends its
# paragraph (a paragraph's last line rarely runs the full width).
SHORT_LINE = 0.8
# A line shorter than this share without closing punctuation, before a capital, is a heading.
HEADING_LINE = 0.6
HEADING_SIZE = 1.15  # a title's font is at least this much larger than the body's

_SENTENCE_END = '.!?:;"”’)…'
_ITEM = re.compile(r"(?:[•●▪◦‣∙·*–-]|\d{1,3}[.)])\s")
_WORD = re.compile(r"[^\W\d_]+")
_HYPHENATED = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")
_SPLIT_END = re.compile(r"([^\W\d_]+)-$")
_SPLIT_START = re.compile(r"[^\W\d_]+")
_FILE_NAME = re.compile(r"(?:^|\s)[^\s/\\]+\.[A-Za-z][A-Za-z0-9]{1,4}$")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a page's text layer, where it sits (baseline ``y``, upwards) and its font size."""

    text: str
    y: float
    size: float
    page: int


def parse_pdf(raw: bytes) -> ParsedSource:
    """A PDF's text as paragraphs, without running headers and footers; title, authors and date."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise ParseProblem("the PDF is encrypted")
        pages = [lines_of(page, n) for n, page in enumerate(reader.pages)]
        info = reader.metadata
    except PdfReadError as exc:
        raise ParseProblem(f"not a readable PDF ({exc})") from None
    lines = [line for page in without_running_lines(pages) for line in page]
    paragraphs = paragraphs_of(lines)
    text = "\n\n".join(p.text for p in paragraphs)
    if not text.strip():
        raise ParseProblem("the PDF has no text layer")
    fields = {k: _info(info, k) for k in ("/Title", "/Author", "/CreationDate", "/Creator", "/Producer")}
    title = fields["/Title"]
    if not title or names_a_tool(title, fields["/Creator"], fields["/Producer"]):
        title = heading_of(paragraphs) or (lines[0].text if len(lines[0].text) <= 200 else "")
    meta: dict[str, Any] = {"pages": len(pages), **byline_fields(fields["/Author"] or None, fields["/CreationDate"])}
    return ParsedSource(title, None, text, meta)


def _info(info: Any, key: str) -> str:
    value = info.get(key) if info else None
    return " ".join(str(value).split()) if value else ""


def lines_of(page: Any, number: int) -> list[Line]:
    """The page's lines in the text layer's order, each with its baseline and font size."""
    pieces: list[tuple[str, float, float]] = []

    def visit(text: str, cm: Sequence[float], tm: Sequence[float], _font: Any, size: float) -> None:
        if text:
            m = _times(tm, cm)
            pieces.append((text, m[5], abs(size) * (m[2] ** 2 + m[3] ** 2) ** 0.5))

    page.extract_text(visitor_text=visit)
    out: list[Line] = []
    text, y, size = "", 0.0, 0.0
    for piece, py, psize in pieces:
        for n, part in enumerate(piece.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
            if n:  # a line ended inside this piece
                _add(out, text, y, size, number)
                text, y, size = "", 0.0, 0.0
            if part.strip() and not text.strip():
                y = py
            if part.strip():
                size = max(size, psize)
            text += part
    _add(out, text, y, size, number)
    return out


def _add(out: list[Line], text: str, y: float, size: float, page: int) -> None:
    text = " ".join(text.replace("\x00", "").split())
    if text:
        out.append(Line(text, y, size, page))


def _times(m: Sequence[float], n: Sequence[float]) -> tuple[float, ...]:
    """The product of two PDF matrices ``[a b c d e f]`` (text matrix, then the page's)."""
    a, b, c, d, e, f = m
    na, nb, nc, nd, ne, nf = n
    return (
        a * na + b * nc,
        a * nb + b * nd,
        c * na + d * nc,
        c * nb + d * nd,
        e * na + f * nc + ne,
        e * nb + f * nd + nf,
    )


def without_running_lines(pages: list[list[Line]]) -> list[list[Line]]:
    """Pages without the lines that recur at their top or bottom (headers, footers, page numbers).

    Lines are compared with their numbers masked ("Page 3 of 9" recurs as "Page # of #"); only
    a page's highest and lowest lines are candidates, so body text that recurs stays.
    """
    edges = [_edges(page) for page in pages]
    seen = Counter(key for page in edges for key in {_running_key(line) for line in page})
    needed = max(2, RUNNING_SHARE * len(pages))
    running = {key for key, n in seen.items() if n >= needed}
    return [
        [line for line in page if not (line in edge and _running_key(line) in running)]
        for page, edge in zip(pages, edges, strict=True)
    ]


def _edges(page: list[Line]) -> list[Line]:
    """A page's lines that stand apart at its top or bottom: up to ``RUNNING_LINES`` from either
    edge, down (or up) to a gap wider than the page's line spacing or a change of font size.
    A page whose first lines run straight into the body has no header to look for."""
    by_height = sorted(page, key=lambda line: -line.y)
    gaps = [a.y - b.y for a, b in itertools.pairwise(by_height) if a.y > b.y]
    if not gaps:
        return []
    spacing = statistics.median(gaps)
    out: list[Line] = []
    for lines in (by_height, by_height[::-1]):
        for n, (line, inner) in enumerate(itertools.pairwise(lines)):
            apart = abs(line.y - inner.y) > PARAGRAPH_GAP * spacing + 0.5
            if apart or abs(line.size - inner.size) > 0.1 * max(line.size, inner.size):
                out += lines[: n + 1]
                break
    return out


def _running_key(line: Line) -> str:
    return re.sub(r"\d+", "#", line.text).casefold()


@dataclass(frozen=True, slots=True)
class Paragraph:
    """Lines joined into one paragraph (or heading), with the font size of its first line."""

    text: str
    size: float
    page: int


def paragraphs_of(lines: list[Line]) -> list[Paragraph]:
    """The lines joined into paragraphs: line ends become spaces, split words are made whole."""
    if not lines:
        return []
    long_line = _percentile([len(line.text) for line in lines], 0.9)
    spacing = _spacing(lines)
    words, hyphenated = _vocabulary(lines)
    out: list[Paragraph] = []
    current = lines[0].text
    first = lines[0]
    for before, line in itertools.pairwise(lines):
        if _breaks(before, line, long_line, spacing):
            out.append(Paragraph(current, first.size, first.page))
            current, first = line.text, line
        else:
            current = joined(current, line.text, words, hyphenated)
    out.append(Paragraph(current, first.size, first.page))
    return out


def _percentile(values: list[int], share: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(share * len(ordered)))])


def _spacing(lines: list[Line]) -> float | None:
    """The document's usual distance from one baseline to the next (a page of a few lines
    alone says too little of it)."""
    gaps = [
        before.y - line.y
        for before, line in itertools.pairwise(lines)
        if before.page == line.page and 0 < before.y - line.y < 3 * max(before.size, line.size, 1.0)
    ]
    return statistics.median(gaps) if gaps else None


def _breaks(before: Line, line: Line, long_line: float, spacing: float | None) -> bool:
    """Whether ``line`` starts a new paragraph after ``before``."""
    ended = before.text[-1] in _SENTENCE_END
    if before.page != line.page:  # a paragraph runs on over a page break mid-sentence
        return ended or not line.text[0].islower()
    if _ITEM.match(line.text):
        return True
    if line.y > before.y + 0.5 * max(before.size, 1.0):  # back up the page: another column or box
        return True
    if abs(before.size - line.size) > 0.1 * max(before.size, line.size):
        return True
    if spacing is not None and before.y - line.y > PARAGRAPH_GAP * spacing + 0.5:
        return True
    short = len(before.text) < SHORT_LINE * long_line
    if ended and short:
        return True
    heading_like = not ended and not before.text.endswith((",", "-")) and len(before.text) < HEADING_LINE * long_line
    return heading_like and (line.text[0].isupper() or line.text[0].isdigit())


def _vocabulary(lines: list[Line]) -> tuple[set[str], set[str]]:
    """The document's own words, and its hyphenated compounds, both in lower case."""
    words: set[str] = set()
    hyphenated: set[str] = set()
    for line in lines:
        lowered = line.text.lower()
        words.update(_WORD.findall(lowered))
        hyphenated.update(_HYPHENATED.findall(lowered))
    return words, hyphenated


def joined(before: str, after: str, words: set[str], hyphenated: set[str]) -> str:
    """Two lines of one paragraph as one: a space between, or a word split by a hyphen made whole.

    A hyphen at a line end is dropped when the word is whole without it: the joined word occurs
    elsewhere in the document, or (unless the hyphenated form does) it is in the English word list that
    pyspellchecker ships. Otherwise it is a compound's own hyphen ("long-term", "U.S.-Japan")
    and stays, without the space.
    """
    if not before.endswith("-") or before.endswith(" -") or not after[0].isalnum():
        return f"{before} {after}"
    split = _SPLIT_END.search(before)
    rest = _SPLIT_START.match(after)
    if split is None or rest is None or not after[0].islower():
        return before + after
    whole = (split.group(1) + rest.group(0)).lower()
    compound = f"{split.group(1)}-{rest.group(0)}".lower()
    if whole not in words and (compound in hyphenated or whole not in english_words()):
        return before + after
    return before[:-1] + after


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """pyspellchecker's English word list (160,000 words; loaded once, on the first split word)."""
    from spellchecker import SpellChecker

    return frozenset(SpellChecker(language="en", distance=1).word_frequency.keys())


def names_a_tool(title: str, creator: str, producer: str) -> bool:
    """Whether a PDF's title metadata is its producing tool's, not the document's.

    Tools write their own name ("Enscript Output" by GNU Enscript) or the file's ("Microsoft
    Word - brief.docx") where the author gave no title: the title equals the Creator or Producer,
    opens with a word of theirs, or ends in a file name.
    """
    folded = title.casefold()
    tools = [t.casefold() for t in (creator, producer) if t]
    if folded in tools or _FILE_NAME.search(title):
        return True
    first = _WORD.search(folded)
    tool_words = {w for t in tools for w in _WORD.findall(t) if len(w) > 2}
    return first is not None and first.group(0) in tool_words


def heading_of(paragraphs: list[Paragraph]) -> str:
    """The first page's title: its paragraph in the largest font, where that stands out from
    the body text; empty otherwise (the caller takes the first line)."""
    first_page = [p for p in paragraphs if p.page == paragraphs[0].page] if paragraphs else []
    if not first_page:
        return ""
    body = statistics.median(p.size for p in paragraphs for _ in range(max(1, len(p.text) // 40)))
    top = max(first_page, key=lambda p: p.size)
    if top.size >= HEADING_SIZE * body and len(top.text) <= 200:
        return top.text
    return ""
