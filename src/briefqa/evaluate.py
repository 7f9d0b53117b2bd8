"""Eval questions -> the metrics of ``shared/eval/README.md``, through the same searcher as the API."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError
from .searcher import Searcher
from .store import IndexData

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
            items.append(EvalItem(str(obj.get("id", n)), obj["question"], list(obj.get("history", [])),
                                  list(obj.get("evidence", [])), str(obj.get("type", ""))))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{n}: not an eval item ({exc})") from None
    if not items:
        raise InputError(f"{path}: no eval items")
    return items


def evaluate(searcher: Searcher, items: list[EvalItem], k: int = 5) -> dict[str, Any]:
    """Metrics over ``items`` and a per-item record of what was answered."""
    data: IndexData = searcher.data
    answerable = [i for i in items if i.evidence]
    unanswerable = [i for i in items if not i.evidence]
    hit1 = hit3 = phit3 = rr = false_abstain = abstained = 0.0
    faithful = returned = 0
    details = []
    for item in items:
        answer = searcher.search(item.question, item.history, k)
        evidence = [normalize(e) for e in item.evidence]
        ranks = [r.rank for r in answer.results if any(e in normalize(r.quote) for e in evidence)]
        for r in answer.results:
            doc = data.document(r.source.id)
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
        details.append({
            "id": item.id, "type": item.type, "answered": answer.answered, "query": answer.query,
            "first_hit_rank": (min(ranks) if ranks else None) if item.evidence else None,
            "quote": answer.results[0].quote if answer.results else None,
        })
    na, nu = max(len(answerable), 1), max(len(unanswerable), 1)
    metrics = {
        "hit@1": hit1 / na, "hit@3": hit3 / na, "mrr": rr / na, "passage_hit@3": phit3 / na,
        "false_abstain": false_abstain / na, "abstain": abstained / nu,
        "fidelity": faithful / returned if returned else 1.0,
    }
    return {
        "metrics": {k_: round(v, 4) for k_, v in metrics.items()},
        "counts": {"answerable": len(answerable), "unanswerable": len(unanswerable), "results": returned},
        "targets": TARGETS,
        "items": details,
    }


def meets_targets(metrics: dict[str, float]) -> dict[str, bool]:
    """Each target, met or not (``false_abstain`` is an upper bound, the others lower bounds)."""
    return {
        name: metrics[name] <= bound if name == "false_abstain" else metrics[name] >= bound
        for name, bound in TARGETS.items()
    }
