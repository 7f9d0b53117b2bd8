"""The reader on ONNX Runtime: one run over a question's candidates, their scores and spans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..embed.word_table import share_table
from .pairs import PairTokenizer, best_span


@dataclass(frozen=True, slots=True)
class Reading:
    """What the reader says of one candidate sentence for one question."""

    relevance: float  # orders a question's candidates (only its differences mean anything)
    answer: float  # the logit that the sentence answers the question
    # The answer inside the sentence as offsets of the sentence, and its score less marking none.
    span: tuple[int, int]
    span_margin: float


class OnnxReader:
    """The exported reader, its pair tokenizer, one session."""

    def __init__(
        self,
        model_file: Path,
        tokenizer_file: Path,
        max_pieces: int,
        threads: int | None = None,
        word_table: tuple[str, Path] | None = None,
    ) -> None:
        import onnxruntime as ort

        self.tokenizer = PairTokenizer(tokenizer_file, max_pieces)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        # As the encoder's session: a spinning pool takes the cores other requests need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # The base model's word-piece table (its initializer name, its folder), shared with the
        # encoder's session instead of a copy of its own (embed/word_table.py).
        self._shared = share_table(options, *word_table) if word_table else ()
        self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])

    def logits(self, questions: Sequence[str], sentences: Sequence[str]) -> tuple[np.ndarray, np.ndarray, object]:
        """The raw outputs for pairs: (pairs x 2) relevance and answer logits, (pairs x pieces x 2)
        span logits, and the tokenized batch."""
        pairs = self.tokenizer.pairs(questions, sentences)
        pair, span = self._session.run(
            None, {"input_ids": pairs.ids, "attention_mask": pairs.mask, "token_type_ids": pairs.type_ids}
        )
        return np.asarray(pair), np.asarray(span), pairs

    def read(self, question: str, sentences: Sequence[str]) -> tuple[Reading, ...]:
        """Each of ``sentences`` read beside ``question``, in one run."""
        if not sentences:
            return ()
        pair, span, pairs = self.logits([question] * len(sentences), sentences)
        out = []
        for row in range(len(sentences)):
            start, end, margin = best_span(pairs, row, span[row, :, 0], span[row, :, 1])  # type: ignore[arg-type]
            out.append(Reading(float(pair[row, 0]), float(pair[row, 1]), (start, end), margin))
        return tuple(out)
