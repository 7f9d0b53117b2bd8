"""The shipped reader: its configuration, and its session on ONNX Runtime (made once, cached)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..embed.model_folder import resolve_model
from ..embed.onnx_cache import onnx_file
from ..errors import ModelError
from .onnx_reader import OnnxReader

# Where ``make fit`` writes the reader (training/fit_reader.py): its weights and reader.json.
SHIPPED = Path(__file__).resolve().parents[1] / "models" / "reader"
# The layout of reader.json this code reads.
FORMAT = 1


@lru_cache(maxsize=4)
def shipped_reader_config(folder: Path = SHIPPED) -> dict[str, Any] | None:
    """reader.json of the reader in ``folder``; None when none ships there."""
    try:
        config = json.loads((folder / "reader.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{folder / 'reader.json'}: cannot be read: {exc}") from None
    if config.get("format") != FORMAT:
        raise ModelError(f"{folder / 'reader.json'}: format {config.get('format')!r}, this briefqa reads {FORMAT}")
    return dict(config)


def base_folder(config: dict[str, Any]) -> Path:
    """The installed base model whose word-piece table and tokenizer the reader uses."""
    return Path(resolve_model(str(config["base_model"])))


def load_reader(cache: Path, folder: Path = SHIPPED, threads: int | None = None) -> OnnxReader | None:
    """The reader in ``folder`` on ONNX Runtime, its file made first into ``cache`` when missing
    or stale; None when no reader ships."""
    config = shipped_reader_config(folder)
    if config is None:
        return None
    model, record = onnx_file(folder, cache, maker="briefqa.reader.export")
    base = base_folder(config)
    name = record.get("word_table")
    table = (str(name), base) if name else None
    return OnnxReader(model, base / "tokenizer.json", int(config["max_pieces"]), threads, word_table=table)
