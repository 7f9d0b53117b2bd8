"""HTML pages: the byline kept as a sentence and as metadata; metadata in one shape for every format."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from briefqa.errors import SourceError
from briefqa.sources.ingest import discover, parse
from briefqa.sources.segment import segment
from briefqa.sources.source_fields import authors_of, iso_date

from .documents import ARTICLE_HTML, BYLINE_HTML


def read(root: Path, name: str, content: str | bytes):  # type: ignore[no-untyped-def]
    path = root / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    (found,) = [f for f in discover(root) if f.relpath == name]
    return parse(found)


def quotes(text: str) -> list[str]:
    seg = segment(text, lambda texts: [len(t.split()) for t in texts])
    return [text[s.start : s.end] for s in seg.sentences]


def test_the_byline_is_a_sentence_of_the_text(tmp_path: Path) -> None:
    doc = read(tmp_path, "chips.html", BYLINE_HTML)
    assert "By Priya Raman · June 2, 2025" in quotes(doc.text)
    # it sits under the title, before the body
    assert doc.text.index("Priya Raman") < doc.text.index("Export controls")


def test_the_byline_is_metadata_in_the_one_shape(tmp_path: Path) -> None:
    doc = read(tmp_path, "chips.html", BYLINE_HTML)
    assert doc.metadata["authors"] == ["Priya Raman"]
    assert doc.metadata["date"] == "2025-06-02"


def test_a_page_whose_author_is_only_in_its_head_gets_no_byline_text(tmp_path: Path) -> None:
    doc = read(tmp_path, "debris.html", ARTICLE_HTML)
    assert doc.metadata["authors"] == ["Jane Doe"]
    assert "Jane Doe" not in doc.text


def test_a_byline_is_not_read_from_the_menu_or_footer(tmp_path: Path) -> None:
    page = BYLINE_HTML.replace(
        "<footer><p>Policy Desk, all rights reserved.</p></footer>",
        "<footer><p>By Priya Raman, for Policy Desk</p></footer>",
    ).replace('<p class="meta">By <a href="/people/priya-raman">Priya Raman</a> &middot;\n', "<p>")
    doc = read(tmp_path, "chips.html", page)
    assert "for Policy Desk" not in doc.text


def test_front_matter_authors_and_date_take_the_same_shape(tmp_path: Path) -> None:
    doc = read(
        tmp_path, "note.md", "---\nauthors: Priya Raman and Kenji Ito\ndate: June 2, 2025\n---\nBody text here.\n"
    )
    assert doc.metadata == {"authors": ["Priya Raman", "Kenji Ito"], "date": "2025-06-02"}


@pytest.mark.parametrize(
    ("written", "names"),
    [
        ("Priya Raman", ["Priya Raman"]),
        ("Priya Raman; Kenji Ito", ["Priya Raman", "Kenji Ito"]),
        ("Priya Raman, Kenji Ito & Ana Souza", ["Priya Raman", "Kenji Ito", "Ana Souza"]),
        ("Raman, Priya", ["Raman, Priya"]),
        (["Ann Author", " Bo  Writer "], ["Ann Author", "Bo Writer"]),
        ("", []),
    ],
)
def test_authors_become_a_list_of_names(written: object, names: list[str]) -> None:
    assert authors_of(written) == names


@pytest.mark.parametrize(
    ("written", "iso"),
    [
        ("2025-06-02", "2025-06-02"),
        ("2025-06-02T08:00:00Z", "2025-06-02"),
        ("June 2, 2025", "2025-06-02"),
        ("2 June 2025", "2025-06-02"),
        ("June 2025", "2025-06"),
        ("2025", "2025"),
        ("D:20250602093000Z", "2025-06-02"),
        ("Spring term", "Spring term"),  # no date in it: kept as written, nothing made up
    ],
)
def test_dates_become_iso_days_as_precise_as_written(written: str, iso: str) -> None:
    assert iso_date(written) == iso


def test_a_page_without_main_text_fails_without_trafilatura_noise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    page = "<html><body><nav><a href='/'>Home</a> <a href='/a'>About</a></nav></body></html>"
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError, match="no main text"):
        read(tmp_path, "menu.html", page)
    assert not [r for r in caplog.records if r.name.startswith("trafilatura") and r.levelno >= logging.WARNING]
    assert "discarding data" not in caplog.text
