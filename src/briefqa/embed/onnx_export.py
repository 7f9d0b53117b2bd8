"""The ONNX file made from a model folder's own weights with torch, and checked against them.

Run as ``python -m briefqa.embed.onnx_export FOLDER WHERE`` by ``onnx_cache`` in a child process,
so that the process asking for the file (a server) never imports torch. The export takes padded
example inputs with dynamic batch and sequence axes; the file is kept only when, on padded
batches of probe sentences, the ONNX encoder gives the same word pieces as sentence-transformers
and every vector (text, word piece, and the raw rows pooled for stretches) has a cosine of at
least ``AGREEMENT`` with torch's: an index built on either runtime stays valid on the other.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError
from .model_folder import ModelSpec, read_spec
from .onnx_cache import write_record
from .onnx_encoder import OnnxEmbedder
from .torch_encoder import SentenceTransformerEmbedder

AGREEMENT = 0.9999
# Probe sentences of many lengths (one past any model's input length), with padding between
# them in every batch: how the exported graph treats padding is what this checks.
PROBES = [
    "Hi.",
    "Where is the nearest train station?",
    "  Leading and trailing spaces are part of what a caller may send.  ",
    "Prices rose 3.4% in 2023, according to the statistics office (provisional figures).",
    "Ünïcødé, accents — dashes, and “curly quotes” must tokenize as the tokenizer says.",
    "The committee met twice; its second report, published in March, revised the first one's estimates.",
    " ".join(["A long text that runs past the longest input the model reads, word after word."] * 60),
    "",
]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if not len(a):
        return np.ones(0)
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    return np.asarray((a * b).sum(axis=1) / np.maximum(na * nb, 1e-12))


def agreement(reference: Any, candidate: Any, texts: list[str]) -> dict[str, float]:
    """The lowest cosine between two encoders' vectors of ``texts``, by kind of vector; raises
    ``ModelError`` when they disagree on the word pieces themselves."""
    if reference.pieces() != candidate.pieces():
        raise ModelError("the ONNX encoder's vocabulary is not sentence-transformers'")
    if reference.count_tokens(texts) != candidate.count_tokens(texts):
        raise ModelError("the ONNX encoder counts word pieces unlike sentence-transformers")
    ref = reference.encode_full(texts, spans=True)
    got = candidate.encode_full(texts, spans=True)
    worst = {"texts": float(_cosines(ref.vectors, got.vectors).min(initial=1.0))}
    worst["texts_encode"] = float(_cosines(reference.encode(texts), candidate.encode(texts)).min(initial=1.0))
    tokens, raw = [1.0], [1.0]
    for i in range(len(texts)):
        same = (
            np.array_equal(ref.ids[i], got.ids[i])
            and ref.spans is not None
            and got.spans is not None
            and np.array_equal(ref.spans[i], got.spans[i])
        )
        if not same:
            raise ModelError(f"the ONNX encoder splits text {i} into other word pieces than sentence-transformers")
        tokens.append(float(_cosines(ref.tokens[i], got.tokens[i]).min(initial=1.0)))
        if ref.raw is not None and got.raw is not None:
            raw.append(float(_cosines(ref.raw[i], got.raw[i]).min(initial=1.0)))
    worst["word_pieces"] = min(tokens)
    worst["raw_rows"] = min(raw)
    return worst


def export(folder: Path, spec: ModelSpec, where: Path) -> dict[str, Any]:
    """``where/model.onnx`` and ``where/export.json``, made from ``folder``; ``ModelError`` if the
    export does not agree with sentence-transformers."""
    import torch

    reference = SentenceTransformerEmbedder(str(folder))
    model = reference.sentence_transformer
    transformer = model[0].auto_model.eval()
    example = model.tokenizer(
        PROBES[:4], padding=True, truncation=True, max_length=spec.max_tokens, return_tensors="pt"
    )
    names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in example]

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer  # a submodule: its weights go into the file

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.transformer(**dict(zip(names, inputs, strict=True))).last_hidden_state

    where.mkdir(parents=True, exist_ok=True)
    partial = where / f"model.onnx.{os.getpid()}.partial"
    axes = {name: {0: "batch", 1: "sequence"} for name in [*names, "token_embeddings"]}
    with torch.no_grad():
        # The TorchScript exporter: the dynamo one wants onnxscript, and gives no better graph
        # for an encoder this plain.
        torch.onnx.export(
            LastHiddenState(),
            tuple(example[k] for k in names),
            str(partial),
            dynamo=False,
            input_names=names,
            output_names=["token_embeddings"],
            dynamic_axes=axes,
            opset_version=17,
            do_constant_folding=True,
        )
    try:
        candidate = OnnxEmbedder(reference.name, spec, partial, reference.dimension)
        worst = agreement(reference, candidate, PROBES)
        if min(worst.values()) < AGREEMENT:
            raise ModelError(f"the ONNX export of {folder} differs from sentence-transformers: cosines {worst}")
        if candidate.max_tokens != reference.max_tokens:
            raise ModelError(
                f"{folder}: sentence_bert_config.json says {candidate.max_tokens} tokens, "
                f"sentence-transformers reads {reference.max_tokens}"
            )
        os.replace(partial, where / "model.onnx")
    finally:
        partial.unlink(missing_ok=True)
    import onnxruntime
    import sentence_transformers

    return write_record(
        where,
        folder,
        folder,
        dimension=reference.dimension,
        lowest_cosine=worst,
        made_with={
            "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
    )


def main(argv: list[str]) -> int:
    folder, where = Path(argv[0]), Path(argv[1])
    spec, why = read_spec(folder)
    try:
        if spec is None:
            raise ModelError(f"{folder} cannot run on ONNX Runtime: {why}")
        record = export(folder, spec, where)
    except (ModelError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps(record["lowest_cosine"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
