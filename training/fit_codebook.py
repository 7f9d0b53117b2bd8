"""Fit the word-piece codebook that ships with briefqa (``src/briefqa/index/segments/codebooks/``).

Reads SQuAD 1.1's training set (``../shared/data/squad11-train/train-v1.1.json.gz``, or
``--squad FILE``): Wikipedia paragraphs of other articles than the SQuAD 2.0 dev half the product
is evaluated on. Encodes ``--paragraphs`` of them (a seeded draw) with the product's own model,
and fits a scalar quantizer's ranges (``segments.codec.train_codebook``) on a seeded sample of
their word-piece vectors. Prints how closely the codes reproduce held-out pieces.

    python -m training.fit_codebook [--squad FILE] [--paragraphs N] [--write]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path

import numpy as np

from briefqa.embed import load_embedder
from briefqa.index.segments.codec import CODEC, ScalarCodec, codebook_path, train_codebook
from briefqa.settings import DEFAULT_MODEL

REPO = Path(__file__).resolve().parents[1]
SQUAD = REPO.parent / "shared" / "data" / "squad11-train" / "train-v1.1.json.gz"
WORK = REPO / "training" / ".work"
SEED = 0
SAMPLE = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--squad", type=Path, default=SQUAD)
    parser.add_argument("--paragraphs", type=int, default=1500)
    parser.add_argument("--kind", default=CODEC, help="sq4, sq6 or sq8 (default: the one builds use)")
    parser.add_argument("--write", action="store_true", help="write the codebook into the package")
    args = parser.parse_args()
    if not args.squad.is_file():
        sys.exit(f"fit_codebook: {args.squad} not found: fitting the codebook needs the shared SQuAD 1.1 data")
    with gzip.open(args.squad) as fh:
        data = json.load(fh)
    paragraphs = [p["context"] for a in data["data"] for p in a["paragraphs"]]
    random.Random(SEED).shuffle(paragraphs)
    # The encoded pieces are kept in training/.work: refitting (another seed, another size) skips
    # the encode.
    cached = WORK / f"codebook-pieces-{args.paragraphs}-s{SEED}.npy"
    if cached.is_file():
        pieces = np.load(cached)
    else:
        embedder = load_embedder(DEFAULT_MODEL)
        pieces = np.vstack(embedder.encode_full(paragraphs[: args.paragraphs]).tokens).astype(np.float32)
        WORK.mkdir(parents=True, exist_ok=True)
        np.save(cached, pieces)
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(pieces))
    train, held = pieces[order[:SAMPLE]], pieces[order[SAMPLE : SAMPLE + 20_000]]
    codebook = train_codebook(train, args.kind)
    codec = ScalarCodec(codebook, int(args.kind[2:]), "check")
    cos = (codec.decode(codec.encode(held)) * held).sum(axis=1)
    print(
        f"{len(pieces)} pieces of {args.paragraphs} paragraphs; held-out cosine mean {cos.mean():.4f}, "
        f"5th percentile {np.percentile(cos, 5):.4f}"
    )
    if args.write:
        path = codebook_path(DEFAULT_MODEL, args.kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, codebook.astype(np.float32))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
