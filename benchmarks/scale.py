"""Scale tiers (issue 16): real paragraphs built for real, and a million passages by projection.

A tier is a corpus of sources of ``PER_SOURCE`` paragraphs each. For each: bytes on disk per
passage (the whole index folder: segments, versions, everything), build throughput against a bare
``SentenceTransformer.encode`` of the same passages, a no-op ``briefqa index`` (a fresh process,
as a user runs it), one new source over the no-op, and search p50/p95 against the floor measured
beside it (in process and over HTTP).

The 3,000-paragraph tier reads SQuAD 1.1's training set from ``../shared`` when it is there, and
otherwise the sample shipped beside this file (``squad-train-sample.json.gz``, the same format):
the report says which.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from briefqa.answers.searcher import Searcher, open_searcher
from briefqa.embed import Embedder
from briefqa.index.backends.choose import open_store
from briefqa.index.backends.local.store import LocalStore
from briefqa.index.build.pipeline import build_index

from .http_load import Client, Server, briefqa_command
from .timing import Dist, paired

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "squad11-train" / "train-v1.1.json.gz"
SAMPLE = Path(__file__).with_name("squad-train-sample.json.gz")
PER_SOURCE = 10
SEED = 16


def real_paragraphs(n: int) -> tuple[list[str], list[str], str]:
    """``n`` SQuAD 1.1 training paragraphs (a seeded draw), one question of each, and where from."""
    path = SHARED if SHARED.is_file() else SAMPLE
    with gzip.open(path) as fh:
        data = json.load(fh)
    pairs = [(p["context"], p["qas"][0]["question"]) for a in data["data"] for p in a["paragraphs"] if p["qas"]]
    random.Random(SEED).shuffle(pairs)
    pairs = pairs[:n]
    where = "../shared SQuAD 1.1 train" if path == SHARED else f"the sample shipped in benchmarks/ ({SAMPLE.name})"
    return [p for p, _ in pairs], [q for _, q in pairs], where


def write_sources(folder: Path, paragraphs: Sequence[str], start: int = 0) -> list[Path]:
    """Sources of ``PER_SOURCE`` paragraphs each, named by number from ``start``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(0, len(paragraphs), PER_SOURCE):
        path = folder / f"source-{start + i // PER_SOURCE:06d}.txt"
        path.write_text("\n\n".join(paragraphs[i : i + PER_SOURCE]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def array_costs(root: Path) -> dict[str, int]:
    """Bytes of the index at ``root`` by what they hold: each segment array (summed over the
    segments), the segments' headers, and each file of the versions (summed over the versions)."""
    from collections import Counter

    from briefqa.index.segments.file import SegmentFile

    costs: Counter[str] = Counter()
    for path in (root / "segments").rglob("*.seg"):
        seg = SegmentFile(path)
        for name in seg.names():
            costs[f"segment {name}"] += int(np.prod(seg.shape(name), dtype=np.int64)) * seg.dtype(name).itemsize
        costs["segment header, padding, footer"] += seg.size
    costs["segment header, padding, footer"] -= sum(
        v for k, v in costs.items() if k.startswith("segment ") and "header" not in k
    )
    for path in (root / "versions").rglob("*"):
        if path.is_file():
            costs[f"version {path.name}"] += path.stat().st_size
    return dict(costs.most_common())


def noop_cli_seconds(corpus: Path, root: Path, runs: int = 3) -> list[float]:
    """Wall time of ``briefqa index`` in a fresh process when nothing changed."""
    env = {**os.environ, "BRIEFQA_CORPUS": str(corpus), "BRIEFQA_INDEX": str(root)}
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        done = subprocess.run([*briefqa_command(), "index"], env=env, capture_output=True, text=True, cwd=REPO)
        out.append(time.perf_counter() - t)
        if done.returncode != 0 or "nothing changed" not in done.stdout:
            raise RuntimeError(f"briefqa index did not find the index unchanged: {done.stdout[-300:]}")
    return out


def tier(
    name: str,
    corpus: Path,
    questions: Sequence[str],
    extra: Sequence[str],
    workdir: Path,
    embedder: Embedder,
    bare: Callable[[list[str]], float],
    floor: Callable[[str], object],
) -> dict[str, Any]:
    """Build ``corpus`` for real and measure the tier; ``extra`` paragraphs feed the one-source adds."""
    root = workdir / f"index-{name}"
    report = build_index(corpus, root, embedder)
    texts = _passages(root, embedder)
    # Build and bare encode alternate, twice each, and the faster of each counts: one sample of
    # either is at the mercy of whatever else the shared cores are doing.
    bare_runs = [bare(texts)]
    build_runs = [report.seconds, build_index(corpus, root, embedder, full=True).seconds]
    bare_runs.append(bare(texts))
    out: dict[str, Any] = {
        "name": name,
        "passages": report.chunks,
        "sources": report.documents,
        "build_s": min(build_runs),
        "bare_s": min(bare_runs),
        "build_runs": build_runs,
        "bare_runs": bare_runs,
        "disk_bytes": disk_bytes(root),
        "segments_bytes": disk_bytes(root / "segments"),
        "versions_bytes": disk_bytes(root / "versions"),
        "array_bytes": array_costs(root),
    }
    out["noop_cli_s"] = noop_cli_seconds(corpus, root)
    noop, one = [], []
    for k in range(3):
        noop.append(build_index(corpus, root, embedder).seconds)
        write_sources(corpus, extra[k * PER_SOURCE : (k + 1) * PER_SOURCE], start=900_000 + k)
        one.append(build_index(corpus, root, embedder).seconds)
    out.update(noop_s=noop, one_source_s=one, disk_bytes_after=disk_bytes(root))
    index = open_searcher(root, embedder).index
    searcher = Searcher(index, embedder)
    searcher.search("warm up the searcher")
    f, s = paired(list(questions[:100]), floor, searcher.search)
    out.update(floor_inproc=Dist.of(f), inproc=Dist.of(s))
    with Server(corpus, root, workdir / f"server-{name}.log") as server:
        client = Client(server.port)
        client.search("warm up the server")
        f, s = paired(list(questions[100:200] or questions[:100]), floor, client.search)
        out.update(floor_http=Dist.of(f), http=Dist.of(s), rss_mb=server.rss_mb())
        client.close()
    out["sentences"] = index.sentence_count
    return out


def qdrant_tier(
    corpus: Path, questions: Sequence[str], workdir: Path, embedder: Embedder, local_root: Path
) -> dict[str, Any]:
    """The same corpus in Qdrant's embedded mode beside the local store built at ``local_root``.

    *build*: from nothing into a fresh segment cache and a fresh Qdrant folder (parse, embed, write
    the segments, upload); *upload*: a second Qdrant folder from the warm segment cache (only
    Qdrant's part). Searches alternate between the local store and Qdrant on the same questions.
    """
    folder = workdir / "qdrant-3000"
    qdrant = open_store(workdir / "qdrant-cache-3000", str(folder))
    report = build_index(corpus, qdrant, embedder)
    second = open_store(local_root, str(workdir / "qdrant-3000-upload"))
    upload = build_index(corpus, second, embedder, full=False)
    second.close()  # type: ignore[attr-defined]
    shutil.rmtree(workdir / "qdrant-3000-upload", ignore_errors=True)
    started = time.perf_counter()
    index = qdrant.load(embedder.name, embedder.dimension)
    load_s = time.perf_counter() - started
    local = Searcher(LocalStore(local_root).load(embedder.name, None), embedder)
    remote = Searcher(index, embedder)
    for searcher in (local, remote):
        searcher.search("warm up the searcher")
    local_s, qdrant_s = paired(list(questions[:100]), local.search, remote.search)
    out = {
        "passages": report.chunks,
        "sentences": index.sentence_count,
        "build_s": report.seconds,
        "upload_s": upload.seconds,
        "load_s": load_s,
        "folder_bytes": disk_bytes(folder),
        "local_bytes": disk_bytes(local_root),
        "local": Dist.of(local_s),
        "qdrant": Dist.of(qdrant_s),
    }
    qdrant.close()  # type: ignore[attr-defined]
    return out


def render_qdrant(q: dict[str, Any], local_build_s: float) -> list[str]:
    """The Qdrant row of the scale tiers as markdown lines."""
    n = q["passages"]
    return [
        "",
        "### The index in Qdrant (issue 17): the embedded mode beside the local files, same corpus",
        "",
        "Qdrant's embedded local mode (`BRIEFQA_QDRANT` set to a folder) is the client's brute-force "
        "Python re-implementation: these figures say what it costs here, not what a Qdrant server does. "
        "*build*: passages a second from nothing (parse, embed, write segments, upload); *upload*: from "
        "a warm segment cache, Qdrant's part alone. Search p50 / p95 in ms, in process, the two stores "
        "alternating on the same 100 questions.",
        "",
        "| store | build p/s | upload p/s | bytes/passage | load s | search p50 / p95 ms |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| local files | {n / local_build_s:.1f} | | {q['local_bytes'] / n / 1024:.1f} KB | | {q['local']} |",
        f"| Qdrant embedded | {n / q['build_s']:.1f} | {n / q['upload_s']:.1f} "
        f"| {q['folder_bytes'] / n / 1024:.1f} KB | {q['load_s']:.1f} | {q['qdrant']} |",
        "",
        f"Qdrant ÷ local p50: {q['qdrant'].p50 / q['local'].p50:.2f}×; {q['sentences']:,} sentences' word "
        "pieces are in the folder beside the passages.",
    ]


def _passages(root: Path, embedder: Embedder) -> list[str]:
    """What the build embedded as passages (headings included), in index order."""
    index = LocalStore(root).load(embedder.name, None)
    return [index.passage_text(c) for c in index.chunks()]


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def projection(small: dict[str, Any], large: dict[str, Any], passages: int) -> dict[str, Any]:
    """A tier of ``passages`` from two measured ones: disk in proportion to the larger; server
    memory as the smaller's plus the growth per passage between the two (the model is a constant)."""
    per_passage_mb = (large["rss_mb"] - small["rss_mb"]) / max(large["passages"] - small["passages"], 1)
    return {
        "name": f"{passages:,} (projected from {large['passages']:,})",
        "passages": passages,
        "disk_bytes": large["disk_bytes"] / large["passages"] * passages,
        "rss_mb": small["rss_mb"] + per_passage_mb * passages,
    }


def _ms_ratio(a: Dist, b: Dist) -> str:
    return f"{a.p50 / b.p50:.2f}×" if b.p50 else "n/a"


def render_costs(t: dict[str, Any]) -> list[str]:
    """What each array of the index costs a passage, largest first (the 20 KB budget's ledger)."""
    n = t["passages"]
    out = ["", f"What the index of {t['name']} holds, bytes a passage (after its first build):", ""]
    out += ["| part | bytes a passage |", "| --- | --- |"]
    out += [f"| {name} | {size / n:,.0f} |" for name, size in t["array_bytes"].items() if size / n >= 1]
    return out


def render(res: dict[str, Any]) -> list[str]:
    """The scale tiers as markdown lines."""
    out = [
        "## Scale tiers (issue 16)",
        "",
        f"Real paragraphs from {res['source']}, {PER_SOURCE} to a source. *bytes/passage*: the whole index "
        "folder (segments, every kept version) over the passages. *build*: passages a second of a first "
        "build, and its ratio to a bare `SentenceTransformer.encode` of the same passages. *no-op*: "
        "`briefqa index` in a fresh process with nothing to do (median of 3). *+1 source*: a build that "
        f"adds one source of {PER_SOURCE} paragraphs, minus the in-process no-op build (medians of 3). "
        "p50 / p95 in milliseconds, in process and over HTTP, each against the floor measured beside it.",
        "",
        "| tier | passages | bytes/passage | build p/s | ÷ bare encode | no-op CLI s | +1 source s | "
        "in-process p50 / p95 (÷ floor) | HTTP p50 / p95 (÷ floor) | server RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in res["rows"]:
        per = t["disk_bytes"] / t["passages"]
        if "build_s" not in t:
            out.append(
                f"| {t['name']} | {t['passages']:,} | {per / 1024:.1f} KB ({t['disk_bytes'] / 2**30:.1f} GB) "
                f"| | | | | | | {t['rss_mb'] / 1024:.1f} GB (projected) |"
            )
            continue
        pps, bare_pps = t["passages"] / t["build_s"], t["passages"] / t["bare_s"]
        extra = median(t["one_source_s"]) - median(t["noop_s"])
        inproc = f"{t['inproc']} ({_ms_ratio(t['inproc'], t['floor_inproc'])})"
        http = f"{t['http']} ({_ms_ratio(t['http'], t['floor_http'])})"
        out.append(
            f"| {t['name']} | {t['passages']:,} | {per / 1024:.1f} KB | {pps:.1f} | {pps / bare_pps:.2f}× "
            f"| {median(t['noop_cli_s']):.2f} | {extra:.2f} | {inproc} | {http} | {t['rss_mb']:.0f} |"
        )
    measured = [t for t in res["rows"] if "build_s" in t]
    if len(measured) >= 2:
        brief, big = measured[0], measured[-1]
        growth = (big["http"].p50 / big["floor_http"].p50) / (brief["http"].p50 / brief["floor_http"].p50)
        out += ["", f"HTTP p50 ÷ floor at {big['passages']:,} passages over the brief's: {growth:.2f}×."]
    for t in measured:
        if t.get("array_bytes") and t["passages"] >= 1000:
            out += render_costs(t)
    if res.get("qdrant"):
        local = next(t for t in measured if t["name"].startswith("3,000"))
        out += render_qdrant(res["qdrant"], local["build_s"])
    return out
