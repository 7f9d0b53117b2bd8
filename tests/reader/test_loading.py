"""The shipped reader on ONNX Runtime: made from its weights once, checked against torch, kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from briefqa.errors import ModelError
from briefqa.reader import load_reader, shipped_reader_config
from briefqa.reader.export import TOLERANCE
from briefqa.reader.loading import SHIPPED

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the shipped reader, and a cache its ONNX file was made into (in a child process)."""
    root = tmp_path_factory.mktemp("reader")
    folder = root / "reader"
    shutil.copytree(SHIPPED, folder)
    assert load_reader(root / "cache", folder) is not None
    return folder, root / "cache"


def test_the_onnx_file_agrees_with_torch_and_is_kept(made: tuple[Path, Path]) -> None:
    folder, cache = made
    (record_file,) = cache.glob("*/export.json")
    record = json.loads(record_file.read_text())
    assert record["largest_difference"] <= TOLERANCE
    model = record_file.parent / "model.onnx"
    before = model.stat().st_mtime_ns
    load_reader(cache, folder)
    assert model.stat().st_mtime_ns == before  # not made again


def test_a_cut_onnx_file_is_made_again(made: tuple[Path, Path], tmp_path: Path) -> None:
    folder, cache = made
    copy = tmp_path / "cache"
    shutil.copytree(cache, copy)
    (model,) = copy.glob("*/model.onnx")
    model.write_bytes(model.read_bytes()[:1000])
    reader = load_reader(copy, folder)
    assert reader is not None and model.stat().st_size > 1000


def test_the_reader_prefers_the_sentence_that_answers_and_marks_the_answer(made: tuple[Path, Path]) -> None:
    reader = load_reader(made[1], made[0])
    assert reader is not None
    question = "How many lighthouses does the coast guard keep on the northern islands?"
    sentences = [
        "The coast guard keeps eleven lighthouses on the northern islands.",
        "Ferries to the northern islands run twice a day in summer.",
        "The lighthouse keepers' cottages were sold to a trust in 1998.",
    ]
    readings = reader.read(question, sentences)
    assert readings[0].answer > max(r.answer for r in readings[1:])
    assert readings[0].relevance > max(r.relevance for r in readings[1:])
    start, end = readings[0].span
    assert "eleven" in sentences[0][start:end]


def test_no_reader_is_none_and_another_format_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    assert load_reader(tmp_path / "cache", empty) is None
    other = tmp_path / "other"
    other.mkdir()
    (other / "reader.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(ModelError, match="format"):
        shipped_reader_config(other)


def test_reading_nothing_costs_no_run(made: tuple[Path, Path]) -> None:
    reader = load_reader(made[1], made[0])
    assert reader is not None and reader.read("Anything?", []) == ()
