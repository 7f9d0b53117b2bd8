"""Fidelity measured against another reader: every quote briefqa would give from the suite's HTML
and PDF fixtures is in the text that an independent reader of the original file sees.

The other readers: lxml's HTML parser for pages (the whole document's text, menus and all, so a
quote is checked against what the page says, not against what trafilatura kept) and poppler's
``pdftotext`` for PDFs (Debian's poppler-utils; ``make test`` installs it). Texts are compared up
to white space, and up to the hyphens at line ends that reading a PDF as a document resolves;
the running headers and footers each PDF's writer drew are left out of poppler's text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest

from briefqa.records import Document
from briefqa.sources.ingest import discover, parse
from briefqa.sources.segment import quote_spans, segment

from .documents import HTML_PAGES, PDFS, RUNNING_LINES
from .test_ingest import make_pdf

HAND_WRITTEN_PDFS: dict[str, Callable[[], bytes]] = {
    "ssa.pdf": lambda: make_pdf(
        [["Space Situational Awareness Report", "The U.S. and Japan share radar data."], ["Dr. Sato leads the team."]]
    ),
    "cadence.pdf": lambda: make_pdf([["Launch Cadence in 2024", "It rose sharply."]]),
}
_SPACE = re.compile(r"\s+")
_HYPHENS = re.compile("[-\u00ad\u2010\u2011]")


def comparable(text: str, *, hyphens: bool = False) -> str:
    """``text`` without white space (and, for a PDF, without hyphens), in one Unicode form."""
    text = _SPACE.sub("", unicodedata.normalize("NFKC", text))
    return _HYPHENS.sub("", text) if hyphens else text


def quotes_of(doc: Document) -> list[str]:
    """Every sentence, and every span quoted as one (a sentence with the one it leans on)."""
    seg = segment(doc.text, lambda texts: [len(t.split()) for t in texts])
    spans = {(s.start, s.end) for s in seg.sentences} | set(quote_spans(doc.text, seg.sentences, seg.chunks))
    return [doc.text[a:b] for a, b in sorted(spans)]


def parsed(root: Path, name: str, content: bytes) -> Document:
    (root / name).write_bytes(content)
    (found,) = [f for f in discover(root) if f.relpath == name]
    return parse(found)


def lxml_text(html: bytes) -> str:
    import lxml.html

    return str(lxml.html.document_fromstring(html).text_content())


@pytest.mark.parametrize("name", sorted(HTML_PAGES))
def test_every_quote_of_a_page_is_in_lxmls_reading_of_it(tmp_path: Path, name: str) -> None:
    raw = HTML_PAGES[name].encode("utf-8")
    doc = parsed(tmp_path, name, raw)
    other = comparable(lxml_text(raw))
    quotes = quotes_of(doc)
    assert quotes
    missing = [q for q in quotes if comparable(q) not in other]
    assert not missing, missing


def pdftotext(path: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext is not installed (Debian's poppler-utils; `make test` installs it)")
    done = subprocess.run([tool, "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("name", sorted({**PDFS, **HAND_WRITTEN_PDFS}))
def test_every_quote_of_a_pdf_is_in_popplers_reading_of_it(tmp_path: Path, name: str) -> None:
    doc = parsed(tmp_path, name, {**PDFS, **HAND_WRITTEN_PDFS}[name]())
    # The headers and footers the PDF's writer drew, left out of the other reading as briefqa
    # leaves them out of its own, so a paragraph that runs on over a page break reads on.
    running = [re.compile(p) for p in RUNNING_LINES.get(name, [])]
    lines = [
        line for line in pdftotext(tmp_path / name).splitlines() if not any(p.fullmatch(line.strip()) for p in running)
    ]
    other = comparable("\n".join(lines), hyphens=True)
    quotes = quotes_of(doc)
    assert quotes
    missing = [q for q in quotes if comparable(q, hyphens=True) not in other]
    assert not missing, missing


def test_the_check_fails_on_text_the_file_does_not_hold(tmp_path: Path) -> None:
    # A quote that was read wrong (two lines run together out of order) is caught.
    name = "mekong.pdf"
    parsed(tmp_path, name, PDFS[name]())
    other = comparable(pdftotext(tmp_path / name), hyphens=True)
    assert comparable("Dams on the Lower Mekong", hyphens=True) in other
    assert comparable("the sea. The eleven mainstream dams", hyphens=True) not in other
