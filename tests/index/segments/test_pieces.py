"""Per-sentence word-piece vectors in segments: written once, read a few sentences at a time."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from briefqa.errors import BriefqaError, IndexMismatchError
from briefqa.index.segments.codec import Float16Codec
from briefqa.index.segments.pieces import PieceSource, TokenStore
from briefqa.index.segments.store import read_source, write_source
from briefqa.records import Chunk, Document, Sentence

DIM = 8
CODEC = Float16Codec(DIM)


def _unit_rows(n: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, DIM))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


# Four sentences: 3 pieces, none (a sentence past the model's input, say), 2, and 4.
SENTENCES = [_unit_rows(3, 0), _unit_rows(0, 1), _unit_rows(2, 2), _unit_rows(4, 3)]
# Piece 7 ("the") is in every sentence that has pieces, 42 in one only; 5 twice in one sentence.
IDS_PER_SENTENCE = [np.array([7, 42, 5]), np.array([], dtype=np.int64), np.array([7, 5]), np.array([5, 7, 11, 5])]


def _write(path: Path, pieces: list[np.ndarray], ids: list[np.ndarray]) -> Path:
    """A segment of a made-up source with one sentence per entry of ``pieces``."""
    text = " ".join(f"Sentence {i}." for i in range(len(pieces)))
    sents = [Sentence(12 * i, 12 * i + 11, 0) for i in range(len(pieces))]
    chunks = [Chunk(0, len(text), "", 0, len(pieces) - 1)] if pieces else []
    doc = Document("doc", "doc.md", "Doc", None, text, "hash")
    write_source(
        path,
        doc,
        sents,
        [(s.start, s.end) for s in sents],
        chunks,
        np.zeros((len(chunks), DIM), np.float32),
        np.zeros((len(sents), DIM), np.float32),
        pieces,
        ids,
        CODEC,
        [["sentenc"] for _ in chunks],
    )
    return path


def _store(*paths: Path) -> TokenStore:
    sources = []
    for path in paths:
        seg = read_source(path)
        sources.append(PieceSource(seg.file, seg.piece_offsets, seg.piece_blocks, seg.piece_df, CODEC))
    return TokenStore(sources, DIM)


@pytest.fixture
def segment(tmp_path: Path) -> Path:
    return _write(tmp_path / "a.seg", SENTENCES, IDS_PER_SENTENCE)


def test_rows_of_several_sentences_come_back_with_their_bounds(segment: Path) -> None:
    store = _store(segment)
    assert store.dimension == DIM and store.sentences == 4
    every = store.rows(0, 3)
    assert every.bounds.tolist() == [0, 3, 3, 5, 9]
    for i, rows in enumerate(SENTENCES):
        got = every.matrix[every.bounds[i] : every.bounds[i + 1]]
        assert np.array_equal(got, rows.astype(np.float16).astype(np.float32)), i
    # A stretch in the middle: bounds start at 0 for its first sentence.
    middle = store.rows(1, 2)
    assert middle.bounds.tolist() == [0, 0, 2]
    assert np.allclose(middle.matrix, SENTENCES[2], atol=1e-3)
    empty = store.rows(1, 1)
    assert empty.matrix.shape == (0, DIM) and empty.bounds.tolist() == [0, 0]


def test_sentences_are_numbered_across_segments(segment: Path, tmp_path: Path) -> None:
    second = _write(tmp_path / "b.seg", SENTENCES[2:], IDS_PER_SENTENCE[2:])
    store = _store(segment, second)
    assert store.sentences == 6
    tail = store.rows(4, 5)
    assert tail.bounds.tolist() == [0, 2, 6]
    assert np.allclose(tail.matrix, np.vstack(SENTENCES[2:]), atol=1e-3)
    # A run across the two segments reads from both, in order.
    across = store.rows(3, 4)
    assert across.bounds.tolist() == [0, 4, 6]
    assert np.allclose(across.matrix, np.vstack([SENTENCES[3], SENTENCES[2]]), atol=1e-3)


def test_rarer_pieces_weigh_more(segment: Path) -> None:
    store = _store(segment)
    idf = store.idf(np.array([7, 5, 42, 11, 999]))
    the, five, rare, eleven, unseen = idf.tolist()
    assert rare > the and eleven > five >= the
    assert rare == eleven, "each in one sentence"
    # Frequency counts sentences: 5 appears twice in the last one, yet in as many sentences as 7.
    assert five == the
    # A piece the corpus never has weighs the most there is.
    assert unseen == pytest.approx(store.max_idf()) and unseen > rare
    assert store.max_idf() == pytest.approx(math.log1p((4 + 1) / 0.5))


def test_a_segment_cut_short_under_an_open_store_gives_a_clear_error(segment: Path) -> None:
    store = _store(segment)
    assert len(store.rows(0, 0).matrix) == 3
    with open(segment, "r+b") as fh:
        fh.truncate(segment.stat().st_size // 3)
    with pytest.raises(IndexMismatchError) as err:
        store.rows(2, 3)
    assert isinstance(err.value, BriefqaError) and err.value.http_status == 503
    message = str(err.value)
    assert segment.name in message and "\n" not in message and "briefqa index" in message


def test_the_vectors_are_read_not_loaded_or_mapped(segment: Path) -> None:
    store = _store(segment)
    rows = store.rows(0, 3)
    held = [v for v in vars(store).values() if isinstance(v, np.ndarray)] + [rows.matrix, rows.bounds]
    assert not any(isinstance(a, np.memmap) or isinstance(a.base, np.memmap) for a in held)
    maps = Path("/proc/self/maps")
    if maps.exists():
        assert str(segment) not in maps.read_text()


def test_no_sentences_at_all(tmp_path: Path) -> None:
    store = _store(_write(tmp_path / "empty.seg", [], []))
    assert store.sentences == 0
    assert store.idf(np.array([3])).tolist() == [pytest.approx(store.max_idf())]
    assert _store().sentences == 0


def test_compressed_blocks_give_back_every_code_bit_for_bit_across_passages(tmp_path: Path) -> None:
    """The pieces are stored compressed, one block per passage; any run of sentences, inside one
    passage or across several, reads back exactly what the codec wrote (so no answer can move)."""
    from briefqa.index.segments.codec import codec_for

    dim = 384
    codec = codec_for("sentence-transformers/all-MiniLM-L6-v2", dim)
    assert codec.name.startswith("sq4")
    rng = np.random.default_rng(5)
    counts = [4, 0, 7, 3, 5, 1, 6]
    pieces = [rng.normal(size=(n, dim)).astype(np.float32) for n in counts]
    text = " ".join(f"Sentence {i}." for i in range(len(counts)))
    sents = [Sentence(12 * i, 12 * i + 11, 0) for i in range(len(counts))]
    # Three passages: sentences 0-1, 2-4, 5-6.
    chunks = [Chunk(0, 23, "", 0, 1), Chunk(24, 59, "", 2, 4), Chunk(60, len(text), "", 5, 6)]
    path = tmp_path / "s.seg"
    write_source(
        path,
        Document("doc", "doc.md", "Doc", None, text, "hash"),
        sents,
        [(s.start, s.end) for s in sents],
        chunks,
        np.zeros((3, dim), np.float32),
        np.zeros((len(sents), dim), np.float32),
        pieces,
        [np.arange(n) for n in counts],
        codec,
        [["sentenc"]] * 3,
    )
    seg = read_source(path)
    assert seg.piece_blocks[:, 0].tolist() == [0, 2, 5, 7]
    store = TokenStore([PieceSource(seg.file, seg.piece_offsets, seg.piece_blocks, seg.piece_df, codec)], dim)
    for first in range(len(counts)):
        for last in range(first, len(counts)):
            got = store.rows(first, last)
            want = [codec.decode(codec.encode(p)) for p in pieces[first : last + 1]]
            assert np.array_equal(got.matrix, np.vstack(want)), (first, last)
            assert np.diff(got.bounds).tolist() == counts[first : last + 1]


def test_a_damaged_block_is_an_error_naming_the_file(segment: Path) -> None:
    seg = read_source(segment)
    # The blocks' table says more bytes than the block holds: what a bad block reads as.
    blocks = seg.piece_blocks.copy()
    blocks[1:, 1] -= 1
    store = TokenStore([PieceSource(seg.file, seg.piece_offsets, blocks, seg.piece_df, CODEC)], DIM)
    with pytest.raises(IndexMismatchError, match=segment.name):
        store.rows(0, 3)


def test_a_segment_of_format_4_is_not_misread(segment: Path) -> None:
    """Format 4 wrote its header as plain JSON after ``BQSEG01``: such a file is no segment now."""
    from briefqa.index.segments.file import SegmentError, SegmentFile

    raw = bytearray(segment.read_bytes())
    raw[:8] = b"BQSEG01\n"
    segment.write_bytes(bytes(raw))
    with pytest.raises(SegmentError, match="not a segment file"):
        SegmentFile(segment)


def test_sentence_vectors_are_read_a_run_at_a_time_across_segments(tmp_path: Path) -> None:
    """A server reads its candidates' sentence vectors from the segments (the page cache holds
    them once for every worker) instead of each worker holding a copy of all of them."""
    written = []
    sources = []
    for n, name in ((3, "a.seg"), (2, "b.seg")):
        text = " ".join(f"Sentence {i}." for i in range(n))
        sents = [Sentence(12 * i, 12 * i + 11, 0) for i in range(n)]
        vectors = _unit_rows(n, 10 + n)
        write_source(
            tmp_path / name,
            Document(name, f"{name}.md", name, None, text, name),
            sents,
            [(s.start, s.end) for s in sents],
            [Chunk(0, len(text), "", 0, n - 1)],
            np.zeros((1, DIM), np.float32),
            vectors,
            [_unit_rows(1, i) for i in range(n)],
            [np.array([i]) for i in range(n)],
            CODEC,
            [["sentenc"]],
        )
        written.append(vectors.astype(np.float16).astype(np.float32))
        seg = read_source(tmp_path / name, vectors=False)
        assert seg.sentence_vectors is None
        sources.append(PieceSource(seg.file, seg.piece_offsets, seg.piece_blocks, seg.piece_df, CODEC))
    store = TokenStore(sources, DIM)
    every = np.vstack(written)
    assert np.array_equal(store.sentence_vectors(0, 4), every)
    assert np.array_equal(store.sentence_vectors(2, 3), every[2:4])  # across the two segments
    assert store.sentence_vectors(3, 2).shape == (0, DIM)
    held = [v for v in vars(store).values() if isinstance(v, np.ndarray)]
    assert sum(a.nbytes for a in held) < every.nbytes
