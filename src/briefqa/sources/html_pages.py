"""HTML pages: the main text (trafilatura), the title, and the byline kept as text and metadata."""

from __future__ import annotations

from typing import Any

from .source_fields import ParsedSource, ParseProblem, byline_fields

# A byline is a short line of its own; a longer run of text that names the author is prose.
BYLINE_MAX_CHARS = 160
# Elements that a byline's words sit inside without being a line of their own.
_INLINE = frozenset(("a", "abbr", "b", "bdi", "cite", "em", "i", "small", "span", "strong", "time", "u"))


def parse_html(raw: bytes) -> ParsedSource:
    """A page's main text without its menus and footers; its title, origin and byline."""
    import trafilatura
    from trafilatura.utils import decode_file

    # UTF-8 first; a page saved in another encoding is decoded by its declared/guessed charset.
    html = decode_file(raw)
    if "\x00" in html:
        raise ParseProblem("binary content (NUL bytes) in an HTML file")
    # Menus and footers are never the main text; without them a page of links has none.
    text = trafilatura.extract(
        html,
        output_format="txt",
        include_comments=False,
        include_tables=True,
        prune_xpath=["//nav", "//footer"],
    )
    if not text or not text.strip():
        raise ParseProblem("no main text found in the HTML")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Not extensive: a date guessed from a copyright line is not the page's date.
    found = trafilatura.extract_metadata(html, extensive=False)
    title = (found.title or "").strip() if found else ""
    origin = (found.url or None) if found else None
    meta: dict[str, Any] = byline_fields(found.author, found.date) if found else {}
    byline = byline_text(html, meta.get("authors", []))
    if byline and " ".join(byline.split()) not in " ".join(text.split()):
        text = _with_byline(text, byline, title)
    return ParsedSource(title, origin, text, meta)


def byline_text(html: str, authors: list[str]) -> str | None:
    """The line of the page that names its author ("By Priya Raman · June 2, 2025"), if any.

    Found by the names the page's metadata gives, not by a class name: the smallest element of
    its own line (a paragraph, a div, an address; not a link or a span inside one) whose text
    holds the first author's name, outside menus and footers, short enough to be a byline.
    """
    if not authors:
        return None
    import lxml.html

    try:
        root = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return None
    body = root.find("body")
    if body is None:
        return None
    name = authors[0]
    for element in body.iter():
        if not isinstance(element.tag, str) or element.tag in _INLINE:
            continue
        if element.tag in ("script", "style", "title", "nav", "footer", "head"):
            continue
        if any(a.tag in ("nav", "footer") for a in element.iterancestors()):
            continue
        line = " ".join(element.text_content().split())
        if name not in line or len(line) > BYLINE_MAX_CHARS:
            continue
        # The innermost such line: no child of its own line also holds the name.
        if any(
            isinstance(child.tag, str) and child.tag not in _INLINE and name in child.text_content()
            for child in element.iterdescendants()
        ):
            continue
        return line
    return None


def _with_byline(text: str, byline: str, title: str) -> str:
    """``text`` with the byline as a line of its own: after the title where the text opens with
    it (or where the page has no title, whose first line then stands for one), else first."""
    first, sep, rest = text.partition("\n")
    if not title or first.strip() == title:
        return f"{first}\n{byline}\n{rest}" if sep else f"{first}\n{byline}\n"
    return f"{byline}\n{text}"
