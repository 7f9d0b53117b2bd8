"""Issue 23's last two figures: one new source over a build with nothing to do, and N workers' memory.

    python -m benchmarks.serving_costs [--runs 5] [--workers 2]

- ``briefqa index`` through the CLI on a copy of the brief's corpus, its index built: a run with
  nothing to do, and a run that adds one new source (a new file each time), alternating; the
  medians and their difference;
- ``briefqa serve`` with one worker and with ``--workers N``, each warm (the index built): the
  proportional set size of the whole process tree (pages the workers share, the memory-mapped
  index and word-piece table among them, counted once) and the resident size of each process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from .http_load import Server, briefqa_command

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
NEW_SOURCE = """# Harbour dredging

The port authority dredged the northern channel to fourteen metres in {n}.
Container ships of the newest class can now call at the inner quays at low tide.
"""


def _index(corpus: Path, index: Path) -> float:
    env = {**os.environ, "BRIEFQA_CORPUS": str(corpus), "BRIEFQA_INDEX": str(index)}
    started = time.perf_counter()
    subprocess.run([*briefqa_command(), "index"], env=env, capture_output=True, check=True)
    return time.perf_counter() - started


def new_source(tmp: Path, runs: int) -> dict[str, Any]:
    corpus, index = tmp / "corpus", tmp / "index"
    shutil.copytree(CORPUS, corpus)
    _index(corpus, index)
    nothing, one = [], []
    for n in range(runs):
        nothing.append(_index(corpus, index))
        (corpus / f"harbour-{n}.md").write_text(NEW_SOURCE.format(n=2000 + n))
        one.append(_index(corpus, index))
    return {"no_op_s": float(np.median(nothing)), "one_new_s": float(np.median(one)), "runs": runs}


def workers_memory(tmp: Path, workers: int) -> dict[int, Any]:
    corpus, index = tmp / "corpus", tmp / "index"
    out: dict[int, Any] = {}
    for n in (1, workers):
        with Server(corpus, index, tmp / f"serve-{n}.log", args=["--workers", str(n)]) as server:
            import psutil

            assert server.proc is not None
            time.sleep(2)  # every worker up, not only the one that answered first
            top = psutil.Process(server.proc.pid)
            procs = [top, *top.children(recursive=True)]
            out[n] = {
                "pss_mb": server.pss_mb(),
                "rss_mb": [round(p.memory_info().rss / 2**20) for p in procs],
                "processes": len(procs),
            }
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="briefqa-serving-costs-"))
    try:
        built = new_source(tmp, args.runs)
        print(
            f"briefqa index, medians of {built['runs']}: nothing to do {built['no_op_s']:.2f} s, one new source "
            f"{built['one_new_s']:.2f} s ({built['one_new_s'] - built['no_op_s']:+.2f} s)"
        )
        memory = workers_memory(tmp, args.workers)
        for n, m in memory.items():
            pss, count = m["pss_mb"], m["processes"]
            print(f"serve --workers {n}: PSS {pss:.0f} MB over {count} processes, RSS {m['rss_mb']} MB")
        one, many = memory[1]["pss_mb"], memory[args.workers]["pss_mb"]
        print(f"{args.workers} workers: {many / one:.2f}x the memory of one")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
