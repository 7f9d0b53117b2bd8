"""The encoder on ONNX Runtime: the model's transformer exported to ONNX, its tokenizer from ``tokenizers``.

It gives what sentence-transformers gives for the same folder (the same word pieces, vectors
within float rounding: the export is checked so), and imports neither torch nor transformers:
serving and a build with the ONNX file made load in a fraction of the time and memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .encoded import BatchHook, Encoded
from .model_folder import ModelSpec
from .word_table import share_table


def _pool(hidden: np.ndarray, mask: np.ndarray, how: str) -> np.ndarray:
    """One row per text from its tokens' rows, as sentence-transformers' ``Pooling`` does."""
    if how == "cls":
        return hidden[:, 0]
    weights = mask[:, :, None].astype(hidden.dtype)
    if how == "max":
        return np.where(weights > 0, hidden, np.float32(-1e9)).max(axis=1)
    total = (hidden * weights).sum(axis=1)
    count = np.maximum(weights.sum(axis=1), 1e-9)
    return total / (np.sqrt(count) if how == "mean_sqrt_len" else count)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


class OnnxEmbedder:
    """One model folder's pipeline: tokenizer, the exported transformer, pooling, unit vectors."""

    # The cache its file came from, where the reader's is kept too (answers.read).
    onnx_cache: Path | None = None

    def __init__(
        self,
        name: str,
        spec: ModelSpec,
        model_file: Path,
        dimension: int,
        threads: int | None = None,
        batch_size: int = 32,
        word_table: str | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name
        self.dimension = dimension
        self.max_tokens = spec.max_tokens
        self.batch_size = batch_size
        self._spec = spec
        tokenizer = Tokenizer.from_file(str(spec.tokenizer))
        # The file's own padding and truncation (a fixed 128 for MiniLM's) are not what
        # sentence-transformers runs: it pads to the batch's longest and cuts at max_seq_length.
        self._pad_id = int((tokenizer.padding or {}).get("pad_id", 0))
        tokenizer.no_padding()
        self._counter = Tokenizer.from_str(tokenizer.to_str())
        self._counter.no_truncation()
        tokenizer.enable_truncation(spec.max_tokens)
        self._tokenizer = tokenizer
        size = tokenizer.get_vocab_size(with_added_tokens=True)
        self._pieces = [tokenizer.id_to_token(i) or "" for i in range(size)]
        specials = {i for i, t in tokenizer.get_added_tokens_decoder().items() if t.special}
        # Word pieces worth matching one by one: not the special tokens, not bare punctuation.
        self._matchable = np.array(
            [i not in specials and any(ch.isalnum() for ch in piece) for i, piece in enumerate(self._pieces)],
            dtype=bool,
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        # A spinning pool on a busy machine takes cores from every other process (torch's
        # OMP_WAIT_POLICY=PASSIVE, for the same reason).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # The word-piece table from the folder's own weights, shared with the reader's session.
        self._shared = share_table(options, word_table, spec.folder)
        self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def _texts(self, texts: Sequence[str]) -> list[str]:
        return [t.lower() for t in texts] if self._spec.lowercase else list(texts)

    def _forward(self, texts: list[str]) -> tuple[list[Any], np.ndarray, np.ndarray]:
        """Encodings of ``texts`` and the model's rows for them (padded to the longest)."""
        encodings = self._tokenizer.encode_batch(self._texts(texts))
        longest = max(len(e.ids) for e in encodings)
        ids = np.full((len(texts), longest), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(texts), longest), dtype=np.int64)
        types = np.zeros((len(texts), longest), dtype=np.int64)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
            types[i, : len(e.ids)] = e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        return encodings, np.asarray(hidden, dtype=np.float32), mask

    def _batches(self, texts: Sequence[str]) -> list[list[int]]:
        """Positions of ``texts`` in batches of like length: padding costs as much as text."""
        lengths = [len(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def encode(self, texts: Sequence[str], progress: BatchHook | None = None) -> np.ndarray:
        """Unit vectors for ``texts`` (shape ``len(texts) x dimension``), in batches."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        step = self.batch_size * 8
        for start in range(0, len(texts), step):
            part = list(texts[start : start + step])
            for batch in self._batches(part):
                _, hidden, mask = self._forward([part[i] for i in batch])
                out[[start + i for i in batch]] = _unit(_pool(hidden, mask, self._spec.pooling))
            if progress:
                progress(len(part))
        return out

    def encode_full(self, texts: Sequence[str], progress: BatchHook | None = None, spans: bool = False) -> Encoded:
        """Unit vectors and word-piece vectors of ``texts``, from the same forward pass."""
        n = len(texts)
        vectors = np.zeros((n, self.dimension), dtype=np.float32)
        tokens: list[np.ndarray] = [np.zeros((0, self.dimension), np.float32)] * n
        ids: list[np.ndarray] = [np.zeros(0, np.int32)] * n
        where: list[np.ndarray] = [np.zeros((0, 2), np.int64)] * n
        raw: list[np.ndarray] = [np.zeros((0, self.dimension), np.float32)] * n
        raw_where: list[np.ndarray] = [np.zeros((0, 2), np.int64)] * n
        step = self.batch_size * 8
        for start in range(0, n, step):
            part = list(texts[start : start + step])
            for batch in self._batches(part):
                encodings, hidden, mask = self._forward([part[i] for i in batch])
                pooled = _unit(_pool(hidden, mask, self._spec.pooling))
                for row, i in enumerate(batch):
                    at = start + i
                    e = encodings[row]
                    piece_ids = np.asarray(e.ids, dtype=np.int64)
                    keep = self._matchable[piece_ids]
                    embedded = hidden[row, : len(piece_ids)]
                    if spans:
                        mapping = np.asarray(e.offsets, dtype=np.int64).reshape(-1, 2)
                        where[at] = mapping[keep]
                        real = mapping[:, 1] > mapping[:, 0]  # special tokens cover no characters
                        raw[at] = np.ascontiguousarray(embedded[real])
                        raw_where[at] = mapping[real]
                    tokens[at] = _unit(embedded[keep]).astype(np.float32)
                    ids[at] = piece_ids[keep].astype(np.int32)
                    vectors[at] = pooled[row]
            if progress:
                progress(len(part))
        if not spans:
            return Encoded(vectors, tokens, ids)
        return Encoded(vectors, tokens, ids, where, raw, raw_where)

    def pieces(self) -> list[str]:
        """Every word piece of the tokenizer, indexed by its id."""
        return list(self._pieces)

    def vocabulary(self) -> list[str]:
        """The tokenizer's whole-word entries, in its own order (the benchmarks' and the training
        scripts' source of words; the searcher needs only ``pieces``)."""
        vocab = self._tokenizer.get_vocab(with_added_tokens=True)
        return [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if w.isalpha() and not w.startswith("##")]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces each text costs the model (without special tokens)."""
        if not texts:
            return []
        return [len(e.ids) for e in self._counter.encode_batch(self._texts(texts), add_special_tokens=False)]
