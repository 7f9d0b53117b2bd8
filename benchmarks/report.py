"""Results -> the markdown tables that `make bench` prints and writes to ``RESULTS.md``."""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict
from typing import Any

from . import scale
from .timing import Dist


def revive(obj: Any) -> Any:
    """Results read back from ``--json``: latency summaries become ``Dist`` again."""
    if isinstance(obj, dict):
        if set(obj) == {"p50", "p95", "n"}:
            return Dist(**obj)
        return {k: revive(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [revive(v) for v in obj]
    return obj


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
    add(
        f"Run {time.strftime('%Y-%m-%d %H:%M', time.localtime())}, {res['seconds']:.0f} s in all "
        f"(`python -m benchmarks.run{' --full' if res['args'].get('full') else ''}"
        f"{' --quick' if res['args'].get('quick') else ''}`). Latencies are milliseconds, p50 / p95; "
        "every question is distinct (no cache hits). Ratios are of medians, each against the floor "
        "measured interleaved with it (the same moments of a noisy machine). *Contended*: a second "
        "process spins on one core throughout."
    )
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
    add(
        f"| briefqa search, in process | {q['inproc']} | {_r(_ratio(q['inproc'], q['floor_inproc']))} | "
        f"{c['inproc']} | {_r(_ratio(c['inproc'], c['floor_inproc']))} |"
    )
    add(
        f"| briefqa search, HTTP `/api/search` (uvicorn subprocess) | {q['http']} | "
        f"{_r(_ratio(q['http'], q['floor_http']))} | {c['http']} | {_r(_ratio(c['http'], c['floor_http']))} |"
    )
    for name, row in (("quiet", q), ("contended", c)):
        sp = row.get("split")
        if sp:
            add(
                f"- in process, {name}: {sp['texts_mean']:.2f} texts embedded a search ({sp['multi_share']:.0%} of "
                f"searches embed more than the question: its variants without words the corpus lacks); encode "
                f"{sp['encode']}, briefqa's own work (search − encode) {sp['rest']}."
            )
    add("")
    http_ratio = _ratio(q["http"], q["floor_http"])
    targets.append(
        (
            "HTTP search p50 ≤ 1.5× floor on the brief",
            f"{_r(http_ratio)}× quiet ({q['http'].p50:.1f} vs {q['floor_http'].p50:.1f} ms); "
            f"{_r(_ratio(c['http'], c['floor_http']))}× contended",
            http_ratio <= 1.5,
        )
    )

    if res.get("scale"):
        out.extend(scale.render(res["scale"]))
        add("")
    add("## 3. Throughput over HTTP (the brief; closed loop, keep-alive connections)")
    add("")
    add("| concurrency | quiet req/s | ÷ (cores / floor) | latency p50 / p95 | contended req/s | ÷ (cores / floor) |")
    add("| --- | --- | --- | --- | --- | --- |")
    workers = b.get("workers")
    ideal_q, ideal_c = cores / (q["floor"].p50 / 1000), cores / (c["floor"].p50 / 1000)
    for suffix, label in (("", ""), ("_workers", f", {workers} workers")):
        if suffix and not workers:
            continue
        for n in (1, 8):
            tq, tc = q[f"tp{n}{suffix}"], c[f"tp{n}{suffix}"]
            add(
                f"| {n}{label} | {tq['rps']:.1f} | {_r(tq['rps'] / ideal_q)} | {tq['p50']:.1f} / {tq['p95']:.1f} | "
                f"{tc['rps']:.1f} | {_r(tc['rps'] / ideal_c)} |"
            )
    add("")
    if workers:
        add(
            f"Memory (proportional set size, shared pages counted once): one process {b['pss_mb']:.0f} MB; "
            f"{workers} workers and their supervisor {b['workers_pss_mb']:.0f} MB."
        )
        add("")
    add(
        f"cores / floor = {cores} / {q['floor'].p50:.1f} ms = {cores / (q['floor'].p50 / 1000):.0f} req/s quiet "
        f"({cores / (c['floor'].p50 / 1000):.0f} contended)."
    )
    add("")
    best8 = max(q["tp8"]["rps"], q.get("tp8_workers", {"rps": 0.0})["rps"])
    best8_c = max(c["tp8"]["rps"], c.get("tp8_workers", {"rps": 0.0})["rps"])
    tp8 = best8 / (cores / (q["floor"].p50 / 1000))
    targets.append(
        (
            "Throughput at concurrency 8 ≥ 0.8 × cores / floor",
            f"{_r(tp8)} × ({best8:.0f} req/s, the better of 1 and {workers or 1} workers); contended "
            f"{_r(best8_c / (cores / (c['floor'].p50 / 1000)))} ×",
            tp8 >= 0.8,
        )
    )

    tiers = res.get("tiers", {})
    add("## 4. Build")
    add("")
    add(
        "Build and bare encode of the same texts alternate, twice each where both are measured; the faster "
        "of each pair counts."
    )
    add("")
    add("| corpus | passages | texts embedded | build s | passages/s | bare encode passages/s | build ÷ bare |")
    add("| --- | --- | --- | --- | --- | --- | --- |")
    build_ratio = None
    for t in tiers.values():
        if "bare_pps" in t:
            ratio = t["build_pps"] / t["bare_pps"]
            build_ratio = ratio if build_ratio is None else build_ratio
            add(
                f"| generated, {t['sources']} sources | {t['passages']} | {t['texts']} | {t['build_s']:.1f} | "
                f"{t['build_pps']:.1f} | {t['bare_pps']:.1f} | {_r(ratio)} |"
            )
        else:
            add(
                f"| generated, {t['sources']} sources | {t['passages']} | - | {t['build_s']:.1f} | "
                f"{t['build_pps']:.1f} | - | - |"
            )
    add("")
    if build_ratio is not None:
        targets.append(("Build throughput ≥ 0.8× bare encode throughput", f"{_r(build_ratio)}×", build_ratio >= 0.8))
    inc = res.get("incremental")
    if inc:
        add(
            f"Incremental add of one source ({inc['texts']} texts to embed) to a {inc['sources_before']}-source "
            f"corpus: **{inc['seconds']:.1f} s**, of which a bare encode of its texts would take "
            f"{inc['bare_s']:.2f} s ({inc['seconds'] / inc['bare_s']:.0f}×)."
        )
        add("")

    add("## 5. Scale")
    add("")
    add(
        "| passages | dense index | build s | in-process p50 / p95 | × floor | HTTP p50 / p95 | × floor | "
        "server RSS MB | index on disk MB (all) | of which segments MB | serve → first answer s |"
    )
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    add(
        f"| {b['chunks']} (the brief) | IndexFlatIP | {b['build_s']:.1f} | {q['inproc']} | "
        f"{_r(_ratio(q['inproc'], q['floor_inproc']))} | {q['http']} | {_r(http_ratio)} | {b['rss_mb']:.0f} | "
        f"{b['disk_mb']:.2f} | - | {b['first_answer_s']:.1f} |"
    )
    for t in tiers.values():
        add(
            f"| {t['passages']} | {t['dense']} | {t['build_s']:.1f} | {t['inproc']} | "
            f"{_r(_ratio(t['inproc'], t['floor_inproc']))} | {t['http']} | {_r(_ratio(t['http'], t['floor_http']))} | "
            f"{t['rss_mb']:.0f} | {t['disk_mb']:.1f} | {t['cache_mb']:.1f} | {t['first_answer_s']:.1f} |"
        )
    add("")
    add(
        "Where a search's time goes, in process (p50 / p95 ms): the encode inside briefqa (with its extra texts), "
        "briefqa's own work (search − encode), and the lexical part of `retrieve` alone (tokenize, BM25 over "
        "every passage, top 50):"
    )
    add("")
    add("| passages | texts a search | encode | own work | lexical retrieve |")
    add("| --- | --- | --- | --- | --- |")
    qs = q.get("split") or {}
    if qs:
        add(f"| {b['chunks']} (the brief) | {qs['texts_mean']:.2f} | {qs['encode']} | {qs['rest']} | - |")
    for t in tiers.values():
        sp = t.get("split") or {}
        if sp:
            add(f"| {t['passages']} | {sp['texts_mean']:.2f} | {sp['encode']} | {sp['rest']} | {t['lexical']} |")
    lex = res.get("lexical_100k")
    if lex:
        add(
            f"| {lex['passages']} (BM25 only: real generated text, index built in {lex['build_s']:.0f} s) | | | | "
            f"{lex['lexical']} |"
        )
    add("")
    big = tiers.get(100_000) or tiers.get("100000")
    if big:
        r = _ratio(big["http"], big["floor_http"])
        targets.append(("HTTP search p50 ≤ 2× floor at 100,000 passages", f"{_r(r)}×", r <= 2.0))
    else:
        largest = list(tiers.values())[-1] if tiers else None
        note = "not measured"
        syn = (res.get("synthetic_100k") or {}).get("100k")
        if largest and lex and syn and largest.get("hnsw_real"):
            extra = (lex["lexical"].p50 - largest["lexical"].p50) + (
                syn["ann_p50_ms"] - largest["hnsw_real"]["exact_p50_ms"]
            )
            est = (largest["http"].p50 + extra) / largest["floor_http"].p50
            note = (
                f"not built by default (`--full`). Measured at {largest['passages']}: "
                f"{_r(_ratio(largest['http'], largest['floor_http']))}×; ESTIMATE at 100,000 (that, "
                f"{extra:+.1f} ms for the change in BM25 and dense search time measured above): {_r(est)}×"
            )
        elif largest:
            ratio = _ratio(largest["http"], largest["floor_http"])
            note = f"not built by default (`--full`); at {largest['passages']} passages {_r(ratio)}×"
        targets.append(("HTTP search p50 ≤ 2× floor at 100,000 passages", note, None))

    add(
        f"Approximate dense search (`store.dense_index`: HNSW {_hnsw_params(res)}) against "
        "exact `faiss.IndexFlatIP` over the same vectors, in a fresh process; questions are real model "
        "encodings, one per search, depth 50 as `retrieve` asks; latency with faiss's default OpenMP threads "
        "(what briefqa does today) and with one thread:"
    )
    add("")
    add(
        "| vectors | n | build s | recall@10 | recall@50 | ANN p50 / p95 | exact p50 / p95 | "
        "ANN, 1 thread | exact, 1 thread | index MB | RSS Δ MB |"
    )
    add("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    recall_rows = []
    for t in tiers.values():
        h = t.get("hnsw_real")
        if h:
            label = "real (tier vectors" + (", HNSW forced below threshold)" if t["dense"] != "IndexHNSWFlat" else ")")
            recall_rows.append((label, h))
    syn = res.get("synthetic_100k")
    if syn:
        recipe = "normalize(a + 0.5 b + 0.3 noise), a and b random real tier vectors"
        recall_rows.append(
            ("**SYNTHETIC**, same recipe at the real tier's size (compare with the real row)", syn["same_size"])
        )
        recall_rows.append((f"**SYNTHETIC** ({recipe})", syn["100k"]))
    for label, h in recall_rows:
        add(
            f"| {label} | {h['n']} | {h['build_s']:.1f} | {h['recall@10']:.3f} | {h['recall@50']:.3f} | "
            f"{h['ann_p50_ms']:.2f} / {h['ann_p95_ms']:.2f} | {h['exact_p50_ms']:.2f} / {h['exact_p95_ms']:.2f} | "
            f"{h['ann_p50_ms_1t']:.2f} / {h['ann_p95_ms_1t']:.2f} | "
            f"{h['exact_p50_ms_1t']:.2f} / {h['exact_p95_ms_1t']:.2f} | "
            f"{h['size_mb']:.0f} | {h['rss_delta_mb']:.0f} |"
        )
    add("")
    if recall_rows:
        worst = min(h["recall@10"] for label, h in recall_rows if "same recipe" not in label)
        targets.append(
            (
                "Approximate recall@10 ≥ 0.98",
                "; ".join(
                    f"{'synthetic ' if 'SYNTH' in label else 'real '}{h['n']}: {h['recall@10']:.3f}"
                    for label, h in recall_rows
                ),
                worst >= 0.98,
            )
        )

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
        targets.append(
            (
                "Cold start ≤ model load + 2 s",
                f"ask {cold['ask']:.1f} s, serve {cold['serve']:.1f} s vs model load "
                f"{cold['model_load']:.1f} s "
                f"(+{worst - cold['model_load']:.1f} s)",
                worst <= cold["model_load"] + 2.0,
            )
        )

    omp = res.get("omp")
    if omp:
        add("## OpenMP wait policy (bare encode of one question, fresh process, contended)")
        add("")
        add("| OMP_WAIT_POLICY | p50 / p95 |")
        add("| --- | --- |")
        for k, v in omp.items():
            add(f"| {k} | {Dist(**v) if isinstance(v, dict) else v} |")
        add("")

    peer = res.get("peer")
    if peer:
        add(f"## 7. Peer: Haystack {_haystack_version()} hybrid pipeline (the brief, same model)")
        add("")
        add(
            f"BM25 + `SentenceTransformersTextEmbedder` (same weights, local path) -> RRF `DocumentJoiner`, "
            f"{peer['passages']} passages (split at line breaks: one paragraph a line). hit@1 over the "
            f"{peer['answerable']} answerable eval items ({peer['followups']} of them follow-ups, which the "
            "peer gets without history); *standalone* leaves the follow-ups out."
        )
        add("")
        add("| system | p50 / p95 | × floor | hit@1 | hit@1 standalone |")
        add("| --- | --- | --- | --- | --- |")
        add(f"| floor | {peer['floor']} | 1.00 | | |")
        add(
            f"| briefqa (quote level) | {peer['briefqa']} | {_r(_ratio(peer['briefqa'], peer['floor']))} | "
            f"{peer['briefqa_quote_hit1']:.3f} | {peer['briefqa_quote_hit1_standalone']:.3f} |"
        )
        add(
            f"| briefqa (passage level) | | | {peer['briefqa_passage_hit1']:.3f} | "
            f"{peer['briefqa_passage_hit1_standalone']:.3f} |"
        )
        add(
            f"| Haystack (passage level) | {peer['peer']} | {_r(_ratio(peer['peer'], peer['floor']))} | "
            f"{peer['peer_passage_hit1']:.3f} | {peer['peer_passage_hit1_standalone']:.3f} |"
        )
        add("")
        faster = peer["briefqa"].p50 < peer["peer"].p50
        better = peer["briefqa_quote_hit1"] > peer["peer_passage_hit1"]
        targets.append(
            (
                "Faster than Haystack, with higher hit@1",
                f"p50 {peer['briefqa'].p50:.1f} vs {peer['peer'].p50:.1f} ms "
                f"({_r(_ratio(peer['briefqa'], peer['peer']))}×); hit@1 {peer['briefqa_quote_hit1']:.3f} "
                f"(quote) vs {peer['peer_passage_hit1']:.3f} (passage)",
                faster and better,
            )
        )

    add("## Targets (reported, not asserted)")
    add("")
    add("| target | figure | |")
    add("| --- | --- | --- |")
    for name, figure, ok in targets:
        add(f"| {name} | {figure} | {_mark(ok)} |")
    add("")
    return "\n".join(out)


def _hnsw_params(res: dict[str, Any]) -> str:
    probes = [t.get("hnsw_real") for t in res.get("tiers", {}).values()]
    probes += list((res.get("synthetic_100k") or {}).values())
    for p in probes:
        if p and p.get("params", "exact") != "exact":
            return str(p["params"])
    return "parameters as in store.py"


def _haystack_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("haystack-ai")
    except metadata.PackageNotFoundError:
        return "?"
