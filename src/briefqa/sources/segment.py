"""Documents -> blocks, sentences and chunks, all as exact character offsets into the text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..errors import ModelError
from ..records import Block, BlockKind, Chunk, Segmented, Sentence
from .long_sentences import TokenCounter, capped

SEGMENTER_VERSION = "5"  # 5: a byline is a sentence of its own (4: overlong sentences are split)
HEADING_MAX_WORDS = 25
BYLINE_MAX_WORDS = 15
# What a chunk leaves of the model's input for the heading embedded with it (HEADING_MAX_WORDS
# words, about 50 word pieces at most) and the two special tokens. A fixed allowance rather than a
# share of the input: a heading is no longer for a model that reads more. all-MiniLM-L6-v2 reads
# 256 word pieces, which gives the 200 its indexes (and the eval figures) were built with.
HEADING_ALLOWANCE = 56
CHUNK_TOKENS = 256 - HEADING_ALLOWANCE  # the budget for all-MiniLM-L6-v2, the default model
# A piece of at most this many capitalised words or numbers joins its neighbour. Measured over
# SQuAD 1.1's 19,780 training paragraphs (95,916 sentences): it joins 173 pieces, nearly all
# citation marks and split-off abbreviations that would otherwise stand as quotable "sentences"
# (":13", "[N 18]", "Quran 4/171", "Fr.").
FRAGMENT_MAX_WORDS = 3

# pysbd splits after these when a capital or a quote follows ("et al. “Title”"); they never end
# a sentence in briefs ("U.S." is ruled by the contract).
_NON_FINAL = re.compile(
    r"(?:\b(?:et al|e\.g|i\.e|cf|vs|Dr|Mr|Mrs|Ms|Prof|Sen|Rep|Gen|Gov|Lt|Col|Sgt|St|No|Nos|Fig|Figs|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.|\b(?:[A-Z]\.){2,})$"
)
_LIST_MARKER = re.compile(r"[ \t]*(?:[-*+•–]|\d{1,3}[.)])[ \t]+")
# A list marker at the start of a line inside a passage (the line break before it kept).
_MARKER_IN_PASSAGE = re.compile(r"(?<=\n)[ \t]*(?:[-*+•–]|\d{1,3}[.)])[ \t]+")
_MD_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]+")
_FINAL_PUNCT = ".!;:,\"'”’)]…。！；：，」』"
_SENTENCE_END = '.!?"”’)…。！？」』'
_SETEXT = re.compile(r"=+|-+")
_WORD = re.compile(r"\w+")
# A line ending in one of these is the start of a wrapped sentence, not a heading.
_JOINING_WORDS = frozenset(
    (
        "a",
        "an",
        "and",
        "as",
        "at",
        "but",
        "by",
        "for",
        "from",
        "in",
        "into",
        "nor",
        "of",
        "on",
        "or",
        "than",
        "that",
        "the",
        "to",
        "which",
        "who",
        "whose",
        "with",
    )
)


# A sentence that opens by pointing back ("These reforms...", "As a result...") does not stand
# alone; it is quoted, and so embedded, together with the sentence before it.
_BACK_REFERENCE = re.compile(
    r"^(?:these|this|those|that|it|its|they|their|such|he|she|his|her|there|the latter|the former|"
    r"as a result|nevertheless|nonetheless|however|yet|but|moreover|furthermore|consequently|"
    r"therefore|thus|hence|instead|still|in turn|in contrast|similarly|likewise)\b",
    re.I,
)


def _leans_back(sentence: str) -> bool:
    """Whether a sentence points back to the one before it for its meaning."""
    return bool(_BACK_REFERENCE.match(sentence))


def quote_spans(text: str, sentences: Sequence[Sentence], chunks: Sequence[Chunk]) -> list[tuple[int, int]]:
    """For each sentence, the span it is quoted as: itself, or with the sentence before it when
    it leans back on that one and both sit in one chunk."""
    spans = [(s.start, s.end) for s in sentences]
    for chunk in chunks:
        for i in range(chunk.first_sentence + 1, chunk.last_sentence + 1):
            # A piece of an overlong sentence (no closing mark before it) is not an antecedent:
            # joined, the two would overrun the model's input again.
            ended = text[sentences[i - 1].end - 1] in _SENTENCE_END
            if ended and _leans_back(text[sentences[i].start : sentences[i].end]):
                spans[i] = (sentences[i - 1].start, sentences[i].end)
    return spans


@lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def blocks_of(text: str) -> list[Block]:
    """Headings, paragraphs and list items, in order.

    A heading is a markdown ``#`` line (or a setext title underlined with ``===``/``---``), or a
    short standalone line without closing punctuation (or a short standalone question such as a
    section title). A short line is not a heading when it is plainly the first line of a wrapped
    paragraph: it ends in a joining word or a hyphen, or the next line carries on in lower case.
    In a document that marks its headings with ``#``, a plain line is a heading only when it
    stands alone. A byline ("By Priya Raman · June 2, 2025") is a paragraph of its own.
    Consecutive lines join into one paragraph unless the earlier one ends a sentence, which
    keeps hard-wrapped text together; a list item takes in its indented (or lower-case,
    unfinished) continuation lines. Lines without a letter or digit (``---``, ``***``)
    separate blocks and belong to none.
    """
    lines: list[tuple[int, int, str, str]] = []  # content start, content end, raw line, stripped
    pos = 0
    for raw_line in text.split("\n"):
        lead = len(raw_line) - len(raw_line.lstrip())
        lines.append((pos + lead, pos + len(raw_line.rstrip()), raw_line, raw_line.strip()))
        pos += len(raw_line) + 1
    marked = any(_MD_HEADING.match(raw) and _WORD.search(raw) for _, _, raw, _ in lines)
    out: list[Block] = []
    current: _Open | None = None  # the paragraph or list item being read

    for i, (start, end, raw_line, stripped) in enumerate(lines):
        if not _WORD.search(stripped):  # blank line, rule or setext underline
            if (
                current is not None
                and _SETEXT.fullmatch(stripped)
                and current.kind == "paragraph"
                and current.lines == 1
                and text[current.end - 1] not in _SENTENCE_END
            ):
                current.kind = "heading"
            _close(current, out)
            current = None
            continue
        if _MD_HEADING.match(raw_line):
            _close(current, out)
            current = None
            out.append(Block("heading", start, end))
            continue
        if _LIST_MARKER.match(raw_line):
            _close(current, out)
            current = _Open("item", start, end)
            continue
        if _is_byline(stripped, lines[i + 1][3] if i + 1 < len(lines) else ""):
            _close(current, out)
            current = None
            out.append(Block("paragraph", start, end))
            continue
        if current is not None and _continues(text, current, raw_line, stripped):
            current.end = end
            current.lines += 1
            continue
        _close(current, out)
        current = None
        following = lines[i + 1][3] if i + 1 < len(lines) else ""
        if _is_heading(stripped, following, marked):
            out.append(Block("heading", start, end))
        else:
            current = _Open("paragraph", start, end)
    _close(current, out)
    return out


@dataclass(slots=True)
class _Open:
    """A paragraph or list item still taking in lines."""

    kind: BlockKind
    start: int
    end: int
    lines: int = 1


def _close(current: _Open | None, out: list[Block]) -> None:
    if current is not None:
        out.append(Block(current.kind, current.start, current.end))


def _continues(text: str, current: _Open, raw_line: str, stripped: str) -> bool:
    """Whether a plain line carries on the open paragraph or list item."""
    finished = text[current.end - 1] in _SENTENCE_END
    if current.kind == "paragraph":
        return not finished
    indented = raw_line[:1].isspace()
    return indented or (not finished and stripped[0].islower())


def _is_byline(stripped: str, following: str) -> bool:
    """A line that names who wrote the text ("By Priya Raman · June 2, 2025"): "By" and a name
    of at least two capitalised words, standing as a line of its own (the next line does not
    carry it on in lower case). It is a sentence of its own, so "Who wrote ...?" can quote it:
    neither a heading nor the start of the paragraph below it."""
    words = stripped.split()
    return (
        3 <= len(words) <= BYLINE_MAX_WORDS
        and words[0] in ("By", "BY")
        and words[1][:1].isupper()
        and words[2][:1].isupper()
        and stripped[-1] not in ".,;:-"
        and words[-1].lower() not in _JOINING_WORDS
        and not following[:1].islower()
    )


def _is_heading(stripped: str, following: str, marked: bool) -> bool:
    words = stripped.split()
    if stripped.endswith(("?", "？")):
        if len(words) > 12:
            return False
    elif len(words) > HEADING_MAX_WORDS or stripped[-1] in _FINAL_PUNCT + "-":
        return False
    if words[-1].lower() in _JOINING_WORDS:
        return False
    follows = bool(_WORD.search(following))
    if follows and following[0].islower():
        return False  # the first line of a wrapped paragraph
    return not (marked and follows)


def sentences_of(text: str, blocks: Sequence[Block]) -> list[Sentence]:
    """Whole sentences of the paragraphs and list items (headings are context, not sentences).

    Spans come from pysbd and are then repaired: a split after a non-final abbreviation is
    undone, and a fragment of at most three capitalised words or numbers ("April 11, 2025.")
    joins its neighbour.
    """
    out: list[Sentence] = []
    for bi, block in enumerate(blocks):
        if block.kind == "heading":
            continue
        start = block.start
        if block.kind == "item":
            marker = _LIST_MARKER.match(text, block.start)
            start = marker.end() if marker else start
        spans = _spans(text, start, block.end)
        for s, e in _repair(text, spans):
            out.append(Sentence(start=s, end=e, block=bi))
    return out


def _spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    # pysbd ends a sentence at every line break; a block's line breaks are wrapping, so it reads
    # them as spaces (one character for one, so offsets into ``piece`` still hold).
    piece = text[start:end].replace("\n", " ")
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sent in _segmenter().segment(piece):
        core = sent.strip()
        if not core:
            continue
        at = piece.find(core, cursor)
        if at < 0:  # pysbd never rewrites with clean=False; keep going from the cursor if it did
            continue
        spans.append((start + at, start + at + len(core)))
        cursor = at + len(core)
    if not spans and piece.strip():
        lead = len(piece) - len(piece.lstrip())
        spans.append((start + lead, start + len(piece.rstrip())))
    return spans


def _repair(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and (_NON_FINAL.search(text[merged[-1][0] : merged[-1][1]]) or _is_fragment(text[s:e])):
            merged[-1][1] = e
        else:
            merged.append([s, e])
    if len(merged) > 1 and _is_fragment(text[merged[0][0] : merged[0][1]]):
        merged[1][0] = merged[0][0]
        merged.pop(0)
    return [(s, e) for s, e in merged]


def _is_fragment(sentence: str) -> bool:
    """A piece such as "April 11, 2025." or "Panel Discussion.": a few capitalised words or numbers.

    A short sentence with a lower-case word ("Yet challenges remain.") stands on its own.
    """
    words = _WORD.findall(sentence)
    return len(words) <= FRAGMENT_MAX_WORDS and all(w[0].isupper() or w[0].isdigit() for w in words)


def passage_text(text: str, start: int, end: int, quote: tuple[int, int] | None = None) -> str:
    """``text[start:end]`` to show as the context of a quote: the list markers that open its
    lines ("- ", "2. ") left out, since they are layout and read as stray dashes once the
    passage runs on as prose. The ``quote`` span (offsets into ``text``) is kept character for
    character, markers and all, so the quote is found in the passage as it is; so is every
    sentence, since a sentence never holds a marker."""
    if quote is None or not start <= quote[0] <= quote[1] <= end:
        return _MARKER_IN_PASSAGE.sub("", text[start:end])
    before = _MARKER_IN_PASSAGE.sub("", text[start : quote[0]])
    after = _MARKER_IN_PASSAGE.sub("", text[quote[1] : end])
    return before + text[quote[0] : quote[1]] + after


def chunks_of(
    text: str,
    blocks: Sequence[Block],
    sentences: Sequence[Sentence],
    count_tokens: TokenCounter,
    budget: int = CHUNK_TOKENS,
) -> list[Chunk]:
    """Passages of consecutive sentences under one heading, each within ``budget`` word pieces.

    A chunk never crosses a heading; it breaks at a paragraph end once it is half full, so
    passages read as paragraphs where they can.
    """
    if not sentences:
        return []
    heading_of = _headings(text, blocks)
    section_of = _sections(blocks)
    lengths = list(count_tokens([text[s.start : s.end] for s in sentences]))
    chunks: list[Chunk] = []
    first = 0
    used = 0
    for i, sent in enumerate(sentences):
        if i > first:
            prev = sentences[i - 1]
            new_section = section_of[prev.block] != section_of[sent.block]
            over = used + lengths[i] > budget
            para_break = prev.block != sent.block and used >= budget // 2
            if new_section or over or para_break:
                chunks.append(_chunk(text, sentences, first, i - 1, heading_of))
                first, used = i, 0
        used += lengths[i]
    chunks.append(_chunk(text, sentences, first, len(sentences) - 1, heading_of))
    return chunks


def _chunk(text: str, sentences: Sequence[Sentence], first: int, last: int, heading_of: list[str]) -> Chunk:
    return Chunk(
        start=sentences[first].start,
        end=sentences[last].end,
        heading=heading_of[sentences[first].block],
        first_sentence=first,
        last_sentence=last,
    )


def _headings(text: str, blocks: Sequence[Block]) -> list[str]:
    """For each block, the nearest heading above it (with markdown markers removed)."""
    current = ""
    out: list[str] = []
    for block in blocks:
        if block.kind == "heading":
            current = _MD_HEADING.sub("", text[block.start : block.end]).strip().rstrip("#").strip()
        out.append(current)
    return out


def _sections(blocks: Sequence[Block]) -> list[int]:
    """For each block, the index of the nearest heading block above it (-1 before the first)."""
    current = -1
    out: list[int] = []
    for i, block in enumerate(blocks):
        if block.kind == "heading":
            current = i
        out.append(current)
    return out


def chunk_budget(max_tokens: int) -> int:
    """Word pieces a chunk (and a sentence) may hold for a model that reads ``max_tokens``."""
    if max_tokens <= 2 * HEADING_ALLOWANCE:
        raise ModelError(
            f"the model reads only {max_tokens} word pieces; briefqa needs more than "
            f"{2 * HEADING_ALLOWANCE} (a passage and its heading)"
        )
    return max_tokens - HEADING_ALLOWANCE


def segment(text: str, count_tokens: TokenCounter, budget: int = CHUNK_TOKENS) -> Segmented:
    """Blocks, sentences and chunks of one document's text; no sentence is over ``budget`` word pieces."""
    blocks = blocks_of(text)
    sentences = capped(text, sentences_of(text, blocks), count_tokens, budget)
    chunks = chunks_of(text, blocks, sentences, count_tokens, budget)
    return Segmented(blocks=tuple(blocks), sentences=tuple(sentences), chunks=tuple(chunks))
