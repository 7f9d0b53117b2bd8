"""How a source is credited in a copied quote and in the Markdown transcript."""

from __future__ import annotations

import pytest

from briefqa.api.citation import credit, long_date, names


@pytest.mark.parametrize(
    ("authors", "shown"),
    [
        (["Priya Raman"], "Priya Raman"),
        (["Priya Raman", "Li Wei"], "Priya Raman and Li Wei"),
        (["A. Ito", "B. Cole", "C. Diaz"], "A. Ito, B. Cole and C. Diaz"),
        (["A. Ito", "B. Cole", "C. Diaz", "D. Ek"], "A. Ito et al."),
    ],
)
def test_authors_are_named_as_a_note_citation_names_them(authors: list[str], shown: str) -> None:
    assert names(authors) == shown


@pytest.mark.parametrize(
    ("date", "shown"),
    [
        ("2025-06-02", "2 June 2025"),
        ("2025-06-02T09:30:00", "2 June 2025"),
        ("2025-12", "December 2025"),
        ("2025", "2025"),
        ("June 2, 2025", "June 2, 2025"),  # not ISO: as the source gives it
        ("2025-02-30", "2025-02-30"),  # no such day: as given, never a guess
        ("2025-13", "2025-13"),
    ],
)
def test_an_iso_date_is_written_out_and_any_other_is_kept(date: str, shown: str) -> None:
    assert long_date(date) == shown


def test_each_missing_part_is_left_out() -> None:
    assert credit("Chips", ["Priya Raman"], "2025-06-02") == "Priya Raman, “Chips”, 2 June 2025"
    assert credit("Chips", ["Priya Raman"], None) == "Priya Raman, “Chips”"
    assert credit("Chips", [], "2025-06-02") == "Chips, 2 June 2025"
    assert credit("Chips", [], None) == "Chips"


def test_markdown_writes_each_part_and_links_the_title() -> None:
    shown = credit(
        "A *bold* plan",
        ["Ann_Lee"],
        "2025-06",
        text=lambda t: t.replace("*", r"\*").replace("_", r"\_"),
        title_as=lambda t: f"[{t}](https://x.test/s)",
    )
    assert shown == r"Ann\_Lee, [“A \*bold\* plan”](https://x.test/s), June 2025"
