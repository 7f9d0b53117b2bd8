"""Property: every sentence and chunk is an exact, trimmed, ordered span of the text it indexes."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from briefqa.records import Segmented
from briefqa.sources.segment import segment


def words(texts: Sequence[str]) -> list[int]:
    return [len(t.split()) for t in texts]


WORDS = st.sampled_from(
    [
        "orbit",
        "alliance",
        "Japan",
        "Tokyo",
        "the",
        "of",
        "and",
        "space",
        "domain",
        "Zürich",
        "naïve",
        "café",
        "日本",
        "衛星",
        "Ωmega",
        "🚀",
        "2025",
        "11,",
        "two-thirds",
        "SM-3",
        "U.S.",
        "U.S.-Japan",
        "e.g.",
        "i.e.",
        "Dr.",
        "et al.",
        "vs.",
        "No.",
        "A.",
        "Fig.",
        "—",
        "–",
        "“Allied",
        "Design”",
        '"quoted"',
        "'single'",
        "(aside)",
        "[1]",
        "...",
        "…",
        "decision-making—particularly",
        "U.S.’s",
        "Japan’s",
    ]
)
ENDS = st.sampled_from([".", ".", ".", "!", "?", "…", ".”", "?”", '."', ")", ":", ";", "", "。"])
SPACE = st.sampled_from([" ", " ", " ", "  ", "\t", " \u00a0", "\n"])


@st.composite
def sentence(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(WORDS, min_size=1, max_size=14))
    seps = draw(st.lists(SPACE, min_size=len(tokens) - 1, max_size=len(tokens) - 1))
    body = tokens[0] + "".join(s + t for s, t in zip(seps, tokens[1:], strict=True))
    if draw(st.booleans()):
        body = body[0].upper() + body[1:]
    return body + draw(ENDS)


@st.composite
def paragraph(draw: st.DrawFn) -> str:
    sents = draw(st.lists(sentence(), min_size=1, max_size=5))
    joins = draw(st.lists(st.sampled_from([" ", "  ", "\n"]), min_size=len(sents) - 1, max_size=len(sents) - 1))
    return sents[0] + "".join(j + s for j, s in zip(joins, sents[1:], strict=True))


HEADING = st.builds(
    lambda hashes, title: f"{hashes}{title}",
    st.sampled_from(["", "# ", "## ", "### "]),
    st.sampled_from(["Space Norms", "The Road Ahead", "Why Now?", "Sources", "Über Café", "Notes 2025"]),
)
ITEM = st.builds(lambda m, s: f"{m} {s}", st.sampled_from(["-", "*", "+", "•", "1.", "2)"]), sentence())
RULE = st.sampled_from(["---", "===", "* * *", "  ", ""])


@st.composite
def document(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(paragraph(), HEADING, ITEM, RULE), min_size=1, max_size=8))
    seps = draw(st.lists(st.sampled_from(["\n", "\n\n", "\n \n", "\n\n\n"]), min_size=len(parts), max_size=len(parts)))
    lead = draw(st.sampled_from(["", "\n", "  ", " \n\n"]))
    return lead + "".join(p + s for p, s in zip(parts, seps, strict=True))


def check_spans(text: str, seg: Segmented, budget: int) -> None:
    previous_end = 0
    for sent in seg.sentences:
        assert 0 <= sent.start < sent.end <= len(text)
        quote = text[sent.start : sent.end]
        assert quote == quote.strip()
        assert sent.start >= previous_end, "sentences overlap or are out of order"
        previous_end = sent.end
        block = seg.blocks[sent.block]
        assert block.kind != "heading"
        assert block.start <= sent.start and sent.end <= block.end
    for block in seg.blocks:
        assert 0 <= block.start < block.end <= len(text)
        assert text[block.start : block.end] == text[block.start : block.end].strip()
    covered: list[int] = []
    for chunk in seg.chunks:
        assert 0 <= chunk.start < chunk.end <= len(text)
        assert text[chunk.start : chunk.end] == text[chunk.start : chunk.end].strip()
        first, last = seg.sentences[chunk.first_sentence], seg.sentences[chunk.last_sentence]
        assert chunk.start == first.start and chunk.end == last.end
        members = range(chunk.first_sentence, chunk.last_sentence + 1)
        covered.extend(members)
        tokens = sum(words([text[seg.sentences[i].start : seg.sentences[i].end] for i in members]))
        assert tokens <= budget or len(members) == 1
    assert covered == list(range(len(seg.sentences))), "chunks must cover every sentence once, in order"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=document(), budget=st.integers(min_value=1, max_value=60))
def test_offsets_of_generated_documents(text: str, budget: int) -> None:
    seg = segment(text, words, budget=budget)
    check_spans(text, seg, budget)
    # text that is more than headings and rules yields something to quote
    if any(c.isalnum() for c in text) and any(b.kind != "heading" for b in seg.blocks):
        assert seg.sentences


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(
        alphabet=st.sampled_from(list("ab Z.!?\n\t #-*1)“”\"'—é日\u00a0\u2028\x0c")),
        max_size=120,
    ),
    budget=st.integers(min_value=1, max_value=30),
)
def test_offsets_of_arbitrary_text(text: str, budget: int) -> None:
    check_spans(text, segment(text, words, budget=budget), budget)
