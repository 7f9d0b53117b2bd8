"""The reader's ONNX file, made from the shipped weights with torch and checked against them.

Run as ``python -m briefqa.reader.export FOLDER WHERE`` by ``embed.onnx_cache`` in a child
process, so that a server never imports torch. The file is kept only when, on padded batches
of probe pairs, ONNX Runtime's logits are torch's within ``TOLERANCE``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..embed.onnx_cache import write_record
from ..errors import ModelError
from .loading import base_folder, shipped_reader_config
from .onnx_reader import OnnxReader
from .pairs import PairTokenizer

TOLERANCE = 1e-3
# Pairs of many lengths, one past the longest input, padded together in every batch.
PROBES = [
    ("Who wrote it?", "Jane Austen wrote it in 1813."),
    ("When did prices rise, and by how much?", "Prices rose 3.4% in 2023, according to the statistics office."),
    ("What is the capital?", "Ünïcødé, accents — dashes, and “curly quotes” tokenize as the tokenizer says."),
    ("Why did the committee revise its estimates?", " ".join(["The committee met twice and revised them."] * 30)),
    (" ".join(["A very long question that fills the input?"] * 20), "A short sentence."),
]


def export(folder: Path, where: Path) -> dict[str, Any]:
    import torch

    from .network import load_shipped

    config = shipped_reader_config(folder)
    if config is None:
        raise ModelError(f"{folder}: no reader.json")
    base = base_folder(config)
    network = load_shipped(folder / "weights.safetensors", base, int(config["layers"]))
    tokenizer = PairTokenizer(base / "tokenizer.json", int(config["max_pieces"]))
    example = tokenizer.pairs([q for q, _ in PROBES[:3]], [s for _, s in PROBES[:3]])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    where.mkdir(parents=True, exist_ok=True)
    partial = where / f"model.onnx.{os.getpid()}.partial"
    with torch.no_grad():
        torch.onnx.export(
            network,
            (torch.from_numpy(example.ids), torch.from_numpy(example.mask), torch.from_numpy(example.type_ids)),
            str(partial),
            dynamo=False,
            input_names=names,
            output_names=["pair", "span"],
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names}
            | {"pair": {0: "batch"}, "span": {0: "batch", 1: "sequence"}},
            opset_version=17,
            do_constant_folding=True,
        )
    try:
        candidate = OnnxReader(partial, base / "tokenizer.json", int(config["max_pieces"]), threads=1)
        questions, sentences = [q for q, _ in PROBES], [s for _, s in PROBES]
        pair, span, pairs = candidate.logits(questions, sentences)
        with torch.no_grad():
            want_pair, want_span = network(
                torch.from_numpy(pairs.ids),  # type: ignore[attr-defined]
                torch.from_numpy(pairs.mask),  # type: ignore[attr-defined]
                torch.from_numpy(pairs.type_ids),  # type: ignore[attr-defined]
            )
        mask = pairs.mask.astype(bool)  # type: ignore[attr-defined]
        worst = max(
            float(np.abs(pair - want_pair.numpy()).max()),
            float(np.abs(span - want_span.numpy())[mask].max()),
        )
        if worst > TOLERANCE:
            raise ModelError(f"the reader's ONNX export differs from torch by {worst:.2g} (at most {TOLERANCE:g})")
        os.replace(partial, where / "model.onnx")
    finally:
        partial.unlink(missing_ok=True)
    made_with = {"torch": torch.__version__}
    return write_record(where, folder, base, base=str(base), largest_difference=worst, made_with=made_with)


def main(argv: list[str]) -> int:
    try:
        record = export(Path(argv[0]), Path(argv[1]))
    except (ModelError, OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps({"largest_difference": record["largest_difference"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
