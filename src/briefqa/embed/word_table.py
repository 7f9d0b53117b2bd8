"""The base model's word-piece table, read once and shared by every ONNX session that holds it.

The encoder's ONNX file and the reader's each hold the same 30,522 x 384 table (47 MB in float32:
the reader keeps the base model's own, frozen). A session would deserialize its own copy; given
the table instead (``SessionOptions.add_initializer``), it uses that one. The table is
memory-mapped from the model folder's ``model.safetensors``, read-only, so the page cache holds
it once for every session of every process (``serve --workers N`` shares it too). An export
records the table's initializer name only when its values are the folder's, bit for bit.
"""

from __future__ import annotations

import json
import struct
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

TABLE = "embeddings.word_embeddings.weight"


@lru_cache(maxsize=4)
def word_table(folder: Path) -> np.ndarray | None:
    """The folder's word-piece table, memory-mapped (float32); None when its weights hold none
    that can be mapped (another format, another type)."""
    path = folder / "model.safetensors"
    try:
        with path.open("rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            entry = json.loads(fh.read(size))[TABLE]
        if entry["dtype"] != "F32":
            return None
        start, end = entry["data_offsets"]
        shape = tuple(int(n) for n in entry["shape"])
        if end - start != 4 * int(np.prod(shape)):
            return None
        return np.memmap(path, dtype="<f4", mode="r", offset=8 + size + start, shape=shape)
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None


def initializer_name(model: Any, folder: Path) -> str | None:
    """The name of ``model``'s (an ``onnx.ModelProto``) initializer that is ``folder``'s table,
    value for value; None when it holds none."""
    from onnx import numpy_helper

    table = word_table(folder)
    if table is None:
        return None
    for init in model.graph.initializer:
        if init.name.endswith(TABLE) and tuple(init.dims) == table.shape:
            return str(init.name) if np.array_equal(numpy_helper.to_array(init), table) else None
    return None


def share_table(options: Any, name: str | None, folder: Path) -> tuple[Any, ...]:
    """Hand ``folder``'s table to a session's ``options`` as its initializer ``name``; returns
    what must live as long as the session (nothing when there is no table to share)."""
    table = word_table(folder) if name else None
    if table is None or name is None:
        return ()
    import onnxruntime as ort

    value = ort.OrtValue.ortvalue_from_numpy(table)
    options.add_initializer(name, value)
    return (table, value)
