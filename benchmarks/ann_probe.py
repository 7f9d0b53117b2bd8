"""briefqa's dense index (``backends.local.files.dense_index``) over given vectors, in a fresh process, against
exact search (``faiss.IndexFlatIP``) over the same vectors: recall, latency, memory, size.

    python -m benchmarks.ann_probe VECTORS.npy QUERIES.npy [--force-hnsw]    # prints JSON

``--force-hnsw`` builds the approximate index even below ``HNSW_THRESHOLD`` (to measure its
recall on real vectors of a tier that is served exactly).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def main(vectors_path: str, queries_path: str, force_hnsw: bool = False) -> None:
    import faiss
    import psutil

    from briefqa.index.backends.local import files

    proc = psutil.Process()
    vectors = np.load(vectors_path)
    queries = np.ascontiguousarray(np.load(queries_path), dtype=np.float32)
    if force_hnsw:
        files.HNSW_THRESHOLD = 0
    rss0 = proc.memory_info().rss
    t = time.perf_counter()
    index = files.dense_index(vectors)
    build = time.perf_counter() - t
    params = "exact"
    if hasattr(index, "hnsw"):
        # What reading a version folder sets on a loaded index.
        index.hnsw.efSearch = files.HNSW_EF_SEARCH
        params = (
            f"M={index.hnsw.nb_neighbors(1)}, efConstruction={index.hnsw.efConstruction}, "
            f"efSearch={index.hnsw.efSearch}"
        )
    rss1 = proc.memory_info().rss
    size = len(faiss.serialize_index(index))
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    out: dict[str, object] = {
        "n": len(vectors),
        "kind": type(index).__name__,
        "params": params,
        "threshold": files.HNSW_THRESHOLD if not force_hnsw else None,
        "build_s": build,
        "rss_delta_mb": (rss1 - rss0) / 2**20,
        "size_mb": size / 2**20,
    }
    for depth in (10, 50):
        _, exact = flat.search(queries, depth)
        _, approx = index.search(queries, depth)
        hits = [len(set(a[a >= 0].tolist()) & set(e.tolist())) / depth for a, e in zip(approx, exact, strict=True)]
        out[f"recall@{depth}"] = float(np.mean(hits))
    # One question per search, as ``retrieve`` asks: with faiss's default OpenMP threads (what a
    # briefqa process does today) and with one thread.
    for threads, suffix in ((faiss.omp_get_max_threads(), ""), (1, "_1t")):
        faiss.omp_set_num_threads(threads)
        for name, idx in (("ann", index), ("exact", flat)):
            times = []
            for q in queries:
                t = time.perf_counter()
                idx.search(q.reshape(1, -1), 50)
                times.append(time.perf_counter() - t)
            ms = np.array(times) * 1000
            out[f"{name}_p50_ms{suffix}"] = float(np.percentile(ms, 50))
            out[f"{name}_p95_ms{suffix}"] = float(np.percentile(ms, 95))
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], "--force-hnsw" in sys.argv[3:])
