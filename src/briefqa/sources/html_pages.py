"""HTML pages: the main text (trafilatura), the title, and the byline kept as text and metadata."""

from __future__ import annotations

from typing import Any

from .source_fields import ParsedSource, ParseProblem, byline_fields

# A byline is a short line of its own; a longer run of text that names the author is prose.
BYLINE_MAX_CHARS = 160
# Elements that a byline's words sit inside without being a line of their own.
_INLINE = frozenset(("a", "abbr", "b", "bdi", "cite", "em", "i", "small", "span", "strong", "time", "u"))
_NOT_TEXT = frozenset(("script", "style", "title", "nav", "footer", "head", "body", "html"))


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

    Found by the names the page's metadata gives, not by a class name: the first element whose
    own text holds the first author's name, widened from a link or span to the line that holds
    it (a paragraph, a div, an address), outside menus and footers, short enough to be a byline.
    One pass over the page, however deep it nests.
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
        # The name as one run of text, in the line's own element or in a link or span inside it.
        if not isinstance(element.tag, str) or name not in " ".join((element.text or "").split()):
            continue
        line_element = element
        while line_element.tag in _INLINE and line_element.getparent() is not None:
            line_element = line_element.getparent()
        if line_element.tag in _NOT_TEXT or any(a.tag in ("nav", "footer") for a in line_element.iterancestors()):
            continue
        line = " ".join(line_element.text_content().split())
        if len(line) <= BYLINE_MAX_CHARS:
            return line
    return None


def _with_byline(text: str, byline: str, title: str) -> str:
    """``text`` with the byline as a line of its own: after the title where the text opens with
    it (or where the page has no title, whose first line then stands for one), else first."""
    first, sep, rest = text.partition("\n")
    if not title or first.strip() == title:
        return f"{first}\n{byline}\n{rest}" if sep else f"{first}\n{byline}\n"
    return f"{byline}\n{text}"
