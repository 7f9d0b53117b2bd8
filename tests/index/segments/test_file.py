"""A segment file: written whole, read back by pread, any changed byte caught by its footer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from briefqa.index.segments.file import SegmentError, SegmentFile, footer_problem, write_segment


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
