"""The encoder on torch: sentence-transformers running its model folder as it is.

What the ONNX export is made and checked against, and what runs a model the ONNX encoder cannot
(a module it does not reproduce, an export that failed its check). Importing this module costs
nothing; making an encoder imports torch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from ..settings import DEFAULT_MODEL
from .encoded import BatchHook, Encoded
from .model_folder import resolve_model


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded offline, producing L2-normalised float32 rows."""

    def __init__(self, name: str = DEFAULT_MODEL, batch_size: int = 32) -> None:
        target = resolve_model(name)
        looks_like_path = os.sep in target or target.startswith(".")
        if looks_like_path and not Path(target).exists():
            raise ModelError(f"model {name!r}: no such folder {target}")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            # The weight-loading bar is noise on every start of every command.
            hf_logging.disable_progress_bar()

            self._model = SentenceTransformer(target, device="cpu", local_files_only=True)
        except Exception as exc:
            raise ModelError(
                f"model {name!r} cannot be loaded offline ({type(exc).__name__}); set BRIEFQA_MODEL "
                "to a sentence-transformers model folder or a model already in the local cache"
            ) from exc
        self.name = name
        dim = (
            self._model.get_embedding_dimension()
            if hasattr(self._model, "get_embedding_dimension")
            else self._model.get_sentence_embedding_dimension()
        )
        if not dim:
            raise ModelError(f"model {name!r} does not say its embedding dimension")
        self.dimension = int(dim)
        max_tokens = getattr(self._model, "max_seq_length", None)
        if not max_tokens:
            raise ModelError(f"model {name!r} does not say its maximum input length (max_seq_length)")
        self.max_tokens = int(max_tokens)
        self.batch_size = batch_size
        # Word pieces worth matching one by one: not the special tokens, not bare punctuation.
        try:
            specials = set(self._model.tokenizer.all_special_ids)
            self._pieces = self._model.tokenizer.convert_ids_to_tokens(list(range(len(self._model.tokenizer))))
        except (AttributeError, TypeError) as exc:
            raise ModelError(f"model {name!r} has no word-piece tokenizer to give its vocabulary ({exc})") from None
        self._matchable = np.array(
            [i not in specials and any(ch.isalnum() for ch in piece) for i, piece in enumerate(self._pieces)],
            dtype=bool,
        )

    @property
    def sentence_transformer(self) -> Any:
        """The model itself (the ONNX export is made from its transformer)."""
        return self._model

    def encode(self, texts: Sequence[str], progress: BatchHook | None = None) -> np.ndarray:
        """Unit vectors for ``texts`` (shape ``len(texts) x dimension``), in batches."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if progress is None or len(texts) <= self.batch_size:
            out = self._encode(list(texts))
            if progress:
                progress(len(texts))
            return out
        parts = []
        for i in range(0, len(texts), self.batch_size * 8):
            batch = list(texts[i : i + self.batch_size * 8])
            parts.append(self._encode(batch))
            progress(len(batch))
        return np.vstack(parts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_full(self, texts: Sequence[str], progress: BatchHook | None = None, spans: bool = False) -> Encoded:
        """Unit vectors and word-piece vectors of ``texts``, from the same forward pass."""
        vectors: list[np.ndarray] = []
        tokens: list[np.ndarray] = []
        ids: list[np.ndarray] = []
        where: list[np.ndarray] = []
        raw: list[np.ndarray] = []
        raw_where: list[np.ndarray] = []
        step = self.batch_size * 8
        for i in range(0, len(texts), step):
            batch = list(texts[i : i + step])
            outputs: list[dict[str, Any]] = self._model.encode(  # type: ignore[assignment]
                batch, batch_size=self.batch_size, output_value=None, show_progress_bar=False
            )
            offsets = (
                self._model.tokenizer(batch, return_offsets_mapping=True, truncation=True, max_length=self.max_tokens)[
                    "offset_mapping"
                ]
                if spans
                else None
            )
            for n, out in enumerate(outputs):
                # Rows past the attention mask are the batch's padding.
                length = int(out["attention_mask"].sum())
                piece_ids = out["input_ids"].numpy()[:length]
                keep = self._matchable[piece_ids]
                embedded = out["token_embeddings"].numpy()[:length]
                if offsets is not None:
                    mapping = np.asarray(offsets[n], dtype=np.int64).reshape(-1, 2)
                    if len(mapping) != len(piece_ids):
                        raise ModelError(f"model {self.name!r}: its tokenizer and its encoder disagree")
                    where.append(mapping[keep])
                    real = mapping[:, 1] > mapping[:, 0]  # special tokens cover no characters
                    raw.append(embedded[real].astype(np.float32))
                    raw_where.append(mapping[real])
                rows = embedded[keep].astype(np.float32)
                rows /= np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
                tokens.append(rows)
                ids.append(piece_ids[keep].astype(np.int32))
                vec = out["sentence_embedding"].numpy().astype(np.float32)
                vectors.append(vec / max(float(np.linalg.norm(vec)), 1e-12))
            if progress:
                progress(len(batch))
        matrix = np.vstack(vectors) if vectors else np.zeros((0, self.dimension), dtype=np.float32)
        if not spans:
            return Encoded(np.ascontiguousarray(matrix, dtype=np.float32), tokens, ids)
        return Encoded(np.ascontiguousarray(matrix, dtype=np.float32), tokens, ids, where, raw, raw_where)

    def pieces(self) -> list[str]:
        """Every word piece of the tokenizer, indexed by its id."""
        return list(self._pieces)

    def vocabulary(self) -> list[str]:
        """The tokenizer's whole-word entries, in its own order (the benchmarks' and the training
        scripts' source of words; the searcher needs only ``pieces``)."""
        vocab = self._model.tokenizer.get_vocab()
        return [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if w.isalpha() and not w.startswith("##")]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces each text costs the model (without special tokens)."""
        if not texts:
            return []
        encoded = self._model.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]
