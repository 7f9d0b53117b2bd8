"""Results -> the markdown tables that `make bench` prints and writes to ``RESULTS.md``."""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict
from typing import Any

from .timing import Dist


def jsonable(obj: Any) -> Any:
    if isinstance(obj, Dist):
        return asdict(obj)
    if hasattr(obj, "__fspath__"):
        return os.fspath(obj)
    return str(obj)


def _r(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _ratio(a: Dist, b: Dist) -> float:
    return a.p50 / b.p50 if b.p50 else float("nan")


def _mark(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "MISSED")


def render(res: dict[str, Any]) -> str:
    out: list[str] = []
    add = out.append
    cores = os.cpu_count() or 1
    add("# briefqa benchmarks")
    add("")
    add(f"Run {time.strftime('%Y-%m-%d %H:%M', time.localtime())}, {res['seconds']:.0f} s in all "
        f"(`python -m benchmarks.run{' --full' if res['args'].get('full') else ''}"
        f"{' --quick' if res['args'].get('quick') else ''}`). Latencies are milliseconds, p50 / p95; "
        "every question is distinct (no cache hits). Ratios are of medians, each against the floor "
        "measured interleaved with it (the same moments of a noisy machine). *Contended*: a second "
        "process spins on one core throughout.")
    add("")
    add("## Machine")
    add("")
    for k, v in res["machine"].items():
        add(f"- **{k}**: {v}")
    add("")

    targets: list[tuple[str, str, bool | None]] = []
    b = res["brief"]
    q, c = b["quiet"], b["contended"]
    add(f"## 1-2. Floor and search latency: the brief ({b['chunks']} passages)")
    add("")
    add("| measure | quiet p50 / p95 | × floor | contended p50 / p95 | × floor |")
    add("| --- | --- | --- | --- | --- |")
    add(f"| floor: bare `SentenceTransformer.encode([q])` | {q['floor']} | 1.00 | {c['floor']} | 1.00 |")
    add(f"| briefqa search, in process | {q['inproc']} | {_r(_ratio(q['inproc'], q['floor_inproc']))} | "
        f"{c['inproc']} | {_r(_ratio(c['inproc'], c['floor_inproc']))} |")
    add(f"| briefqa search, HTTP `/api/search` (uvicorn subprocess) | {q['http']} | "
        f"{_r(_ratio(q['http'], q['floor_http']))} | {c['http']} | {_r(_ratio(c['http'], c['floor_http']))} |")
    add("")
    http_ratio = _ratio(q["http"], q["floor_http"])
    targets.append(("HTTP search p50 ≤ 1.5× floor on the brief",
                    f"{_r(http_ratio)}× quiet ({q['http'].p50:.1f} vs {q['floor_http'].p50:.1f} ms); "
                    f"{_r(_ratio(c['http'], c['floor_http']))}× contended", http_ratio <= 1.5))

    add("## 3. Throughput over HTTP (the brief; closed loop, keep-alive connections)")
    add("")
    add("| concurrency | quiet req/s | ÷ (cores / floor) | latency p50 / p95 | contended req/s | ÷ (cores / floor) |")
    add("| --- | --- | --- | --- | --- | --- |")
    for n in (1, 8):
        tq, tc = q[f"tp{n}"], c[f"tp{n}"]
        ideal_q = cores / (q["floor"].p50 / 1000)
        ideal_c = cores / (c["floor"].p50 / 1000)
        add(f"| {n} | {tq['rps']:.1f} | {_r(tq['rps'] / ideal_q)} | {tq['p50']:.1f} / {tq['p95']:.1f} | "
            f"{tc['rps']:.1f} | {_r(tc['rps'] / ideal_c)} |")
    add("")
    add(f"cores / floor = {cores} / {q['floor'].p50:.1f} ms = {cores / (q['floor'].p50 / 1000):.0f} req/s quiet "
        f"({cores / (c['floor'].p50 / 1000):.0f} contended).")
    add("")
    tp8 = q["tp8"]["rps"] / (cores / (q["floor"].p50 / 1000))
    targets.append(("Throughput at concurrency 8 ≥ 0.8 × cores / floor",
                    f"{_r(tp8)} × ({q['tp8']['rps']:.0f} req/s); contended "
                    f"{_r(c['tp8']['rps'] / (cores / (c['floor'].p50 / 1000)))} ×", tp8 >= 0.8))

    tiers = res.get("tiers", {})
    add("## 4. Build")
    add("")
    add("| corpus | passages | texts embedded | build s | passages/s | bare encode passages/s | build ÷ bare |")
    add("| --- | --- | --- | --- | --- | --- | --- |")
    build_ratio = None
    for n, t in tiers.items():
        if "bare_pps" in t:
            ratio = t["build_pps"] / t["bare_pps"]
            build_ratio = ratio if build_ratio is None else build_ratio
            add(f"| generated, {t['sources']} sources | {t['passages']} | {t['texts']} | {t['build_s']:.1f} | "
                f"{t['build_pps']:.1f} | {t['bare_pps']:.1f} | {_r(ratio)} |")
        else:
            add(f"| generated, {t['sources']} sources | {t['passages']} | - | {t['build_s']:.1f} | "
                f"{t['build_pps']:.1f} | - | - |")
    add("")
    if build_ratio is not None:
        targets.append(("Build throughput ≥ 0.8× bare encode throughput", f"{_r(build_ratio)}×", build_ratio >= 0.8))
    inc = res.get("incremental")
    if inc:
        add(f"Incremental add of one source ({inc['texts']} texts to embed) to a {inc['sources_before']}-source "
            f"corpus: **{inc['seconds']:.1f} s**, of which a bare encode of its texts would take "
            f"{inc['bare_s']:.2f} s ({inc['seconds'] / inc['bare_s']:.0f}×).")
        add("")

    add("## 5. Scale")
    add("")
    add("| passages | dense index | build s | in-process p50 / p95 | × floor | HTTP p50 / p95 | × floor | "
        "server RSS MB | index on disk MB | source cache MB | serve → first answer s |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    add(f"| {b['chunks']} (the brief) | IndexFlatIP | {b['build_s']:.1f} | {q['inproc']} | "
        f"{_r(_ratio(q['inproc'], q['floor_inproc']))} | {q['http']} | {_r(http_ratio)} | {b['rss_mb']:.0f} | "
        f"{b['disk_mb']:.2f} | - | {b['first_answer_s']:.1f} |")
    for n, t in tiers.items():
        add(f"| {t['passages']} | {t['dense']} | {t['build_s']:.1f} | {t['inproc']} | "
            f"{_r(_ratio(t['inproc'], t['floor_inproc']))} | {t['http']} | {_r(_ratio(t['http'], t['floor_http']))} | "
            f"{t['rss_mb']:.0f} | {t['disk_mb']:.1f} | {t['cache_mb']:.1f} | {t['first_answer_s']:.1f} |")
    add("")
    big = tiers.get(100_000) or tiers.get("100000")
    if big:
        r = _ratio(big["http"], big["floor_http"])
        targets.append(("HTTP search p50 ≤ 2× floor at 100,000 passages", f"{_r(r)}×", r <= 2.0))
    else:
        largest = list(tiers.values())[-1] if tiers else None
        note = (f"not built by default (`--full`); at {largest['passages']} passages {_r(_ratio(largest['http'], largest['floor_http']))}×"
                if largest else "not measured")
        targets.append(("HTTP search p50 ≤ 2× floor at 100,000 passages", note, None))

    add("Approximate dense search (`store.dense_index`: HNSW M=32, efConstruction=80, efSearch=128) against "
        "exact `faiss.IndexFlatIP` over the same vectors; questions are real model encodings; one thread, "
        "one question per search, depth 50 as `retrieve` asks:")
    add("")
    add("| vectors | n | build s | recall@10 | recall@50 | ANN p50 / p95 | exact p50 / p95 | index MB | RSS Δ MB |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    recall_rows = []
    for n, t in tiers.items():
        h = t.get("hnsw_real")
        if h:
            label = "real (tier vectors" + (", HNSW forced below threshold)" if t["dense"] != "IndexHNSWFlat" else ")")
            recall_rows.append((label, h))
    if res.get("synthetic_100k"):
        recall_rows.append(("**SYNTHETIC** (derived from real tier vectors: a + 0.5 b + noise)", res["synthetic_100k"]))
    for label, h in recall_rows:
        add(f"| {label} | {h['n']} | {h['build_s']:.1f} | {h['recall@10']:.3f} | {h['recall@50']:.3f} | "
            f"{h['ann_p50_ms']:.2f} / {h['ann_p95_ms']:.2f} | {h['exact_p50_ms']:.2f} / {h['exact_p95_ms']:.2f} | "
            f"{h['size_mb']:.0f} | {h['rss_delta_mb']:.0f} |")
    add("")
    if recall_rows:
        worst = min(h["recall@10"] for _, h in recall_rows)
        targets.append(("Approximate recall@10 ≥ 0.98",
                        "; ".join(f"{h['n']}: {h['recall@10']:.3f}" for _, h in recall_rows), worst >= 0.98))

    cold = res.get("cold")
    if cold:
        add(f"## 6. Cold start (the brief's index built; median of {cold['runs']})")
        add("")
        add("| from process start to | seconds |")
        add("| --- | --- |")
        add(f"| bare model: import sentence-transformers, load, first encode | {cold['model_load']:.2f} |")
        add(f"| `briefqa ask --json` printed its answer | {cold['ask']:.2f} |")
        add(f"| `briefqa serve`: first `/api/search` answered | {cold['serve']:.2f} |")
        add("")
        worst = max(cold["ask"], cold["serve"])
        targets.append(("Cold start ≤ model load + 2 s",
                        f"ask {cold['ask']:.1f} s, serve {cold['serve']:.1f} s vs model load {cold['model_load']:.1f} s "
                        f"(+{worst - cold['model_load']:.1f} s)", worst <= cold["model_load"] + 2.0))

    omp = res.get("omp")
    if omp:
        add("## OpenMP wait policy (bare encode of one question, fresh process, contended)")
        add("")
        add("| OMP_WAIT_POLICY | p50 / p95 |")
        add("| --- | --- |")
        for k, v in omp.items():
            add(f"| {k} | {v['p50']:.1f} / {v['p95']:.1f} |")
        add("")

    peer = res.get("peer")
    if peer:
        add(f"## 7. Peer: Haystack {_haystack_version()} hybrid pipeline (the brief, same model)")
        add("")
        add(f"BM25 + `SentenceTransformersTextEmbedder` (same weights, local path) -> RRF `DocumentJoiner`, "
            f"{peer['passages']} passages (split at line breaks: one paragraph a line). hit@1 over the "
            f"{peer['answerable']} answerable eval items ({peer['followups']} of them follow-ups, which the "
            "peer gets without history); *standalone* leaves the follow-ups out.")
        add("")
        add("| system | p50 / p95 | × floor | hit@1 | hit@1 standalone |")
        add("| --- | --- | --- | --- | --- |")
        add(f"| floor | {peer['floor']} | 1.00 | | |")
        add(f"| briefqa (quote level) | {peer['briefqa']} | {_r(_ratio(peer['briefqa'], peer['floor']))} | "
            f"{peer['briefqa_quote_hit1']:.3f} | {peer['briefqa_quote_hit1_standalone']:.3f} |")
        add(f"| briefqa (passage level) | | | {peer['briefqa_passage_hit1']:.3f} | "
            f"{peer['briefqa_passage_hit1_standalone']:.3f} |")
        add(f"| Haystack (passage level) | {peer['peer']} | {_r(_ratio(peer['peer'], peer['floor']))} | "
            f"{peer['peer_passage_hit1']:.3f} | {peer['peer_passage_hit1_standalone']:.3f} |")
        add("")
        faster = peer["briefqa"].p50 < peer["peer"].p50
        better = peer["briefqa_quote_hit1"] > peer["peer_passage_hit1"]
        targets.append(("Faster than Haystack, with higher hit@1",
                        f"p50 {peer['briefqa'].p50:.1f} vs {peer['peer'].p50:.1f} ms "
                        f"({_r(_ratio(peer['briefqa'], peer['peer']))}×); hit@1 {peer['briefqa_quote_hit1']:.3f} "
                        f"(quote) vs {peer['peer_passage_hit1']:.3f} (passage)", faster and better))

    add("## Targets (reported, not asserted)")
    add("")
    add("| target | figure | |")
    add("| --- | --- | --- |")
    for name, figure, ok in targets:
        add(f"| {name} | {figure} | {_mark(ok)} |")
    add("")
    return "\n".join(out)


def _haystack_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("haystack-ai")
    except metadata.PackageNotFoundError:
        return "?"
