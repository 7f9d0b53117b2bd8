"""Eval questions -> the metrics of ``shared/eval/README.md``, through the same searcher as the API.

Two kinds of file: the brief's JSON lines (evidence strings) and SQuAD v2.0 JSON, which is
scored by offsets over a temporary index of its articles. Both report the trade-off between
abstaining on unanswerable questions and refusing answerable ones, at several levels.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .build import build_index
from .embed import Embedder
from .errors import InputError
from .records import Answer
from .searcher import Searcher, open_searcher
from .squad import SquadQuestion, questions_of, read_squad, write_corpus

# The false-abstention levels at which the trade-off is reported.
TRADEOFF_LEVELS = (0.05, 0.10, 0.20)

TARGETS = {"hit@1": 0.90, "hit@3": 0.96, "abstain": 0.90, "false_abstain": 0.05, "fidelity": 1.0}


def normalize(text: str) -> str:
    """White space folded, curly quotes and apostrophes made straight."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True, slots=True)
class EvalItem:
    id: str
    question: str
    history: list[str]
    evidence: list[str]
    type: str


def load_items(path: Path) -> list[EvalItem]:
    """Read a JSONL eval file; a malformed line is an ``InputError`` naming file and line."""
    items = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            items.append(
                EvalItem(
                    str(obj.get("id", n)),
                    obj["question"],
                    list(obj.get("history", [])),
                    list(obj.get("evidence", [])),
                    str(obj.get("type", "")),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{n}: not an eval item ({exc})") from None
    if not items:
        raise InputError(f"{path}: no eval items")
    return items


def evaluate(searcher: Searcher, items: list[EvalItem], k: int = 5) -> dict[str, Any]:
    """Metrics over ``items`` and a per-item record of what was answered."""
    answerable = [i for i in items if i.evidence]
    unanswerable = [i for i in items if not i.evidence]
    hit1 = hit3 = phit3 = rr = false_abstain = abstained = 0.0
    faithful = returned = 0
    details = []
    confidence: dict[bool, list[float]] = {True: [], False: []}
    for item in items:
        answer = searcher.search(item.question, item.history, k)
        confidence[bool(item.evidence)].append(_confidence(answer))
        evidence = [normalize(e) for e in item.evidence]
        ranks = [r.rank for r in answer.results if any(e in normalize(r.quote) for e in evidence)]
        for r in answer.results:
            doc = searcher.document(r.source.id)
            returned += 1
            faithful += int(doc is not None and doc.text[r.start : r.end] == r.quote)
        if item.evidence:
            first = min(ranks) if ranks else 0
            hit1 += first == 1
            hit3 += 0 < first <= 3
            rr += 1.0 / first if first else 0.0
            phit3 += any(any(e in normalize(r.passage) for e in evidence) for r in answer.results[:3])
            false_abstain += not answer.answered
        else:
            abstained += not answer.answered
        details.append(
            {
                "id": item.id,
                "type": item.type,
                "question": item.question,
                "answered": answer.answered,
                "query": answer.query,
                "confidence": answer.confidence,
                "first_hit_rank": (min(ranks) if ranks else None) if item.evidence else None,
                "quote": answer.results[0].quote if answer.results else None,
            }
        )
    na, nu = max(len(answerable), 1), max(len(unanswerable), 1)
    metrics = {
        "hit@1": hit1 / na,
        "hit@3": hit3 / na,
        "mrr": rr / na,
        "passage_hit@3": phit3 / na,
        "false_abstain": false_abstain / na,
        "abstain": abstained / nu,
        "fidelity": faithful / returned if returned else 1.0,
    }
    return {
        "metrics": {k_: round(v, 4) for k_, v in metrics.items()},
        "counts": {"answerable": len(answerable), "unanswerable": len(unanswerable), "results": returned},
        "targets": TARGETS,
        "tradeoff": tradeoff(confidence[True], confidence[False]),
        "items": details,
    }


def _confidence(answer: Answer) -> float:
    # Nothing ranked (no searchable word) is the surest abstention there is.
    return -1.0 if answer.confidence is None else answer.confidence


def tradeoff(
    answerable: Sequence[float], unanswerable: Sequence[float], levels: Sequence[float] = TRADEOFF_LEVELS
) -> list[dict[str, float]]:
    """Abstention on unanswerable questions when the threshold refuses ``level`` of the answerable.

    Two methods compare fairly only at equal false abstention: this is the curve at a few points.
    """
    if not answerable or not unanswerable:
        return []
    pos, neg = np.asarray(answerable), np.asarray(unanswerable)
    out = []
    for level in levels:
        threshold = float(np.quantile(pos, level))
        out.append(
            {
                "false_abstain": round(float((pos < threshold).mean()), 4),
                "abstain": round(float((neg < threshold).mean()), 4),
                "threshold": round(threshold, 4),
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class SquadRun:
    """A temporary index of a SQuAD file's articles, its searcher and its questions."""

    searcher: Searcher
    questions: list[SquadQuestion]


def open_squad(path: Path, embedder: Embedder, workdir: Path) -> SquadRun:
    """Index the articles of SQuAD file ``path`` under ``workdir``; the questions with their spans."""
    articles = read_squad(path)
    corpus, root = workdir / "corpus", workdir / "index"
    write_corpus(articles, corpus)
    build_index(corpus, root, embedder)
    searcher = open_searcher(root, embedder)
    return SquadRun(searcher, questions_of(articles, searcher.index.documents))


def answer_all(searcher: Searcher, questions: Sequence[str], k: int = 5, batch: int = 64) -> list[Answer]:
    """Answers to standalone questions, embedded in batches (what the API does one at a time)."""
    out: list[Answer] = []
    for i in range(0, len(questions), batch):
        part = list(questions[i : i + batch])
        encoded = searcher.embedder.encode_full(part)
        out.extend(searcher.answer(searcher.query(q, q, encoded, j), k) for j, q in enumerate(part))
    return out


def evaluate_squad(path: Path, embedder: Embedder, k: int = 5) -> dict[str, Any]:
    """The eval metrics for a SQuAD v2.0 file, scored by offsets over a temporary index."""
    with tempfile.TemporaryDirectory(prefix="briefqa-squad-") as tmp:
        run = open_squad(path, embedder, Path(tmp))
        return score_squad(run, answer_all(run.searcher, [q.question for q in run.questions], k))


def score_squad(run: SquadRun, answers: Sequence[Answer]) -> dict[str, Any]:
    """Metrics of answers to a SQuAD run's questions (a quote hits when it covers an answer span)."""
    searcher = run.searcher
    hit1 = hit3 = rr = false_abstain = abstained = 0.0
    faithful = returned = 0
    confidence: dict[bool, list[float]] = {True: [], False: []}
    per_article: dict[str, dict[str, float]] = {}
    for q, answer in zip(run.questions, answers, strict=True):
        confidence[q.answerable].append(_confidence(answer))
        for r in answer.results:
            doc = searcher.document(r.source.id)
            returned += 1
            faithful += int(doc is not None and doc.text[r.start : r.end] == r.quote)
        row = per_article.setdefault(q.article, {"answerable": 0, "hit@1": 0.0})
        if q.answerable:
            ranks = [r.rank for r in answer.results if q.answered_by(r.source.id, r.start, r.end)]
            first = min(ranks) if ranks else 0
            hit1 += first == 1
            hit3 += 0 < first <= 3
            rr += 1.0 / first if first else 0.0
            false_abstain += not answer.answered
            row["answerable"] += 1
            row["hit@1"] += first == 1
        else:
            abstained += not answer.answered
    na = max(len(confidence[True]), 1)
    nu = max(len(confidence[False]), 1)
    metrics = {
        "hit@1": hit1 / na,
        "hit@3": hit3 / na,
        "mrr": rr / na,
        "false_abstain": false_abstain / na,
        "abstain": abstained / nu,
        "fidelity": faithful / returned if returned else 1.0,
    }
    return {
        "metrics": {k_: round(v, 4) for k_, v in metrics.items()},
        "counts": {
            "answerable": len(confidence[True]),
            "unanswerable": len(confidence[False]),
            "results": returned,
            "articles": len(per_article),
        },
        "targets": TARGETS,
        "tradeoff": tradeoff(confidence[True], confidence[False]),
        "articles": {a: round(r["hit@1"] / max(r["answerable"], 1), 4) for a, r in sorted(per_article.items())},
    }


def meets_targets(metrics: dict[str, float]) -> dict[str, bool]:
    """Each target, met or not (``false_abstain`` is an upper bound, the others lower bounds)."""
    return {
        name: metrics[name] <= bound if name == "false_abstain" else metrics[name] >= bound
        for name, bound in TARGETS.items()
    }
