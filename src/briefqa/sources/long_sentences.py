"""Sentences longer than the model reads, cut into verbatim pieces that fit (``segment`` calls it)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ..records import Sentence

# Where an overlong sentence may be cut: after a clause mark, or before a dash set off by spaces.
_CLAUSE_END = re.compile(r"[;:,](?=\s)|\s(?=[—–-]\s)|—")
_TOKEN_RUN = re.compile(r"\S+")

TokenCounter = Callable[[Sequence[str]], Sequence[int]]


def capped(text: str, sentences: Sequence[Sentence], count_tokens: TokenCounter, budget: int) -> list[Sentence]:
    """``sentences`` with each one over ``budget`` word pieces cut into runs that fit.

    The model reads at most its input length and silently drops the rest, so a longer sentence
    (a 100,000-character line without a full stop) would be quoted whole but matched on its
    start alone. It is cut at clause marks (``;``, ``:``, ``,``, dashes), the clauses joined
    back while they fit; a clause that alone is too long is cut into runs of whole words. Each
    piece is an exact span of the text, so its quote is still verbatim.
    """
    lengths = list(count_tokens([text[s.start : s.end] for s in sentences]))
    out: list[Sentence] = []
    for sent, length in zip(sentences, lengths, strict=True):
        if length <= budget:
            out.append(sent)
            continue
        for start, end in _fit(text, _clauses(text, sent.start, sent.end), count_tokens, budget):
            out.append(Sentence(start=start, end=end, block=sent.block))
    return out


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The span cut after each clause mark, white space between the pieces left out."""
    pieces: list[tuple[int, int]] = []
    at = start
    for mark in _CLAUSE_END.finditer(text, start, end):
        cut = mark.end()
        if text[at:cut].strip():
            pieces.append(_trimmed(text, at, cut))
        at = cut
    if text[at:end].strip():
        pieces.append(_trimmed(text, at, end))
    return pieces


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    piece = text[start:end]
    return start + len(piece) - len(piece.lstrip()), start + len(piece.rstrip())


def _fit(text: str, pieces: list[tuple[int, int]], count_tokens: TokenCounter, budget: int) -> list[tuple[int, int]]:
    """Consecutive ``pieces`` joined greedily while they fit in ``budget``; a piece too long alone
    is cut into word runs first. Word pieces are counted per piece and added up: the tokenizer
    splits at white space, so a join costs the sum (never less)."""
    counts = list(count_tokens([text[s:e] for s, e in pieces]))
    units: list[tuple[int, int, int]] = []  # start, end, tokens
    for (s, e), n in zip(pieces, counts, strict=True):
        if n <= budget:
            units.append((s, e, n))
            continue
        words = [(m.start(), m.end()) for m in _TOKEN_RUN.finditer(text, s, e)]
        for (ws, we), wn in zip(words, count_tokens([text[a:b] for a, b in words]), strict=True):
            units.append((ws, we, min(wn, budget)))  # one word past the budget is a run of its own
    out: list[tuple[int, int]] = []
    used = 0
    for s, e, n in units:
        if out and used + n <= budget:
            out[-1] = (out[-1][0], e)
            used += n
        else:
            out.append((s, e))
            used = n
    return out
