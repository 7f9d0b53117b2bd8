"""`make bench`: briefqa against the speed of its embedding model, from one brief to 100,000 passages.

    python -m benchmarks.run                 # brief, 1,000 and 10,000 passages; 100,000 with synthetic vectors
    python -m benchmarks.run --full          # also a real 100,000-passage build (tens of minutes)
    python -m benchmarks.run --quick         # fewer questions, 1,000 passages only (to try changes)

Prints the tables and writes them, with the machine's description, to ``benchmarks/RESULTS.md``.
Targets are reported, not asserted.
"""

from __future__ import annotations

import os

# Before torch loads anywhere in this process (briefqa.embed sets the same defaults).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from briefqa.answers.searcher import Searcher, open_searcher
from briefqa.embed import SentenceTransformerEmbedder, load_embedder, resolve_model
from briefqa.evaluation.evaluate import load_items, normalize
from briefqa.index.build.pipeline import build_index
from briefqa.index.loaded_version import IndexVersion
from briefqa.settings import DEFAULT_MODEL

from . import report, scale
from .components import MeteredEmbedder, lexical_index_of, lexical_latency
from .corpus_gen import Generator, QuestionPool, brief_sentences, write_corpus
from .http_load import Client, Server, briefqa_command, throughput
from .machine import describe
from .timing import Dist, contention, paired

REPO = Path(__file__).resolve().parents[1]
BRIEF_CORPUS = REPO / "corpus"
EVAL_FILE = REPO / "eval" / "brief_qa_dev.jsonl"
RESULTS = Path(__file__).with_name("RESULTS.md")
PASSAGES_PER_SOURCE = 10

log = logging.getLogger("benchmarks")


class Bench:
    """One run: the model loaded once, a temp folder for generated corpora and indexes."""

    def _bare_encode_seconds(self, texts: list[str]) -> float:
        """Seconds for the bare sentence-transformers encode of ``texts``, as briefqa batches them."""
        t = time.perf_counter()
        self.model.encode(
            texts,
            batch_size=self.torch_embedder.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return time.perf_counter() - t

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="briefqa-bench-"))
        # What briefqa runs (ONNX Runtime), and the floor it is measured against: the same weights
        # on sentence-transformers and torch, as every peer runs them.
        self.embedder = load_embedder(DEFAULT_MODEL)
        self.torch_embedder = SentenceTransformerEmbedder(DEFAULT_MODEL)
        self.model = self.torch_embedder.sentence_transformer
        self.results: dict[str, Any] = {"machine": describe(), "args": vars(args)}
        for q in ("warm up", "What does the alliance plan in orbit?"):
            self.floor(q)
        brief_text = (BRIEF_CORPUS / "us-japan-space-alliance.txt").read_text(encoding="utf-8")
        self.brief_sentences = brief_sentences(brief_text)
        self.eval_items = load_items(EVAL_FILE)

    def floor(self, question: str) -> object:
        """The floor: a bare sentence-transformers encode of one question with the same model."""
        return self.model.encode([question], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    # ---- the brief: latency, throughput, contention, the peer -------------------------------------

    def brief(self) -> None:
        n = self.args.questions
        root = self.tmp / "index-brief"
        report_ = build_index(BRIEF_CORPUS, root, self.embedder)
        index = open_searcher(root, self.embedder).index
        pool = QuestionPool([i.question for i in self.eval_items], self.brief_sentences)
        out: dict[str, Any] = {"chunks": report_.chunks, "build_s": report_.seconds}
        with Server(BRIEF_CORPUS, root, self.tmp / "server-brief.log") as server:
            out["first_answer_s"] = server.first_answer
            for scenario, busy in (("quiet", False), ("contended", True)):
                log.info("brief: latency and throughput, %s", scenario)
                row: dict[str, Any] = {}
                with contention(busy):
                    metered = MeteredEmbedder(self.embedder)
                    searcher = Searcher(index, metered)
                    f1, s1 = paired(pool.take(n), self.floor, searcher.search)
                    row["split"] = _split(s1, metered.calls)
                    client = Client(server.port)
                    client.search(pool.take(1)[0])
                    f2, s2 = paired(pool.take(n), self.floor, client.search)
                    client.close()
                    row["floor"] = Dist.of(f1 + f2)
                    row["floor_inproc"], row["inproc"] = Dist.of(f1), Dist.of(s1)
                    row["floor_http"], row["http"] = Dist.of(f2), Dist.of(s2)
                    for c in (1, 8):
                        row[f"tp{c}"] = throughput(server.port, pool.take(self.args.tp_requests * (1 + c // 8)), c)
                out[scenario] = row
            out["rss_mb"] = server.rss_mb()
            out["pss_mb"] = server.pss_mb()
        # The same index served by two worker processes, each encoding on its share of the cores.
        workers = 2
        with Server(
            BRIEF_CORPUS, root, self.tmp / "server-brief-workers.log", {"BRIEFQA_WORKERS": str(workers)}
        ) as server:
            for scenario, busy in (("quiet", False), ("contended", True)):
                log.info("brief: throughput with %d workers, %s", workers, scenario)
                with contention(busy):
                    for c in (1, 8):
                        out[scenario][f"tp{c}_workers"] = throughput(
                            server.port, pool.take(self.args.tp_requests * (1 + c // 8)), c
                        )
            out["workers"] = workers
            out["workers_pss_mb"] = server.pss_mb()
        out["disk_mb"] = _size_mb(root)
        self.results["brief"] = out
        self.brief_root, self.brief_index, self.brief_pool = root, index, pool

    def peer(self) -> None:
        log.info("peer: Haystack hybrid pipeline")
        from .peer_haystack import HaystackPeer

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            peer = HaystackPeer(sorted(BRIEF_CORPUS.glob("*.txt")), resolve_model(DEFAULT_MODEL))
            setup = time.perf_counter() - t
            peer.search("warm up")
            questions = self.brief_pool.take(self.args.questions)
            searcher = Searcher(self.brief_index, self.embedder)
            times: dict[str, list[float]] = {"floor": [], "briefqa": [], "peer": []}
            fns: dict[str, Callable[[str], object]] = {
                "floor": self.floor,
                "briefqa": searcher.search,
                "peer": peer.search,
            }
            order = list(fns)
            for i, q in enumerate(questions):
                for name in order[i % 3 :] + order[: i % 3]:  # rotate who goes first
                    t = time.perf_counter()
                    fns[name](q)
                    times[name].append(time.perf_counter() - t)
            quality = self._hit_at_1(Searcher(self.brief_index, self.embedder), peer)
        self.results["peer"] = {
            "setup_s": setup,
            "passages": peer.passages,
            **{k: Dist.of(v) for k, v in times.items()},
            **quality,
        }

    def _hit_at_1(self, searcher: Searcher, peer: Any) -> dict[str, Any]:
        rows: dict[str, list[Any]] = {"briefqa_quote": [], "briefqa_passage": [], "peer_passage": [], "followup": []}
        for item in self.eval_items:
            if not item.evidence:
                continue
            evidence = [normalize(e) for e in item.evidence]
            answer = searcher.search(item.question, item.history, 5)
            docs = peer.search(item.question)
            top = answer.results[0] if answer.results else None
            rows["briefqa_quote"].append(bool(top and any(e in normalize(top.quote) for e in evidence)))
            rows["briefqa_passage"].append(bool(top and any(e in normalize(top.passage) for e in evidence)))
            rows["peer_passage"].append(bool(docs and any(e in normalize(docs[0].content or "") for e in evidence)))
            rows["followup"].append(bool(item.history))
        follow = np.array(rows.pop("followup"))
        out: dict[str, Any] = {"answerable": len(follow), "followups": int(follow.sum())}
        for name, hits in rows.items():
            h = np.array(hits)
            out[f"{name}_hit1"] = float(h.mean())
            out[f"{name}_hit1_standalone"] = float(h[~follow].mean()) if (~follow).any() else float("nan")
        return out

    # ---- scale tiers (issue 16): the brief, 3,000 real paragraphs, 100,000 with --full, 1M projected

    def scale_tiers(self) -> dict[str, Any]:
        paragraphs, questions, where = scale.real_paragraphs(3000 + 3 * scale.PER_SOURCE)
        extra = paragraphs[3000:]
        rows: list[dict[str, Any]] = []
        brief = self.tmp / "corpus-scale-brief"
        shutil.copytree(BRIEF_CORPUS, brief)
        log.info("scale: the brief")
        rows.append(self._scale_tier("brief", brief, self.brief_pool.take(200), extra))
        log.info("scale: 3,000 real paragraphs (%s)", where)
        corpus = self.tmp / "corpus-scale-3000"
        scale.write_sources(corpus, paragraphs[:3000])
        rows.append(self._scale_tier("3,000 real paragraphs", corpus, questions, extra))
        log.info("scale: the same 3,000 paragraphs in Qdrant's embedded mode")
        qdrant = scale.qdrant_tier(corpus, questions, self.tmp, self.embedder, self.tmp / "index-3,000 real paragraphs")
        if self.args.full:
            log.info("scale: 100,000 passages (generated from the brief's sentences)")
            gen = Generator(self.brief_sentences, self.embedder.vocabulary(), seed=16)
            big = self.tmp / "corpus-scale-100000"
            write_corpus(big, gen, 10_000, scale.PER_SOURCE)
            pool = QuestionPool([], [p.read_text() for p in sorted(big.glob("*"))[::50]], seed=16)
            rows.append(self._scale_tier("100,000 generated passages", big, pool.take(200), extra))
        rows.append(scale.projection(rows[0], rows[-1], 1_000_000))
        return {"source": where, "rows": rows, "qdrant": qdrant}

    def _scale_tier(self, name: str, corpus: Path, questions: Sequence[str], extra: list[str]) -> dict[str, Any]:
        return scale.tier(
            name, corpus, questions, extra, self.tmp, self.embedder, self._bare_encode_seconds, self.floor
        )

    # ---- cold start and the OpenMP hazard -------------------------------------------------------

    def cold_start(self) -> None:
        log.info("cold start")
        runs = self.args.cold_runs
        env = {**os.environ, "BRIEFQA_CORPUS": str(BRIEF_CORPUS), "BRIEFQA_INDEX": str(self.brief_root)}
        model_load, ask, serve = [], [], []
        for i in range(runs):
            model_load.append(_first_line_time([sys.executable, "-m", "benchmarks.floor_probe", "load"], env))
            ask.append(
                _first_line_time(
                    [
                        *briefqa_command(),
                        "ask",
                        "--json",
                        "--k",
                        "5",
                        f"Which missile defense programs is Japan part of, case {i}?",
                    ],
                    env,
                )
            )
            with Server(BRIEF_CORPUS, self.brief_root, self.tmp / "server-cold.log") as server:
                serve.append(server.first_answer)
        self.results["cold"] = {
            "model_load": _median(model_load),
            "ask": _median(ask),
            "serve": _median(serve),
            "runs": runs,
            "samples": {"model_load": model_load, "ask": ask, "serve": serve},
        }

    def omp_hazard(self) -> None:
        log.info("OpenMP wait policy under contention")
        out = {}
        with contention(True):
            for policy in ("PASSIVE", "ACTIVE"):
                env = {**os.environ, "OMP_WAIT_POLICY": policy}
                proc = subprocess.run(
                    [sys.executable, "-m", "benchmarks.floor_probe", "floor", "60"],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=REPO,
                )
                out[policy] = json.loads(proc.stdout.strip().splitlines()[-1])
        self.results["omp"] = out

    # ---- generated tiers: build, incremental add, scale -----------------------------------------

    def tier(self, passages: int) -> dict[str, Any]:
        n_sources = max(1, passages // PASSAGES_PER_SOURCE)
        corpus = self.tmp / f"corpus-{passages}"
        root = self.tmp / f"index-{passages}"
        gen = Generator(self.brief_sentences, self.embedder.vocabulary(), seed=passages)
        paths = write_corpus(corpus, gen, n_sources, PASSAGES_PER_SOURCE)
        log.info("tier %d: building %d sources", passages, n_sources)
        rep = build_index(corpus, root, self.embedder)
        index = open_searcher(root, self.embedder).index
        out: dict[str, Any] = {
            "passages": rep.chunks,
            "sources": rep.documents,
            "sentences": index.sentence_count,
            "dense": index.dense_kind,
            "build_s": rep.seconds,
            "build_pps": rep.chunks / rep.seconds,
            "disk_mb": _size_mb(root),
            "cache_mb": _size_mb(root / "segments"),
        }
        texts = [p.read_text(encoding="utf-8") for p in paths[:: max(1, len(paths) // 200)]]
        pool = QuestionPool([], texts, seed=passages)
        if passages <= self.args.bare_max:
            # Build and bare encode alternate, twice each, and the faster of each pair counts: one
            # sample of either is at the mercy of whatever else the shared cores are doing.
            embedded = _embedded_texts(index)
            bare_runs, build_runs = [], [rep.seconds]
            for again in (False, True):
                log.info("tier %d: bare encode of the same texts", passages)
                bare_runs.append(self._bare_encode_seconds(embedded))
                if not again:
                    log.info("tier %d: full rebuild", passages)
                    build_runs.append(build_index(corpus, root, self.embedder, full=True).seconds)
            index = open_searcher(root, self.embedder).index
            build, bare = min(build_runs), min(bare_runs)
            out.update(
                build_s=build,
                build_pps=rep.chunks / build,
                bare_s=bare,
                bare_pps=rep.chunks / bare,
                texts=len(embedded),
                build_runs=build_runs,
                bare_runs=bare_runs,
            )
        log.info("tier %d: search in process", passages)
        metered = MeteredEmbedder(self.embedder)
        searcher = Searcher(index, metered)
        searcher.search("warm up the searcher")
        metered.calls.clear()
        f, s = paired(pool.take(self.args.tier_questions), self.floor, searcher.search)
        out.update(
            floor_inproc=Dist.of(f),
            inproc=Dist.of(s),
            split=_split(s, metered.calls),
            lexical=Dist.of(lexical_latency(index.lexical, pool.take(self.args.tier_questions))),
        )
        log.info("tier %d: search over HTTP", passages)
        with Server(corpus, root, self.tmp / f"server-{passages}.log") as server:
            out["first_answer_s"] = server.first_answer
            client = Client(server.port)
            client.search("warm up the server")
            f, s = paired(pool.take(self.args.tier_questions), self.floor, client.search)
            out.update(floor_http=Dist.of(f), http=Dist.of(s), rss_mb=server.rss_mb())
            client.close()
        if n_sources >= 1000 and "incremental" not in self.results:
            self.results["incremental"] = self._incremental(corpus, root, gen, n_sources)
        if out["dense"] != "IndexHNSWFlat":
            queries = self._encode(pool.take(200) + [i.question for i in self.eval_items])
            out["hnsw_real"] = _ann_probe(self.tmp, index.chunk_vectors(), queries, force_hnsw=True)
        else:
            queries = self._encode(pool.take(200))
            out["hnsw_real"] = _ann_probe(self.tmp, index.chunk_vectors(), queries)
        self.tier_vectors = (index.chunk_vectors(), index.sentence_vectors(), pool)
        return out

    def _incremental(self, corpus: Path, root: Path, gen: Generator, n_sources: int) -> dict[str, Any]:
        log.info("incremental: one source added to %d", n_sources)
        [path] = write_corpus(corpus, gen, 1, PASSAGES_PER_SOURCE, start=n_sources)
        rep = build_index(corpus, root, self.embedder)
        index = open_searcher(root, self.embedder).index
        texts = _embedded_texts(index, only_doc=index.document_number(rep.added[0]))
        bare = self._bare_encode_seconds(texts)
        return {
            "sources_before": n_sources,
            "added": rep.added,
            "seconds": rep.seconds,
            "texts": len(texts),
            "bare_s": bare,
            "path": path.name,
        }

    def synthetic_100k(self) -> dict[str, Any]:
        """100,000 vectors derived from the real generated-tier vectors (labelled synthetic)."""
        log.info("100k: synthetic vectors, ANN only")
        chunks, sentences, pool = self.tier_vectors
        real = np.vstack([chunks, sentences]).astype(np.float32)
        rng = np.random.default_rng(100_000)
        n, dim = 100_000, real.shape[1]
        a = real[rng.integers(0, len(real), n)]
        b = real[rng.integers(0, len(real), n)]
        noise = rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
        vectors = a + 0.5 * b + 0.3 * noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        queries = self._encode(pool.take(200) + [i.question for i in self.eval_items])
        out = {"100k": _ann_probe(self.tmp, vectors.astype(np.float32), queries)}
        # The same recipe at the size of the real tier, to show how it compares with real vectors.
        m = len(chunks)
        small = real[rng.integers(0, len(real), m)] + 0.5 * real[rng.integers(0, len(real), m)]
        small += 0.3 * rng.standard_normal((m, dim)).astype(np.float32) / np.sqrt(dim)
        small /= np.linalg.norm(small, axis=1, keepdims=True)
        out["same_size"] = _ann_probe(self.tmp, small.astype(np.float32), queries, force_hnsw=True)
        return out

    def lexical_100k(self) -> dict[str, Any]:
        """briefqa's BM25 over 100,000 real generated passages (text only: no vectors are needed)."""
        log.info("100k: lexical index over generated passages")
        gen = Generator(self.brief_sentences, self.embedder.vocabulary(), seed=100_000)
        texts = [f"{gen.heading()}\n{gen.sentence()} {gen.sentence()}" for _ in range(100_000)]
        index, seconds = lexical_index_of(texts)
        pool = QuestionPool([], texts[::500], seed=100_000)
        return {
            "build_s": seconds,
            "passages": len(texts),
            "lexical": Dist.of(lexical_latency(index, pool.take(self.args.tier_questions))),
        }

    def _encode(self, questions: Sequence[str]) -> np.ndarray:
        return np.asarray(self.embedder.encode(list(questions)), dtype=np.float32)

    # ---- the whole run ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        if self.args.scale_only:
            self.brief_pool = QuestionPool([i.question for i in self.eval_items], self.brief_sentences)
            self.results["scale"] = self.scale_tiers()
            self.results["seconds"] = time.perf_counter() - started
            return self.results
        self.brief()
        self.results["scale"] = self.scale_tiers()
        if not self.args.skip_peer:
            self.peer()
        self.cold_start()
        self.omp_hazard()
        tiers = [1000] if self.args.quick else [1000, 10_000]
        if self.args.full:
            tiers.append(100_000)
        self.results["tiers"] = {}
        for passages in tiers:
            self.results["tiers"][passages] = self.tier(passages)
        if not self.args.full:
            self.results["synthetic_100k"] = self.synthetic_100k()
            self.results["lexical_100k"] = self.lexical_100k()
        self.results["seconds"] = time.perf_counter() - started
        self.results["machine"]["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        return self.results

    def close(self) -> None:
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _embedded_texts(index: IndexVersion, only_doc: int | None = None) -> list[str]:
    """What a build embeds for these chunks, in the build's order: each passage once (its
    sentences' vectors and word pieces come from the same forward pass)."""
    return [index.passage_text(c) for c in index.chunks() if only_doc is None or c.doc == only_doc]


def _ann_probe(tmp: Path, vectors: np.ndarray, queries: np.ndarray, force_hnsw: bool = False) -> dict[str, Any]:
    vpath, qpath = tmp / "ann-vectors.npy", tmp / "ann-queries.npy"
    np.save(vpath, np.ascontiguousarray(vectors, dtype=np.float32))
    np.save(qpath, queries)
    cmd = [sys.executable, "-m", "benchmarks.ann_probe", str(vpath), str(qpath)]
    if force_hnsw:
        cmd.append("--force-hnsw")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
    vpath.unlink()
    qpath.unlink()
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _first_line_time(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``cmd`` to its first line on stdout (the answer, or "ready")."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.stdout.read()
    if proc.wait() != 0 or not line:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed with {proc.returncode}")
    return elapsed


def _split(search_s: Sequence[float], calls: Sequence[tuple[int, float]]) -> dict[str, Any]:
    """Per search: texts embedded, time in encode, and the rest (briefqa's own work)."""
    if len(calls) != len(search_s):
        return {}
    texts = [n for n, _ in calls]
    encode = [t for _, t in calls]
    rest = [s - e for s, e in zip(search_s, encode, strict=True)]
    return {
        "texts_mean": float(np.mean(texts)),
        "multi_share": float(np.mean([n > 1 for n in texts])),
        "encode": Dist.of(encode),
        "rest": Dist.of(rest),
    }


def _median(xs: Sequence[float]) -> float:
    return float(np.median(xs))


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20 if folder.exists() else 0.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="also build a real 100,000-passage corpus (slow)")
    p.add_argument("--quick", action="store_true", help="fewer questions and the 1,000-passage tier only")
    p.add_argument("--skip-peer", action="store_true", help="leave out the Haystack comparison")
    p.add_argument("--scale-only", action="store_true", help="the brief and the scale tiers (issue 16) only")
    p.add_argument("--keep", action="store_true", help="keep the temp folder of corpora, indexes and logs")
    p.add_argument("--out", type=Path, default=RESULTS, help="where to write the results (markdown)")
    p.add_argument("--json", type=Path, default=None, help="also write the raw results as JSON")
    p.add_argument("--render", type=Path, default=None, help="only rewrite --out from a saved --json file")
    args = p.parse_args(argv)
    args.questions = 40 if args.quick else 120
    args.tier_questions = 30 if args.quick else 100
    args.tp_requests = 60 if args.quick else 160
    args.cold_runs = 1 if args.quick else 3
    args.bare_max = 1000
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        results = report.revive(json.loads(args.render.read_text(encoding="utf-8")))
        text = report.render(results)
        print(text)
        args.out.write_text(text, encoding="utf-8")
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    log.setLevel(logging.INFO)
    os.chdir(REPO)
    bench = Bench(args)
    try:
        results = bench.run()
    finally:
        bench.close()
    if args.scale_only:
        print("\n".join(scale.render(results["scale"])))
        if args.json:
            args.json.write_text(json.dumps(results, default=report.jsonable, indent=1), encoding="utf-8")
        return 0
    text = report.render(results)
    print(text)
    args.out.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(results, default=report.jsonable, indent=1), encoding="utf-8")
    log.info("wrote %s (%.0f s)", args.out, results["seconds"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
