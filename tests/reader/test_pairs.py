"""Pairs as the reader reads them: the base model's word pieces, and spans back to characters."""

from __future__ import annotations

import numpy as np
import pytest

from briefqa.embed import resolve_model
from briefqa.reader.pairs import MAX_ANSWER_PIECES, PairTokenizer, best_span


@pytest.fixture(scope="module")
def tokenizer() -> PairTokenizer:
    from pathlib import Path

    return PairTokenizer(Path(resolve_model("all-MiniLM-L6-v2")) / "tokenizer.json", 48)


def _logits(width: int, start: int, end: int, null: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    s, e = np.full(width, -5.0), np.full(width, -5.0)
    s[start], e[end] = 5.0, 5.0
    s[0] = e[0] = null
    return s, e


def test_the_pair_is_the_question_then_the_sentence(tokenizer: PairTokenizer) -> None:
    pairs = tokenizer.pairs(["Which river floods?"], ["The Mekong floods every autumn."])
    inside = pairs.in_sentence[0]
    assert inside.any() and not inside[0]
    # The sentence's pieces carry its own character offsets, from its first character.
    first = int(np.flatnonzero(inside)[0])
    assert pairs.starts[0, first] == 0
    assert pairs.type_ids[0, first] == 1 and pairs.type_ids[0, 1] == 0


def test_a_span_maps_to_its_pieces_and_back(tokenizer: PairTokenizer) -> None:
    sentence = "The Mekong floods every autumn, after the monsoon."
    start = sentence.index("every autumn")
    end = start + len("every autumn")
    pairs = tokenizer.pairs(["When does the Mekong flood?"], [sentence])
    pieces = tokenizer.span_pieces(pairs, 0, start, end)
    assert pieces is not None
    s, e = _logits(pairs.ids.shape[1], *pieces)
    a, b, margin = best_span(pairs, 0, s, e)
    assert sentence[a:b] == "every autumn"
    assert margin > 0


def test_padding_rows_and_short_pairs_do_not_move_offsets(tokenizer: PairTokenizer) -> None:
    long = "Rivers in the delta rise slowly, then quickly, and the floods last for weeks on end."
    pairs = tokenizer.pairs(["Why?", "How long do the floods last?"], ["Yes.", long])
    start = long.index("for weeks")
    pieces = tokenizer.span_pieces(pairs, 1, start, start + len("for weeks"))
    assert pieces is not None
    s, e = _logits(pairs.ids.shape[1], *pieces)
    a, b, _ = best_span(pairs, 1, s, e)
    assert long[a:b] == "for weeks"
    assert pairs.mask[0].sum() < pairs.mask[1].sum()


def test_an_answer_the_truncation_cut_has_no_pieces(tokenizer: PairTokenizer) -> None:
    sentence = " ".join(["word"] * 80) + " the very end"
    pairs = tokenizer.pairs(["Where is the end?"], [sentence])
    assert tokenizer.span_pieces(pairs, 0, sentence.index("the very end"), len(sentence)) is None


def test_a_question_that_fills_the_input_still_leaves_the_sentence_pieces(tokenizer: PairTokenizer) -> None:
    pairs = tokenizer.pairs([" ".join(["question"] * 200)], ["A short sentence."])
    assert pairs.ids.shape[1] <= tokenizer.max_pieces
    assert pairs.in_sentence[0].any()


def test_the_best_span_prefers_none_when_the_head_does(tokenizer: PairTokenizer) -> None:
    pairs = tokenizer.pairs(["Who?"], ["Nobody was named in the report."])
    s, e = _logits(pairs.ids.shape[1], 2, 3, null=20.0)
    assert best_span(pairs, 0, s, e)[2] < 0


def test_the_best_span_never_ends_before_it_starts_nor_runs_too_long(tokenizer: PairTokenizer) -> None:
    sentence = " ".join(f"w{i}" for i in range(40))
    pairs = tokenizer.pairs(["Which?"], [sentence])
    where = np.flatnonzero(pairs.in_sentence[0])
    s, e = np.zeros(pairs.ids.shape[1]), np.zeros(pairs.ids.shape[1])
    s[where[-1]], e[where[0]] = 9.0, 9.0  # the best start is after the best end
    a, b, _ = best_span(pairs, 0, s, e)
    assert a < b
    s, e = np.zeros(pairs.ids.shape[1]), np.zeros(pairs.ids.shape[1])
    s[where[0]], e[where[-1]] = 9.0, 9.0  # further apart than an answer may run
    a, b, _ = best_span(pairs, 0, s, e)
    pieces = tokenizer.span_pieces(pairs, 0, a, b)
    assert pieces is not None and pieces[1] - pieces[0] < MAX_ANSWER_PIECES
