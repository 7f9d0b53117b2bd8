"""Which encoder runs a model: ONNX Runtime when its folder allows, else sentence-transformers on torch."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..settings import default_onnx_cache
from .coalescing import CoalescingEmbedder
from .encoded import BatchHook, Encoded
from .model_folder import locate, read_spec, resolve_model
from .onnx_cache import onnx_file
from .onnx_encoder import OnnxEmbedder
from .torch_encoder import SentenceTransformerEmbedder

log = logging.getLogger("briefqa.embed")

# The threads each encoder of this process may use (``share_cores``); None: the runtime's default.
_threads: int | None = None


def load_embedder(name: str, onnx_cache: Path | None = None) -> OnnxEmbedder | SentenceTransformerEmbedder:
    """The model named by ``name`` (``BRIEFQA_MODEL``), loaded offline; ``ModelError`` if it can't be.

    On ONNX Runtime, with the file made from the folder's weights into ``onnx_cache`` the first
    time (``BRIEFQA_ONNX_CACHE``); on torch when the folder holds a module the ONNX encoder does
    not run or the export cannot be made, which a log line says.
    """
    target = resolve_model(name)
    looks_like_path = os.sep in target or target.startswith(".")
    if looks_like_path and not Path(target).exists():
        raise ModelError(f"model {name!r}: no such folder {target}")
    folder = locate(target)
    if folder is None:
        return SentenceTransformerEmbedder(name)  # which says why it cannot be loaded
    spec, why = read_spec(folder)
    if spec is None:
        log.info("model %s runs on torch: %s", name, why)
        return SentenceTransformerEmbedder(name)
    cache = onnx_cache or default_onnx_cache()
    for attempt in range(2):
        try:
            model, record = onnx_file(folder, cache)
        except ModelError as exc:
            log.warning("model %s runs on torch: %s", name, exc)
            break
        try:
            embedder = OnnxEmbedder(
                name, spec, model, int(record["dimension"]), threads=_threads, word_table=record.get("word_table")
            )
            embedder.onnx_cache = cache
            return embedder
        except Exception as exc:  # a cached file ONNX Runtime cannot read: made again, once
            log.warning("model %s: its ONNX file %s cannot be loaded (%s)", name, model, exc)
            if attempt == 0:
                (model.parent / "export.json").unlink(missing_ok=True)
    return SentenceTransformerEmbedder(name)


class LazyEmbedder:
    """The model named ``name``, loaded the first time something needs more than its name.

    ``briefqa index`` with nothing to do compares the corpus with the live version's manifest and
    stops: it never needs the model, whose load takes longer than the check. A model that cannot be
    loaded raises ``ModelError`` at that first use.
    """

    def __init__(self, name: str, onnx_cache: Path | None = None) -> None:
        self.name = name
        # Where the reader's ONNX file is kept too (answers.read).
        self.onnx_cache = onnx_cache
        self._inner: OnnxEmbedder | SentenceTransformerEmbedder | None = None

    @property
    def is_loaded(self) -> bool:
        """Whether something has needed the model yet."""
        return self._inner is not None

    @property
    def loaded(self) -> OnnxEmbedder | SentenceTransformerEmbedder:
        if self._inner is None:
            self._inner = load_embedder(self.name, self.onnx_cache)
        return self._inner

    @property
    def dimension(self) -> int:
        return self.loaded.dimension

    @property
    def max_tokens(self) -> int:
        return self.loaded.max_tokens

    def encode(self, texts: Sequence[str], progress: BatchHook | None = None) -> np.ndarray:
        return self.loaded.encode(texts, progress)

    def encode_full(self, texts: Sequence[str], progress: BatchHook | None = None, spans: bool = False) -> Encoded:
        return self.loaded.encode_full(texts, progress, spans)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.loaded.count_tokens(texts)

    def pieces(self) -> list[str]:
        return self.loaded.pieces()


def load_serving_embedder(name: str, onnx_cache: Path | None = None) -> CoalescingEmbedder:
    """The model for a server: concurrent questions share forward passes."""
    return CoalescingEmbedder(load_embedder(name, onnx_cache))


def share_cores(workers: int) -> None:
    """In one of ``workers`` server processes, encode on its share of the cores: with every
    worker using all of them, concurrent encodes would fight over the same cores. Call before
    the model loads (the ONNX session takes its thread count when it is made)."""
    global _threads
    _threads = max(1, (os.cpu_count() or 1) // workers)
    if "torch" in sys.modules:  # a model on torch in this process
        sys.modules["torch"].set_num_threads(_threads)
