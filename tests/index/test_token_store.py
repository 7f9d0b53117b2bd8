"""Per-sentence word-piece vectors on disk: written once, read a few sentences at a time."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from briefqa.errors import BriefqaError, IndexMismatchError
from briefqa.index.token_store import IDS, OFFSETS, TOKEN_DTYPE, TOKEN_FILES, VECTORS, TokenStore, write_tokens

DIM = 8


def _unit_rows(n: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, DIM))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


# Four sentences: 3 pieces, none (a sentence past the model's input, say), 2, and 4.
SENTENCES = [_unit_rows(3, 0), _unit_rows(0, 1), _unit_rows(2, 2), _unit_rows(4, 3)]
# Piece 7 ("the") is in every sentence that has pieces, 42 in one only; 5 twice in one sentence.
IDS_PER_SENTENCE = [np.array([7, 42, 5]), np.array([], dtype=np.int64), np.array([7, 5]), np.array([5, 7, 11, 5])]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_tokens(tmp_path, SENTENCES, IDS_PER_SENTENCE, DIM)
    return tmp_path


def test_the_files_and_their_types(folder: Path) -> None:
    assert TOKEN_FILES == (VECTORS, OFFSETS, IDS)
    assert all((folder / name).is_file() for name in TOKEN_FILES)
    vectors = np.load(folder / VECTORS)
    assert vectors.dtype == TOKEN_DTYPE and vectors.shape == (9, DIM)
    assert np.load(folder / OFFSETS).tolist() == [0, 3, 3, 5, 9]
    assert np.load(folder / IDS).dtype == np.int32


def test_rows_of_several_sentences_come_back_with_their_bounds(folder: Path) -> None:
    store = TokenStore(folder)
    assert store.dimension == DIM
    every = store.rows(0, 3)
    assert every.bounds.tolist() == [0, 3, 3, 5, 9]
    for i, rows in enumerate(SENTENCES):
        got = every.matrix[every.bounds[i] : every.bounds[i + 1]]
        assert np.array_equal(got, rows.astype(TOKEN_DTYPE)), i
    # A stretch in the middle: bounds start at 0 for its first sentence.
    middle = store.rows(1, 2)
    assert middle.bounds.tolist() == [0, 0, 2]
    assert np.array_equal(middle.matrix, SENTENCES[2].astype(TOKEN_DTYPE))
    empty = store.rows(1, 1)
    assert empty.matrix.shape == (0, DIM) and empty.bounds.tolist() == [0, 0]
    store.close()
    store.close()  # closing twice is harmless


def test_rarer_pieces_weigh_more(folder: Path) -> None:
    store = TokenStore(folder)
    idf = store.idf(np.array([7, 5, 42, 11, 999]))
    the, five, rare, eleven, unseen = idf.tolist()
    assert rare > the and eleven > five >= the
    assert rare == eleven, "each in one sentence"
    # Frequency counts sentences: 5 appears twice in the last one, yet in as many sentences as 7.
    assert five == the
    # A piece the corpus never has weighs the most there is.
    assert unseen == pytest.approx(store.max_idf()) and unseen > rare
    assert store.max_idf() == pytest.approx(math.log1p((4 + 1) / 0.5))


def test_offsets_that_disagree_with_the_vectors_are_refused_at_open(folder: Path) -> None:
    np.save(folder / OFFSETS, np.array([0, 3, 3, 5, 10]))
    with pytest.raises(IndexMismatchError, match=VECTORS) as err:
        TokenStore(folder)
    assert "briefqa index --full" in str(err.value)


def test_a_vector_file_cut_short_under_an_open_store_gives_a_clear_error(folder: Path) -> None:
    store = TokenStore(folder)
    assert len(store.rows(0, 0).matrix) == 3
    path = folder / VECTORS
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size - 2 * DIM * 2)  # the last two rows are gone
    assert len(store.rows(0, 2).matrix) == 5, "rows before the cut still read"
    with pytest.raises(IndexMismatchError) as err:
        store.rows(2, 3)
    assert isinstance(err.value, BriefqaError) and err.value.http_status == 503
    message = str(err.value)
    assert str(path) in message and "\n" not in message and "briefqa index --full" in message


def test_the_vectors_are_read_not_loaded_or_mapped(folder: Path) -> None:
    store = TokenStore(folder)
    rows = store.rows(0, 3)
    held = [v for v in vars(store).values() if isinstance(v, np.ndarray)] + [rows.matrix, rows.bounds]
    assert not any(isinstance(a, np.memmap) or isinstance(a.base, np.memmap) for a in held)
    assert not any(a.ndim == 2 for a in vars(store).values() if isinstance(a, np.ndarray)), "no vectors kept"
    maps = Path("/proc/self/maps")
    if maps.exists():
        assert str(folder / VECTORS) not in maps.read_text()


def test_no_sentences_at_all(tmp_path: Path) -> None:
    write_tokens(tmp_path, [], [], DIM)
    store = TokenStore(tmp_path)
    assert store.offsets.tolist() == [0]
    assert store.idf(np.array([3])).tolist() == [pytest.approx(store.max_idf())]


def test_vectors_that_disagree_with_their_offsets_are_refused(tmp_path: Path) -> None:
    write_tokens(tmp_path, SENTENCES, IDS_PER_SENTENCE, DIM)
    # One more row of vectors than the offsets account for (the ids agree with the offsets).
    rows = np.load(tmp_path / VECTORS)
    np.save(tmp_path / VECTORS, np.vstack([rows, rows[:1]]).astype(TOKEN_DTYPE))
    with pytest.raises(IndexMismatchError, match="does not match its offsets"):
        TokenStore(tmp_path)
    # Ids that disagree with the offsets.
    write_tokens(tmp_path, SENTENCES, IDS_PER_SENTENCE, DIM)
    np.save(tmp_path / IDS, np.load(tmp_path / IDS)[:-1])
    with pytest.raises(IndexMismatchError, match="does not match its offsets"):
        TokenStore(tmp_path)
