"""(question, sentence) pairs -> the reader's inputs, and its span logits -> offsets in the sentence.

Training and serving both tokenize here, with the base model's own ``tokenizer.json`` through
``tokenizers``: what the reader was fitted on is exactly what it reads when it serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The longest answer the span head may mark, in word pieces: SQuAD's answers are short phrases
# (measured on its 87,387 training answers: 99% are 24 pieces or fewer).
MAX_ANSWER_PIECES = 30


@dataclass(frozen=True, slots=True)
class Pairs:
    """One padded batch: a question beside each of several sentences."""

    ids: np.ndarray  # (pairs, pieces) int64
    type_ids: np.ndarray
    mask: np.ndarray
    # Per piece: its character offsets in the sentence, and whether it is one of the sentence's
    # (not the question's, not a special or padding piece).
    starts: np.ndarray
    ends: np.ndarray
    in_sentence: np.ndarray  # bool


class PairTokenizer:
    """The base model's word pieces for pairs: ``[CLS] question [SEP] sentence [SEP]``."""

    def __init__(self, tokenizer_file: Path, max_pieces: int) -> None:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.no_padding()
        # Longest first: a question long enough to fill the input alone must still leave the
        # sentence some pieces (only_second would refuse the pair).
        tokenizer.enable_truncation(max_pieces, strategy="longest_first")
        self._tokenizer = tokenizer
        self.max_pieces = max_pieces

    def pairs(self, questions: Sequence[str], sentences: Sequence[str]) -> Pairs:
        """The batch of ``questions[i]`` beside ``sentences[i]``, padded to its longest pair."""
        encoded = self._tokenizer.encode_batch(list(zip(questions, sentences, strict=True)))
        width = max((len(e.ids) for e in encoded), default=0)
        shape = (len(encoded), width)
        ids, type_ids, mask = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape, np.int64)
        starts, ends = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
        inside = np.zeros(shape, bool)
        for i, e in enumerate(encoded):
            n = len(e.ids)
            ids[i, :n], type_ids[i, :n], mask[i, :n] = e.ids, e.type_ids, e.attention_mask
            offsets = np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2)
            starts[i, :n], ends[i, :n] = offsets[:, 0], offsets[:, 1]
            inside[i, :n] = [s == 1 for s in e.sequence_ids]
        return Pairs(ids, type_ids, mask, starts, ends, inside)

    def span_pieces(self, pairs: Pairs, row: int, start: int, end: int) -> tuple[int, int] | None:
        """The first and last piece of ``row``'s sentence covering characters ``start:end`` of it;
        None when the span lies (partly) in what the truncation cut."""
        where = np.flatnonzero(pairs.in_sentence[row])
        if not len(where):
            return None
        s, e = pairs.starts[row, where], pairs.ends[row, where]
        first = where[e > start]
        last = where[s < end]
        if not len(first) or not len(last) or pairs.ends[row, where[-1]] < end:
            return None
        a, b = int(first[0]), int(last[-1])
        return (a, b) if a <= b else None


def best_span(pairs: Pairs, row: int, start_logits: np.ndarray, end_logits: np.ndarray) -> tuple[int, int, float]:
    """The highest-scoring answer inside ``row``'s sentence as character offsets of the sentence,
    with its score less the no-answer score (the first piece's): positive when the head prefers
    that span to marking none."""
    inside = pairs.in_sentence[row]
    where = np.flatnonzero(inside)
    if not len(where):
        return 0, 0, -np.inf
    s = np.where(inside, start_logits, -np.inf)
    e = np.where(inside, end_logits, -np.inf)
    # Every (start, end) with start <= end < start + MAX_ANSWER_PIECES, scored at once.
    grid = s[:, None] + e[None, :]
    offset = np.arange(len(s))
    allowed = (offset[None, :] >= offset[:, None]) & (offset[None, :] < offset[:, None] + MAX_ANSWER_PIECES)
    grid = np.where(allowed, grid, -np.inf)
    a, b = np.unravel_index(int(np.argmax(grid)), grid.shape)
    null = float(start_logits[0] + end_logits[0])
    return int(pairs.starts[row, a]), int(pairs.ends[row, b]), float(grid[a, b]) - null
