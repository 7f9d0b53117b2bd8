"""The word-piece table shared by the encoder's and the reader's ONNX sessions (embed/word_table.py)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from briefqa.embed import OnnxEmbedder, resolve_model
from briefqa.embed.model_folder import read_spec
from briefqa.embed.word_table import TABLE, word_table

FOLDER = Path(resolve_model("all-MiniLM-L6-v2"))


def test_the_table_is_mapped_from_the_weights_read_only() -> None:
    table = word_table(FOLDER)
    assert table is not None and table.shape == (30522, 384) and table.dtype == np.float32
    assert not table.flags.writeable
    with (FOLDER / "model.safetensors").open("rb") as fh:
        (size,) = struct.unpack("<Q", fh.read(8))
        start = json.loads(fh.read(size))[TABLE]["data_offsets"][0]
        fh.seek(8 + size + start)
        first_row = np.frombuffer(fh.read(4 * 384), dtype="<f4")
    assert np.array_equal(table[0], first_row)


def test_weights_without_a_mappable_table_share_nothing(tmp_path: Path) -> None:
    assert word_table(tmp_path) is None
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    assert word_table(tmp_path) is None


@pytest.mark.slow
def test_an_encoder_on_the_shared_table_gives_the_same_vectors(embedder) -> None:  # type: ignore[no-untyped-def]
    """The session given the mapped table answers exactly as one that read its own copy."""
    record_files = list(Path(embedder.onnx_cache).glob("*/export.json"))
    record = next(json.loads(f.read_text()) for f in record_files if json.loads(f.read_text())["folder"] == str(FOLDER))
    assert record["word_table"], "the export found the folder's table in its ONNX file"
    spec, _ = read_spec(FOLDER)
    assert spec is not None
    model = next(f.parent / "model.onnx" for f in record_files if json.loads(f.read_text())["folder"] == str(FOLDER))
    own = OnnxEmbedder("own", spec, model, 384)
    shared = OnnxEmbedder("shared", spec, model, 384, word_table=record["word_table"])
    texts = ["Where does the ferry to the islands leave from?", "Ferries leave the old harbour at dawn."]
    assert np.array_equal(own.encode(texts), shared.encode(texts))
