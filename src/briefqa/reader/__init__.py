"""The reader: a question with each candidate sentence -> how well it answers, and where.

A shared model, as ``embed`` is: the answer path's read stage (``answers/read.py``) asks it, and
``make fit`` trains it (``training/fit_reader.py``). One pass of a small cross-encoder (the first
layers of the shipped all-MiniLM-L6-v2, fine-tuned on SQuAD) gives three things a sentence: a
relevance score that re-ranks a question's candidates, a logit that the sentence answers, and the
start and end of the answer inside it (SQuAD 2.0's span-plus-no-answer formulation). Its fitted
weights ship in ``briefqa/models/reader/`` (the frozen word-piece table is the base model's own,
not shipped twice); serving runs them on ONNX Runtime (``onnx_reader``), the file made from them
by torch in a child process (``export``) and kept in ``BRIEFQA_ONNX_CACHE``. Importing this
package imports neither torch nor transformers; ``network`` does, and only training and the
export import it.
"""

from __future__ import annotations

from .loading import load_reader, shipped_reader_config
from .onnx_reader import OnnxReader, Reading
from .pairs import Pairs, PairTokenizer

__all__ = ["OnnxReader", "PairTokenizer", "Pairs", "Reading", "load_reader", "shipped_reader_config"]
