"""PDFs read as documents: paragraphs, whole words, no running headers, a title worth showing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from briefqa.sources.ingest import discover, parse
from briefqa.sources.pdf_text import joined, names_a_tool
from briefqa.sources.segment import segment

from .documents import MEKONG_INFO, MEKONG_PAGES, Page, canvas_pdf, enscript_like_pdf, flowed_wetlands_pdf, mekong_pdf


def read(root: Path, name: str, pdf: bytes):  # type: ignore[no-untyped-def]
    (root / name).write_bytes(pdf)
    (found,) = [f for f in discover(root) if f.relpath == name]
    return parse(found)


def sentences(text: str) -> list[str]:
    seg = segment(text, lambda texts: [len(t.split()) for t in texts])
    return [text[s.start : s.end] for s in seg.sentences]


def test_a_sentence_wrapped_over_lines_is_one_line_of_text(tmp_path: Path) -> None:
    doc = read(tmp_path, "mekong.pdf", mekong_pdf())
    quoted = sentences(doc.text)
    assert (
        "The eleven mainstream dams proposed for the lower Mekong would block fish migration and trap the "
        "sediment that the delta needs to stay above the sea."
    ) in quoted
    assert not [s for s in quoted if "\n" in s], "a quote holds a line break of the page's layout"
    # paragraphs stay apart, so the segmenter still sees where one ends
    assert doc.text.count("\n\n") >= 4


def test_a_word_split_at_a_line_end_is_made_whole_and_a_compound_keeps_its_hyphen(tmp_path: Path) -> None:
    text = read(tmp_path, "mekong.pdf", mekong_pdf()).text
    assert "trap the sediment that" in text and "sedi" not in text.replace("sediment", "")
    # "long-term" is written whole elsewhere in the brief: its split keeps the hyphen
    assert "fisheries and in long-term damage" in text
    # a hyphen before a capital is a compound's ("U.S.-Japan"), joined without a space
    assert "funded by the U.S.-Japan partnership" in text


def test_a_paragraph_runs_on_over_a_page_break(tmp_path: Path) -> None:
    text = read(tmp_path, "mekong.pdf", mekong_pdf()).text
    assert "it has paid for twelve of them since the programme began" in text


def test_running_headers_footers_and_page_numbers_are_left_out(tmp_path: Path) -> None:
    doc = read(tmp_path, "mekong.pdf", mekong_pdf())
    assert "Mekong Water Security Brief" not in doc.text
    assert "Page " not in doc.text
    assert doc.metadata["pages"] == 3
    flowed = read(tmp_path, "wetlands.pdf", flowed_wetlands_pdf())
    assert flowed.metadata["pages"] >= 2
    assert "Climate Policy Notes" not in flowed.text
    assert not [line for line in flowed.text.split("\n") if line.strip().isdigit()], "a page number is left in"


def test_text_that_recurs_in_the_body_is_not_taken_for_a_header(tmp_path: Path) -> None:
    same = ["Each province reports its water use to the basin authority every month."]
    pages = [Page(paragraphs=[same, [f"Province {n} drew more than it was allotted."]]) for n in range(3)]
    text = read(tmp_path, "same.pdf", canvas_pdf(pages)).text
    assert text.count(same[0]) == 3


def test_a_title_that_names_the_producing_tool_gives_way_to_the_first_heading(tmp_path: Path) -> None:
    doc = read(tmp_path, "mekong.pdf", mekong_pdf())
    assert doc.title == "Dams on the Lower Mekong"  # the metadata says "Microsoft Word - mekong_brief_v3.docx"
    # Enscript writes "Enscript Output": the title is the first line, in the body's own font
    assert read(tmp_path, "groundwater.pdf", enscript_like_pdf()).title == "Groundwater Rights in the Punjab"


def test_a_title_the_author_gave_is_kept(tmp_path: Path) -> None:
    info = {**MEKONG_INFO, "/Title": "Water Security on the Mekong, 2025"}
    pdf = canvas_pdf(MEKONG_PAGES, info=info)
    assert read(tmp_path, "titled.pdf", pdf).title == "Water Security on the Mekong, 2025"
    assert read(tmp_path, "wetlands.pdf", flowed_wetlands_pdf()).title == "Blue Carbon and Coastal Wetlands"


@pytest.mark.parametrize(
    ("title", "creator", "producer", "tool"),
    [
        ("Enscript Output", "GNU Enscript 1.6.6", "GPL Ghostscript 10.00.0", True),
        ("Microsoft Word - brief.docx", "Microsoft® Word 2016", "Microsoft® Word 2016", True),
        ("draft_final_v2.pdf", "", "", True),
        ("LibreOffice", "Writer", "LibreOffice 7.5", True),
        ("Water Security on the Mekong", "Microsoft® Word 2016", "Microsoft® Word 2016", False),
        ("The U.S.-Japan Alliance", "LaTeX with hyperref", "pdfTeX-1.40.25", False),
    ],
)
def test_a_tools_title_is_told_by_the_creator_and_producer(title: str, creator: str, producer: str, tool: bool) -> None:
    assert names_a_tool(title, creator, producer) is tool


def test_the_pdf_authors_and_creation_date_take_the_one_shape(tmp_path: Path) -> None:
    doc = read(tmp_path, "mekong.pdf", mekong_pdf())
    assert doc.metadata["authors"] == ["Priya Raman", "Kenji Ito"]
    assert doc.metadata["date"] == "2025-06-02"


def test_offsets_index_the_stored_text(tmp_path: Path) -> None:
    doc = read(tmp_path, "wetlands.pdf", flowed_wetlands_pdf())
    seg = segment(doc.text, lambda texts: [len(t.split()) for t in texts])
    assert seg.sentences
    for s in seg.sentences:
        quote = doc.text[s.start : s.end]
        assert quote == quote.strip() and "\n" not in quote


def test_hyphens_are_dropped_only_for_whole_words() -> None:
    assert joined("trap the sedi-", "ment that", set(), set()) == "trap the sediment that"
    # the document writes the compound with its hyphen: kept, whatever the word list says
    assert joined("a co-", "operation", set(), {"co-operation"}) == "a co-operation"
    # neither form in the document nor the word list: the hyphen stays
    assert joined("the quant-", "zork method", set(), set()) == "the quant-zork method"
    # the document's own word settles it first
    assert joined("the quant-", "zork method", {"quantzork"}, set()) == "the quantzork method"
    assert joined("a dash -", "and more", set(), set()) == "a dash - and more"


def test_pypdf_warnings_become_one_line_naming_the_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from .test_ingest import make_pdf

    # A font whose encoding pypdf does not know: it warns for every string drawn in it.
    pdf = make_pdf([["A first line of text.", "A second line.", "A third line."]], encoding="/NoSuchEncoding")
    with caplog.at_level(logging.WARNING):
        doc = read(tmp_path, "odd-font.pdf", pdf)
    assert "second line" in doc.text
    from_pypdf = [r for r in caplog.records if r.name.startswith("pypdf")]
    ours = [r for r in caplog.records if r.name.startswith("briefqa")]
    assert not from_pypdf
    assert len(ours) == 1
    line = ours[0].getMessage()
    assert line.startswith("odd-font.pdf: ") and "pypdf" in line and len(line) < 200


def test_paragraphs_that_reportlab_justified_and_flowed_over_pages_come_back_as_written(tmp_path: Path) -> None:
    from .documents import FLOWED_PARAGRAPHS

    doc = read(tmp_path, "wetlands.pdf", flowed_wetlands_pdf())
    assert doc.text.split("\n\n") == ["Blue Carbon and Coastal Wetlands", *FLOWED_PARAGRAPHS]
