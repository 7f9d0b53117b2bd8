"""Texts -> unit vectors, with the sentence-transformers model named by ``BRIEFQA_MODEL``.

A shared module of every stage (the index builds with it, the answers encode questions with it):
it imports only the other shared modules (records, errors, settings), never a stage. The model
runs on ONNX Runtime (``onnx_encoder``), its file made from the folder's own weights by torch in a
child process (``onnx_export``, kept by ``onnx_cache``), or, when the folder holds what that
encoder does not run, on sentence-transformers (``torch_encoder``). Importing this package
imports neither torch nor transformers.
"""

from __future__ import annotations

import os

# torch reads these once, at import: spinning OpenMP threads make every encode on a busy 2-core
# machine dozens of times slower, and the hub must never be asked for weights.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from .coalescing import CoalescingEmbedder
from .encoded import BatchHook, Embedder, Encoded
from .loading import LazyEmbedder, load_embedder, load_serving_embedder, share_cores
from .model_folder import resolve_model
from .onnx_encoder import OnnxEmbedder
from .torch_encoder import SentenceTransformerEmbedder

__all__ = [
    "BatchHook",
    "CoalescingEmbedder",
    "Embedder",
    "Encoded",
    "LazyEmbedder",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "load_embedder",
    "load_serving_embedder",
    "resolve_model",
    "share_cores",
]
