"""Segments: one file per source, verified by its own footer, shared by versions; pieces in 64 bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from briefqa.index import segments, store
from briefqa.index.build import build_index
from briefqa.index.piece_codec import CODEC, Float16Codec, ProductCodec, ScalarCodec, codec_for, train_codebook
from briefqa.index.segment_file import SegmentError, SegmentFile, footer_problem, write_segment
from briefqa.settings import DEFAULT_MODEL

from ..conftest import CountingEmbedder, write_source


def test_a_segment_reads_back_what_was_written_and_rows_by_pread(tmp_path: Path) -> None:
    path = tmp_path / "x.seg"
    rows = np.arange(30, dtype=np.uint8).reshape(10, 3)
    write_segment(path, {"title": "ünï"}, {"rows": rows, "empty": np.zeros((0, 4), np.float16)})
    seg = SegmentFile(path)
    assert seg.meta == {"title": "ünï"} and footer_problem(path) is None
    assert np.array_equal(seg.array("rows"), rows) and seg.array("empty").shape == (0, 4)
    assert np.array_equal(seg.rows("rows", 2, 5), rows[2:5])
    with pytest.raises(SegmentError, match="out of range"):
        seg.rows("rows", 8, 11)
    with pytest.raises(SegmentError, match="no array"):
        seg.array("missing")
    assert not list(tmp_path.glob(".*")), "written under a temporary name, renamed whole"


def test_the_footer_catches_any_changed_byte_and_the_header_a_cut(tmp_path: Path) -> None:
    path = tmp_path / "x.seg"
    write_segment(path, {}, {"rows": np.ones((100, 8), np.float32)})
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    assert "altered" in (footer_problem(path) or "")
    path.write_bytes(bytes(data[: len(data) // 2]))
    assert footer_problem(path) is not None
    with pytest.raises(SegmentError, match="header says"):
        SegmentFile(path)
    path.write_bytes(b"something else entirely")
    with pytest.raises(SegmentError, match="not a segment"):
        SegmentFile(path)


def test_a_new_version_writes_only_the_changed_sources_segments(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    first = build_index(corpus, root, CountingEmbedder())
    folder = store.segment_dir(root, "fake-embedder")
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.seg")}
    write_source(corpus, "railways.md", "railways", year=2031)
    second = build_index(corpus, root, CountingEmbedder())
    after = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.seg")}
    new = set(after) - set(before)
    assert len(new) == 1, "one segment for the one changed source"
    assert all(after[n] == t for n, t in before.items()), "no kept segment was written again"
    refs = {
        v: store.Manifest.from_json(store.read_json(root / "versions" / v / "manifest.json")).segments
        for v in (first.version, second.version)
    }
    shared = {r.name for r in refs[first.version]} & {r.name for r in refs[second.version]}
    assert len(shared) == 2, "the versions share the unchanged sources' segments"
    # The version folder itself holds no vectors: only the manifest, the lexical index and checksums.
    assert {p.name for p in (root / "versions" / second.version).iterdir()} == {
        "manifest.json",
        "bm25",
        "doc_freq.json",
        "checksums.json",
    }


def test_a_build_trusts_stamps_only_of_untouched_segments(corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(corpus, root, CountingEmbedder())
    folder = store.segment_dir(root, "fake-embedder")
    assert (folder / segments.STAMPS).is_file()
    victim = sorted(folder.glob("*.seg"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))  # same size, new mtime: the stamp no longer matches
    segments._VERIFIED.clear()  # a new process: only what the stamps file says
    report = build_index(corpus, root, CountingEmbedder())
    assert report.published and any("damaged" in n for n in report.notes)


def test_float16_codec_is_exact_to_float16() -> None:
    codec = Float16Codec(8)
    rows = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    assert codec.width == 8 and codec.dtype == np.float16
    assert np.array_equal(codec.decode(codec.encode(rows)), rows.astype(np.float16).astype(np.float32))


def test_the_default_model_ships_a_4_bit_codebook() -> None:
    codec = codec_for(DEFAULT_MODEL, 384)
    assert CODEC == "sq4" and isinstance(codec, ScalarCodec)
    assert codec.width == 192 and codec.dtype == np.uint8, "4 bits a value: a quarter of float16"
    assert codec_for(DEFAULT_MODEL, 512).name.startswith("f16"), "a codebook of another dimension is not used"
    assert codec_for("some/other-model", 384).name == "f16x384"


def test_a_product_codebook_codes_a_piece_in_one_byte_a_slice() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(4000, 16)).astype(np.float32)
    codec = ProductCodec(train_codebook(vectors, "pq4"), "test")
    codes = codec.encode(vectors[:10])
    assert codes.shape == (10, 4) and codes.dtype == np.uint8
    decoded = codec.decode(codes)
    assert np.allclose(np.linalg.norm(decoded, axis=1), 1.0, atol=1e-5)
    unit = vectors[:10] / np.linalg.norm(vectors[:10], axis=1, keepdims=True)
    assert (decoded * unit).sum(axis=1).mean() > 0.5


@pytest.mark.slow
def test_coded_word_pieces_stay_close_to_the_model_s(embedder) -> None:  # type: ignore[no-untyped-def]
    codec = codec_for(embedder.name, embedder.dimension)
    text = (
        "The treaty obliges both parties to share early-warning data from their satellites, and "
        "commits Japan to fund two ground stations in Hokkaido before the end of the decade."
    )
    pieces = embedder.encode_full([text]).tokens[0]
    decoded = codec.decode(codec.encode(pieces))
    cosine = (decoded * pieces).sum(axis=1)
    assert np.allclose(np.linalg.norm(decoded, axis=1), 1.0, atol=1e-5)
    assert cosine.mean() > 0.98 and cosine.min() > 0.95
