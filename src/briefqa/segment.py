"""Documents -> blocks, sentences and chunks, all as exact character offsets into the text."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from .records import Block, BlockKind, Chunk, Segmented, Sentence

SEGMENTER_VERSION = "1"
# all-MiniLM-L6-v2 truncates past 256 word pieces; the heading and special tokens take some.
CHUNK_TOKENS = 200
HEADING_MAX_WORDS = 25
FRAGMENT_MAX_WORDS = 3

# pysbd splits after these when a capital or a quote follows ("et al. “Title”"); they never end
# a sentence in briefs ("U.S." is ruled by the contract).
_NON_FINAL = re.compile(
    r"(?:\b(?:et al|e\.g|i\.e|cf|vs|Dr|Mr|Mrs|Ms|Prof|Sen|Rep|Gen|Gov|Lt|Col|Sgt|St|No|Nos|Fig|Figs|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.|\b(?:[A-Z]\.){2,})$"
)
_LIST_MARKER = re.compile(r"[ \t]*(?:[-*+•–]|\d{1,3}[.)])[ \t]+")
_MD_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]+")
_FINAL_PUNCT = ".!;:,\"'”’)]…"
_WORD = re.compile(r"\w+")

TokenCounter = Callable[[Sequence[str]], Sequence[int]]


@lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def blocks_of(text: str) -> list[Block]:
    """Headings, paragraphs and list items, in order.

    A heading is a short standalone line without closing punctuation (or a markdown ``#`` line,
    or a short standalone question such as a section title). Consecutive lines join into one
    paragraph unless the earlier one ends a sentence, which keeps hard-wrapped text together.
    """
    out: list[Block] = []
    para_start = para_end = -1
    pos = 0
    for raw_line in text.split("\n"):
        line_start, line_end = pos, pos + len(raw_line)
        pos = line_end + 1
        stripped = raw_line.strip()
        if not stripped:
            if para_start >= 0:
                out.append(Block("paragraph", para_start, para_end))
                para_start = -1
            continue
        lead = len(raw_line) - len(raw_line.lstrip())
        start, end = line_start + lead, line_start + len(raw_line.rstrip())
        kind = _line_kind(raw_line, stripped)
        if kind == "paragraph" and para_start >= 0 and text[para_end - 1] not in ".!?\"”’)":
            para_end = end
            continue
        if para_start >= 0:
            out.append(Block("paragraph", para_start, para_end))
            para_start = -1
        if kind == "paragraph":
            para_start, para_end = start, end
        else:
            out.append(Block(kind, start, end))
    if para_start >= 0:
        out.append(Block("paragraph", para_start, para_end))
    return out


def _line_kind(raw_line: str, stripped: str) -> BlockKind:
    if _MD_HEADING.match(raw_line):
        return "heading"
    if _LIST_MARKER.match(raw_line):
        return "item"
    words = len(stripped.split())
    if words <= HEADING_MAX_WORDS and stripped[-1] not in _FINAL_PUNCT + "?":
        return "heading"
    if words <= 12 and stripped.endswith("?"):
        return "heading"
    return "paragraph"


def sentences_of(text: str, blocks: Sequence[Block]) -> list[Sentence]:
    """Whole sentences of the paragraphs and list items (headings are context, not sentences).

    Spans come from pysbd and are then repaired: a split after a non-final abbreviation is
    undone, and a fragment of at most three words ("April 11, 2025.") joins its neighbour.
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
    piece = text[start:end]
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
        if merged and (
            _NON_FINAL.search(text[merged[-1][0] : merged[-1][1]])
            or len(_WORD.findall(text[s:e])) <= FRAGMENT_MAX_WORDS
        ):
            merged[-1][1] = e
        else:
            merged.append([s, e])
    if len(merged) > 1 and len(_WORD.findall(text[merged[0][0] : merged[0][1]])) <= FRAGMENT_MAX_WORDS:
        merged[1][0] = merged[0][0]
        merged.pop(0)
    return [(s, e) for s, e in merged]


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
    lengths = list(count_tokens([text[s.start : s.end] for s in sentences]))
    chunks: list[Chunk] = []
    first = 0
    used = 0
    for i, sent in enumerate(sentences):
        if i > first:
            prev = sentences[i - 1]
            new_section = heading_of[prev.block] != heading_of[sent.block]
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


def segment(text: str, count_tokens: TokenCounter, budget: int = CHUNK_TOKENS) -> Segmented:
    """Blocks, sentences and chunks of one document's text."""
    blocks = blocks_of(text)
    sentences = sentences_of(text, blocks)
    chunks = chunks_of(text, blocks, sentences, count_tokens, budget)
    return Segmented(blocks=tuple(blocks), sentences=tuple(sentences), chunks=tuple(chunks))
