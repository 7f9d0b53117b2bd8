"""Issue 23's figures: the model on ONNX Runtime against the same weights on torch, and what serving costs.

    python -m benchmarks.onnx_runtime                          # this tree alone
    python -m benchmarks.onnx_runtime --against ../main/src    # and another tree's code beside it

Measured in one run, alternating so both sides see the same moments of a shared machine:
- one question's bare encode: sentence-transformers on torch, and briefqa's ONNX encoder;
- HTTP p50 of a real ``briefqa serve`` (one worker, the brief) paired with the torch encode;
- ``briefqa ask`` on a built index, wall time from the process's start to its exit;
- ``briefqa serve`` warm start (index built) to its first answer, its RSS and PSS then, and
  whether the serving process maps libtorch.
Prints a markdown table; ``--json`` keeps the samples.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from briefqa.embed import SentenceTransformerEmbedder, load_embedder
from briefqa.evaluation.evaluate import load_items
from briefqa.index.build.pipeline import build_index
from briefqa.settings import DEFAULT_MODEL

from .http_load import Client, Server, briefqa_command
from .timing import paired

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
EVAL_FILE = REPO / "eval" / "brief_qa_dev.jsonl"


def _median_ms(seconds: Sequence[float]) -> float:
    return float(np.median(seconds) * 1000.0)


def encodes(questions: Sequence[str]) -> dict[str, Any]:
    """The bare encode of one question at a time: torch's floor, then briefqa's ONNX encoder."""
    onnx = load_embedder(DEFAULT_MODEL)
    torch = SentenceTransformerEmbedder(DEFAULT_MODEL)
    model = torch.sentence_transformer

    def floor(q: str) -> object:
        return model.encode([q], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    for q in questions[:3]:  # warm both
        floor(q)
        onnx.encode([q])
    f, o = paired(questions, floor, lambda q: onnx.encode([q]))
    a, b = torch.encode(list(questions)), onnx.encode(list(questions))
    return {
        "runtime": type(onnx).__name__,
        "torch_ms": _median_ms(f),
        "onnx_ms": _median_ms(o),
        "ratio": _median_ms(o) / _median_ms(f),
        "lowest_cosine": float((a * b).sum(axis=1).min()),
        "n": len(questions),
        "floor": floor,
    }


def _env(tree: Path | None) -> dict[str, str]:
    env = {**os.environ}
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH", "")])])
    return env


def ask_seconds(index: Path, question: str, tree: Path | None) -> float:
    """Wall seconds of one ``briefqa ask`` process, start to exit."""
    env = {**_env(tree), "BRIEFQA_INDEX": str(index), "BRIEFQA_CORPUS": str(CORPUS)}
    started = time.perf_counter()
    subprocess.run([*briefqa_command(), "ask", "--k", "5", question], env=env, capture_output=True, check=True)
    return time.perf_counter() - started


def serve_once(index: Path, log: Path, tree: Path | None, questions: Sequence[str] = (), floor: Any = None) -> dict:
    """One warm start of ``briefqa serve`` (the index built): seconds to its first answer, memory
    then, libtorch mapped or not, and with ``questions`` the HTTP latencies paired with ``floor``."""
    env = {k: v for k, v in _env(tree).items() if k == "PYTHONPATH"}
    with Server(CORPUS, index, log, env=env) as server:
        assert server.proc is not None
        out: dict[str, Any] = {
            "first_answer_s": server.first_answer,
            "rss_mb": server.rss_mb(),
            "pss_mb": server.pss_mb(),
            "maps_libtorch": "libtorch" in Path(f"/proc/{server.proc.pid}/maps").read_text(),
        }
        if questions:
            client = Client(server.port)
            client.search(questions[0])
            f, h = paired(questions, floor, client.search)
            client.close()
            out["http_ms"], out["http_floor_ms"] = _median_ms(h), _median_ms(f)
            out["rss_after_mb"] = server.rss_mb()
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    questions = [i.question for i in load_items(EVAL_FILE)][: args.questions]
    tmp = Path(tempfile.mkdtemp(prefix="briefqa-onnx-bench-"))
    try:
        enc = encodes(questions)
        floor = enc.pop("floor")
        index = tmp / "index"
        build_index(CORPUS, index, load_embedder(DEFAULT_MODEL))
        trees: dict[str, Path | None] = {"this tree": None}
        if args.against:
            trees[f"against {args.against}"] = args.against
        asks: dict[str, list[float]] = {name: [] for name in trees}
        serves: dict[str, list[dict]] = {name: [] for name in trees}
        for i in range(args.runs):
            for name, tree in trees.items() if i % 2 == 0 else reversed(list(trees.items())):
                asks[name].append(ask_seconds(index, questions[i % len(questions)], tree))
                with_http = questions if i == 0 else ()
                serves[name].append(serve_once(index, tmp / f"serve-{i}.log", tree, with_http, floor))
        return {"encode": enc, "ask_s": asks, "serve": serves, "runs": args.runs, "machine": _machine()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _machine() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end"


def render(r: dict[str, Any]) -> str:
    e = r["encode"]
    lines = [
        f"Encode of one question ({e['n']} questions, alternating): torch {e['torch_ms']:.1f} ms, "
        f"{e['runtime']} {e['onnx_ms']:.1f} ms ({e['ratio']:.2f}x); lowest cosine {e['lowest_cosine']:.6f}",
        "",
        "| tree | `ask` wall s (median) | serve first answer s (median) | RSS MB | PSS MB | libtorch mapped "
        "| HTTP p50 ms | torch encode p50 ms (paired) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, runs in r["serve"].items():
        first = runs[0]
        lines.append(
            f"| {name} | {np.median(r['ask_s'][name]):.2f} | {np.median([s['first_answer_s'] for s in runs]):.2f} "
            f"| {np.median([s['rss_mb'] for s in runs]):.0f} | {np.median([s['pss_mb'] for s in runs]):.0f} "
            f"| {any(s['maps_libtorch'] for s in runs)} | {first['http_ms']:.1f} | {first['http_floor_ms']:.1f} |"
        )
    lines.append("")
    lines.append(f"{r['runs']} runs each; {r['machine']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--against", type=Path, default=None, help="another tree's src/ to measure beside this one")
    p.add_argument("--questions", type=int, default=40)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    results = run(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
