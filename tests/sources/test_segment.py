"""Segmentation: blocks, whole sentences and chunks as exact character offsets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from briefqa.records import Segmented
from briefqa.sources.segment import blocks_of, chunks_of, passage_text, quote_spans, segment, sentences_of

BRIEF = Path(__file__).resolve().parents[2] / "corpus" / "us-japan-space-alliance.txt"


def words(texts: Sequence[str]) -> list[int]:
    """A simple token counter: one token per white-space separated word."""
    return [len(t.split()) for t in texts]


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in segment(text, words).sentences]


def blocks(text: str) -> list[tuple[str, str]]:
    return [(b.kind, text[b.start : b.end]) for b in blocks_of(text)]


def assert_chunk_invariants(text: str, seg: Segmented, budget: int) -> None:
    """Chunks cover every sentence once, in order, stay in budget and never cross a heading."""
    sents = seg.sentences
    covered = [i for c in seg.chunks for i in range(c.first_sentence, c.last_sentence + 1)]
    assert covered == list(range(len(sents)))
    heading_blocks = [i for i, b in enumerate(seg.blocks) if b.kind == "heading"]
    for chunk in seg.chunks:
        members = sents[chunk.first_sentence : chunk.last_sentence + 1]
        assert chunk.start == members[0].start and chunk.end == members[-1].end
        tokens = sum(words([text[s.start : s.end] for s in members]))
        assert tokens <= budget or len(members) == 1, (tokens, text[chunk.start : chunk.end])
        # no heading block lies between the chunk's first and last sentence
        assert not [h for h in heading_blocks if members[0].block < h < members[-1].block]


# ---------------------------------------------------------------------------------------------
# sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Officials in the U.S. said so. Then Japan agreed.",
            ["Officials in the U.S. said so.", "Then Japan agreed."],
        ),
        (
            "The U.S. Space Force leads the effort. It is new.",
            ["The U.S. Space Force leads the effort.", "It is new."],
        ),
        (
            "Many sensors help, e.g. radar and optics. They see far.",
            ["Many sensors help, e.g. radar and optics.", "They see far."],
        ),
        (
            "Dr. Smith met Dr. Tanaka in Tokyo. They talked for hours.",
            ["Dr. Smith met Dr. Tanaka in Tokyo.", "They talked for hours."],
        ),
        (
            "Smith et al. argued the point in 2020. Others disagreed strongly.",
            ["Smith et al. argued the point in 2020.", "Others disagreed strongly."],
        ),
        (
            "Smith et al. Deepening the alliance was their theme. Nobody objected.",
            ["Smith et al. Deepening the alliance was their theme.", "Nobody objected."],
        ),
        (
            "Options exist, i.e. more launches. Costs fell.",
            ["Options exist, i.e. more launches.", "Costs fell."],
        ),
    ],
)
def test_abbreviations_do_not_end_a_sentence(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_us_at_the_end_of_a_clause_does_not_end_a_sentence() -> None:
    # the contract: "U.S." does not end a sentence, even when a capital follows
    text = "Support came from the U.S. Japan welcomed it warmly."
    assert sentences(text) == [text]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "He said, “We will go to the Moon.” Then they left the room.",
            ["He said, “We will go to the Moon.”", "Then they left the room."],
        ),
        (
            "“Is this the end?” she asked. Nobody answered her at all.",
            ["“Is this the end?” she asked.", "Nobody answered her at all."],
        ),
        (
            'He asked: "Why now?" The answer was not clear to anyone.',
            ['He asked: "Why now?"', "The answer was not clear to anyone."],
        ),
        (
            "She wrote “Allied by Design” — a slogan — in the memo. It stuck around.",
            ["She wrote “Allied by Design” — a slogan — in the memo.", "It stuck around."],
        ),
        (
            "The plan—ambitious and costly—was approved. Work began soon after.",
            ["The plan—ambitious and costly—was approved.", "Work began soon after."],
        ),
    ],
)
def test_quotes_and_dashes_stay_inside_their_sentence(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_short_sentences_stand_alone_but_citation_fragments_join() -> None:
    text = "Progress is real. Yet challenges remain. Barriers impede progress."
    assert sentences(text) == ["Progress is real.", "Yet challenges remain.", "Barriers impede progress."]
    citation = "Smith, Jane. “Deepening Ties.” Panel Discussion. April 11, 2025."
    assert sentences(citation) == [citation]


def test_unicode_text_keeps_exact_offsets() -> None:
    text = "Café owners in Zürich said “ça va” to everyone. Naïve résumés abound. 日本は衛星を打ち上げた。"
    got = sentences(text)
    assert got[:2] == ["Café owners in Zürich said “ça va” to everyone.", "Naïve résumés abound."]
    assert "".join(got).replace(" ", "") == text.replace(" ", "")


def test_sentence_spans_are_whole_and_inside_their_block() -> None:
    text = "# Title\n\nFirst sentence here.  Second one follows!\n\n- An item sentence.\n"
    seg = segment(text, words)
    for sent in seg.sentences:
        block = seg.blocks[sent.block]
        assert block.kind != "heading"
        assert block.start <= sent.start < sent.end <= block.end
        assert text[sent.start : sent.end] == text[sent.start : sent.end].strip()


# ---------------------------------------------------------------------------------------------
# blocks: headings, paragraphs, list items


def test_markdown_headings_are_blocks_and_never_sentences() -> None:
    text = "# Title\n\nSome intro text here.\n\n## Section Two ##\nMore text follows here.\n"
    assert blocks(text) == [
        ("heading", "# Title"),
        ("paragraph", "Some intro text here."),
        ("heading", "## Section Two ##"),
        ("paragraph", "More text follows here."),
    ]
    assert sentences(text) == ["Some intro text here.", "More text follows here."]


def test_short_unpunctuated_lines_are_headings() -> None:
    text = (
        "Space Norms in Practice\n"
        "Norms matter in orbit. They shape behaviour.\n"
        "Why Deterrence Matters?\n"
        "Deterrence works when it is credible.\n"
    )
    assert [k for k, _ in blocks(text)] == ["heading", "paragraph", "heading", "paragraph"]
    got = sentences(text)
    assert got == ["Norms matter in orbit.", "They shape behaviour.", "Deterrence works when it is credible."]


def test_setext_heading_and_rules() -> None:
    text = "Launch Review\n=============\n\nBody text is here.\n\n---\n\n* * *\n\nMore body text here.\n"
    assert blocks(text) == [
        ("heading", "Launch Review"),
        ("paragraph", "Body text is here."),
        ("paragraph", "More body text here."),
    ]


def test_sentence_before_a_rule_is_not_a_heading() -> None:
    text = "A full sentence ends here.\n---\nAnother sentence.\n"
    assert sentences(text) == ["A full sentence ends here.", "Another sentence."]


@pytest.mark.parametrize("marker", ["-", "*", "+", "•", "1.", "12)"])
def test_list_items_are_sentences_without_marker(marker: str) -> None:
    text = f"Findings\n{marker} Japan expanded its role.\n{marker} The U.S. kept its lead.\n"
    seg = segment(text, words)
    assert [b.kind for b in seg.blocks] == ["heading", "item", "item"]
    assert [text[s.start : s.end] for s in seg.sentences] == [
        "Japan expanded its role.",
        "The U.S. kept its lead.",
    ]


def test_list_item_without_final_punctuation_is_still_a_sentence() -> None:
    assert sentences("- radar coverage\n- optical tracking\n") == ["radar coverage", "optical tracking"]


def test_hard_wrapped_markdown_paragraph_joins_into_one() -> None:
    text = (
        "# Notes\n\n"
        "This is a long paragraph that is hard wrapped\n"
        "at roughly seventy characters and it continues\n"
        "until the sentence finally ends here. A second\n"
        "sentence follows on the same lines.\n\n"
        "The agreement was signed by the leaders of\n"
        "Japan and the United States in 2023.\n"
    )
    kinds = blocks(text)
    assert [k for k, _ in kinds] == ["heading", "paragraph", "paragraph"]
    got = sentences(text)
    assert got == [
        "This is a long paragraph that is hard wrapped\nat roughly seventy characters and it continues\n"
        "until the sentence finally ends here.",
        "A second\nsentence follows on the same lines.",
        "The agreement was signed by the leaders of\nJapan and the United States in 2023.",
    ]


def test_hard_wrapped_paragraph_in_plain_text() -> None:
    text = (
        "Orbital debris has become a pressing concern for every\n"
        "spacefaring nation, and the allies are drafting shared\n"
        "rules for tracking it. Progress is slow.\n"
    )
    assert [k for k, _ in blocks(text)] == ["paragraph"]
    assert sentences(text) == [
        "Orbital debris has become a pressing concern for every\nspacefaring nation, and the allies are "
        "drafting shared\nrules for tracking it.",
        "Progress is slow.",
    ]


def test_hard_wrapped_list_item_keeps_its_continuation() -> None:
    text = "- A list item that is hard wrapped and goes on\n  to a second line that ends here.\n- Next item.\n"
    assert [k for k, _ in blocks(text)] == ["item", "item"]
    assert sentences(text) == [
        "A list item that is hard wrapped and goes on\n  to a second line that ends here.",
        "Next item.",
    ]


def test_one_line_paragraphs_stay_separate() -> None:
    text = "First paragraph ends here.\nSecond paragraph starts here.\n"
    assert [k for k, _ in blocks(text)] == ["paragraph", "paragraph"]


# ---------------------------------------------------------------------------------------------
# chunks


def long_text() -> str:
    para = " ".join(f"Sentence number {i} talks about orbit and alliances." for i in range(12))
    return f"# Alpha\n\n{para}\n\n{para}\n\n## Beta\n\n{para}\n\n- Item one is here.\n- Item two is here.\n"


@pytest.mark.parametrize("budget", [8, 20, 45, 200])
def test_chunks_respect_budget_headings_and_cover_every_sentence(budget: int) -> None:
    text = long_text()
    seg = segment(text, words, budget=budget)
    assert len(seg.sentences) == 12 * 3 + 2
    assert_chunk_invariants(text, seg, budget)


def test_small_budget_splits_and_large_budget_still_breaks_at_headings() -> None:
    text = long_text()
    small = segment(text, words, budget=20)
    assert all(c.last_sentence - c.first_sentence <= 2 for c in small.chunks)  # 8 words a sentence
    big = segment(text, words, budget=10_000)
    assert [c.heading for c in big.chunks] == ["Alpha", "Beta"]


def test_a_sentence_longer_than_the_budget_is_a_chunk_of_its_own() -> None:
    # segment() cuts such a sentence first; chunks_of alone still keeps one whole.
    text = "Short one here. " + " ".join(["word"] * 30) + " end. Another short one."
    blks = blocks_of(text)
    sents = sentences_of(text, blks)
    chunks = chunks_of(text, blks, sents, words, budget=10)
    long_idx = next(i for i, s in enumerate(sents) if s.end - s.start > 100)
    own = [c for c in chunks if c.first_sentence <= long_idx <= c.last_sentence]
    assert len(own) == 1 and own[0].first_sentence == own[0].last_sentence == long_idx
    assert_chunk_invariants(text, segment(text, words, budget=10), 10)


def test_chunk_heading_is_the_nearest_heading_without_markers() -> None:
    text = "Intro sentence here.\n\n# First Part #\n\nBody one is here.\n\n### Second Part\n\nBody two is here.\n"
    seg = segment(text, words)
    assert [c.heading for c in seg.chunks] == ["", "First Part", "Second Part"]


def test_chunks_do_not_cross_a_repeated_heading() -> None:
    text = "## Notes\n\nFirst note is here.\n\n## Notes\n\nSecond note is here.\n"
    seg = segment(text, words, budget=200)
    assert len(seg.chunks) == 2
    assert [text[c.start : c.end] for c in seg.chunks] == ["First note is here.", "Second note is here."]


def test_chunks_of_matches_segment_and_handles_no_sentences() -> None:
    text = "# Only a heading\n\n## And another\n"
    blks = blocks_of(text)
    assert sentences_of(text, blks) == []
    assert chunks_of(text, blks, [], words) == []
    assert segment("", words) == Segmented(blocks=(), sentences=(), chunks=())


# ---------------------------------------------------------------------------------------------
# the brief


@pytest.fixture(scope="module")
def brief() -> tuple[str, Segmented]:
    text = BRIEF.read_text(encoding="utf-8")
    return text, segment(text, words, budget=80)


def test_brief_headings(brief: tuple[str, Segmented]) -> None:
    text, seg = brief
    assert [text[b.start : b.end] for b in seg.blocks if b.kind == "heading"] == [
        "Is the U.S.-Japan Space Alliance Entering a New Era?",
        "As threats multiply in orbit, Washington and Tokyo are reshaping the space alliance for strategic endurance",
        "From Quiet Coordination to Frontline Strategy",
        "The Industrial Dimension: Strategic Autonomy in Orbit",
        "Overcoming the Legacy of Asymmetry",
        "Ukraine as a Warning and a Catalyst",
        "The Road Ahead: Missile Defense, Shared Constellations, and Space Norms",
        "Strategic Convergence or Managed Divergence?",
        "Sources",
    ]
    quoted = [text[s.start : s.end] for s in seg.sentences]
    assert not any("Frontline Strategy" in q or q == "Sources" for q in quoted)


@pytest.mark.parametrize(
    "expected",
    [
        "Space has emerged as a cross-cutting element across all three pillars of Japan’s strategic "
        "vision: the enhancement of self-defense capabilities, the strengthening of the U.S. alliance, "
        "and expanded cooperation with regional partners.",
        "Institutional developments such as the establishment of a Japanese Joint Operations Command, "
        "alongside efforts to enhance interoperability with a forthcoming U.S. counterpart, reflect an "
        "operational recognition that crisis response increasingly depends on rapid, integrated "
        "decision-making, where compressed timelines may prove decisive.",
        "The U.S. security guarantee under Article 5 of the U.S.-Japan Security Treaty does not have a "
        "reciprocal clause.",
        "Japan’s longstanding approach to space as a dual-use domain — linking military preparedness to "
        "socioeconomic development — now increasingly converges with the U.S.’s own turn toward "
        "“America First” industrial policy.",
        "At the institutional level, the U.S. Space Force’s emphasis on allied integration—reflected in "
        "initiatives such as “Allied by Design” and expanded multinational exercises—offers mechanisms "
        "to convert political alignment into practical capability.",
        "Yet challenges remain.",
        "Nevertheless, Japan’s role is gradually expanding.",
        "These issues resonate strongly within the U.S.-Japan alliance.",
        "Bingen, Kari A., Melissa Dalton, Jun Kazeki, et al. “Deepening the U.S.-Japan Space Security "
        "Relationship.” Panel Discussion. April 11, 2025.",
    ],
)
def test_brief_sentence_boundaries(brief: tuple[str, Segmented], expected: str) -> None:
    text, seg = brief
    assert expected in [text[s.start : s.end] for s in seg.sentences]


def test_brief_sentences_are_whole(brief: tuple[str, Segmented]) -> None:
    text, seg = brief
    quoted = [text[s.start : s.end] for s in seg.sentences]
    assert len(quoted) == 39
    for q in quoted:
        assert q[0].isupper(), q
        assert q.endswith((".", ".”")), q
        assert "\n" not in q


def test_brief_chunks(brief: tuple[str, Segmented]) -> None:
    text, seg = brief
    assert_chunk_invariants(text, seg, 80)
    headings = {c.heading for c in seg.chunks}
    assert "Overcoming the Legacy of Asymmetry" in headings
    assert "Sources" in headings
    first_section = next(c for c in seg.chunks if c.heading == "From Quiet Coordination to Frontline Strategy")
    assert text[first_section.start : first_section.end].startswith("What was once a relationship")


def test_a_sentence_that_leans_back_is_quoted_with_the_one_before_it() -> None:
    text = "Space matters more each year. These shifts reshape the alliance. Japan acts alone.\n\nIt is new."
    seg = segment(text, lambda ts: [len(t.split()) for t in ts], budget=20)
    spans = [text[a:b] for a, b in quote_spans(text, seg.sentences, seg.chunks)]
    assert spans[1] == "Space matters more each year. These shifts reshape the alliance."
    assert spans[2] == "Japan acts alone."
    # Never across a chunk boundary: the antecedent would not be in the quoted passage.
    assert seg.chunks[-1].first_sentence == 3
    assert spans[3] == "It is new."


# ---------------------------------------------------------------------------------------------
# sentences longer than the model reads


def assert_capped(text: str, seg: Segmented, budget: int) -> list[str]:
    pieces = [text[s.start : s.end] for s in seg.sentences]
    for piece in pieces:
        assert len(piece.split()) <= budget, piece[:80]
        assert piece == piece.strip() and piece
    return pieces


def test_an_overlong_sentence_is_cut_at_its_clauses() -> None:
    clause = "the harbour board reviewed the levee plans with the river authority"
    text = "Flood defences\n\n" + "; ".join(f"{clause} in district {n}" for n in range(30)) + ".\n"
    seg = segment(text, words, budget=40)
    pieces = assert_capped(text, seg, 40)
    assert len(pieces) > 1
    # every cut falls after a clause mark, and together the pieces cover the run in order
    assert all(p.endswith(";") for p in pieces[:-1]) and pieces[-1].endswith(".")
    assert " ".join(pieces) == text.split("\n\n")[1].strip()
    assert_chunk_invariants(text, seg, 40)


def test_a_line_without_punctuation_is_cut_into_word_runs_with_exact_offsets() -> None:
    vocab = ["tide", "gauge", "culvert", "pump", "station", "drainage", "storm", "surge", "basin", "wall"]
    line = " ".join(vocab[(i * 7) % len(vocab)] for i in range(20_000))  # about 130,000 characters
    text = f"Notes from the survey\n\n{line}\n"
    seg = segment(text, words, budget=50)
    pieces = assert_capped(text, seg, 50)
    assert len(pieces) == 20_000 // 50
    assert seg.sentences[0].start == text.index("tide")
    assert seg.sentences[-1].end == len(text) - 1
    for a, b in zip(seg.sentences, seg.sentences[1:], strict=False):
        assert text[a.end : b.start] == " "  # nothing lost or repeated between pieces


def test_a_clause_too_long_alone_is_cut_into_words_and_short_clauses_stay_whole() -> None:
    text = "Short opening clause, " + " ".join(["ballast"] * 45) + ", and a closing remark."
    seg = segment(text, words, budget=20)
    pieces = assert_capped(text, seg, 20)
    assert pieces[0].startswith("Short opening clause,")
    assert pieces[-1].endswith("and a closing remark.")
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


def test_sentences_within_the_budget_are_untouched() -> None:
    text = "The ferry leaves at noon, weather permitting; tickets are sold on board. It returns by six."
    assert sentences(text) == [
        "The ferry leaves at noon, weather permitting; tickets are sold on board.",
        "It returns by six.",
    ]


def test_a_piece_of_a_cut_sentence_does_not_lean_back_on_the_piece_before() -> None:
    text = "Rail freight grew, " + " ".join(["steadily"] * 30) + ", which they expected."
    seg = segment(text, words, budget=20)
    spans = quote_spans(text, seg.sentences, seg.chunks)
    assert spans == [(s.start, s.end) for s in seg.sentences]


# ---------------------------------------------------------------------------------------------
# bylines, and the passage shown around a quote


def test_a_byline_is_a_sentence_of_its_own() -> None:
    text = "Chips and Allies\nBy Priya Raman · June 2, 2025\nExport controls tightened through 2024.\n"
    assert blocks(text) == [
        ("heading", "Chips and Allies"),
        ("paragraph", "By Priya Raman · June 2, 2025"),
        ("paragraph", "Export controls tightened through 2024."),
    ]
    assert sentences(text) == ["By Priya Raman · June 2, 2025", "Export controls tightened through 2024."]


def test_a_line_that_only_opens_with_by_is_not_a_byline() -> None:
    text = "Launches slowed in the spring.\nBy March Japan had flown two missions\nand planned a third.\n"
    assert "By March Japan had flown two missions and planned a third." in " ".join(sentences(text)).replace("\n", " ")
    assert blocks(text)[-1][0] == "paragraph"
    assert blocks("By the Numbers\n\nThree launches failed.\n")[0] == ("heading", "By the Numbers")


LIST_NOTE = (
    "# Fabs\n\n"
    "Subsidies grew in every allied state.\n\n"
    "- Coastal states should fund new fabs by 2027.\n"
    "- Inland states should train technicians.\n"
    "  2. A numbered point follows the second.\n"
)


def test_list_markers_stay_out_of_the_passage_around_a_quote() -> None:
    seg = segment(LIST_NOTE, words)
    (chunk,) = seg.chunks
    passage = passage_text(LIST_NOTE, chunk.start, chunk.end)
    assert "2027. Coastal" not in passage  # the items stay on their own lines
    assert "- " not in passage and "2. " not in passage
    assert "by 2027.\nInland states" in passage
    for s in seg.sentences:  # every quote is found in the passage as it is, character for character
        quote = LIST_NOTE[s.start : s.end]
        assert quote in passage
    # the offsets are untouched: the stored text still holds the markers
    assert LIST_NOTE[chunk.start : chunk.end].count("- ") == 2


def test_a_quote_that_spans_two_items_keeps_its_marker_in_the_passage() -> None:
    text = "Intro line here.\n- Japan funds the first stage.\n- These grants end in 2027.\nLast.\n"
    start, end = text.index("Japan"), text.index("2027.") + 5  # a sentence with the one it leans on
    passage = passage_text(text, 0, len(text), (start, end))
    assert text[start:end] in passage
    assert passage == "Intro line here.\nJapan funds the first stage.\n- These grants end in 2027.\nLast.\n"


def test_a_dash_inside_a_sentence_stays_in_the_passage() -> None:
    text = "Costs rose - sharply - after 2024.\nThe list:\n- one item here.\n"
    assert passage_text(text, 0, len(text)).startswith("Costs rose - sharply - after 2024.")
