"""Eval questions -> the metrics of ``shared/eval/README.md``, through the same searcher as the API.

Two kinds of file: the brief's JSON lines (evidence strings) and SQuAD JSON, which is scored by
offsets over a temporary index of its articles. Both report the trade-off between abstaining on
unanswerable questions and refusing answerable ones, at several levels, for every kind of
unanswerable question apart: SQuAD 2.0's near misses, and withheld paragraphs (``withhold``).
Fidelity compares each quote with its source as parsed afresh from the corpus file, not with the
index that produced it.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..answers.abstain import Abstainer
from ..answers.quotes import Query, Ranker
from ..answers.searcher import Searcher, open_searcher
from ..embed import Embedder
from ..errors import InputError
from ..index.build.pipeline import build_index
from ..records import Answer
from ..sources.ingest import discover, parse
from .answer_spans import best_f1
from .squad import SquadArticle, SquadQuestion, questions_of, read_squad, write_corpus

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


def source_texts(searcher: Searcher, corpus: Path) -> dict[str, str]:
    """Each indexed source's text as parsed afresh from its file under ``corpus``, by id.

    What fidelity is checked against: a quote must equal this slice, whatever the index holds. A
    source whose file is gone or no longer parses has no entry, so its quotes count as unfaithful.
    """
    by_path = {d.path: d.id for d in searcher.index.documents}
    texts = {}
    for source in discover(corpus):
        doc_id = by_path.get(source.relpath)
        if doc_id is not None:
            try:
                texts[doc_id] = parse(source).text
            except InputError:
                continue
    return texts


@dataclass
class _Tally:
    """The metrics both kinds of question file share, counted one answer at a time.

    What decides a hit differs (evidence strings, or answer offsets); what a hit counts for
    does not. Unanswerable questions are counted by kind ("unanswerable" for the brief's sets,
    "near_miss" and "withheld" for SQuAD), each with its own abstention and trade-off.
    """

    texts: dict[str, str]
    hit1: float = 0.0
    hit3: float = 0.0
    rr: float = 0.0
    passage_hit3: float = 0.0
    false_abstain: float = 0.0
    faithful: int = 0
    returned: int = 0
    answerable: list[float] = field(default_factory=list)
    # kind -> each question's confidence and whether it was refused
    unanswerable: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)

    def add(self, answer: Answer, kind: str, first_hit: int | None, passage_hit3: bool = False) -> None:
        """One answer; ``first_hit`` is the rank of the first quote that answers (None if none)."""
        for r in answer.results:
            text = self.texts.get(r.source.id)
            self.returned += 1
            self.faithful += int(text is not None and text[r.start : r.end] == r.quote)
        if kind == "answerable":
            self.answerable.append(_confidence(answer))
            first = first_hit or 0
            self.hit1 += first == 1
            self.hit3 += 0 < first <= 3
            self.rr += 1.0 / first if first else 0.0
            self.passage_hit3 += passage_hit3
            self.false_abstain += not answer.answered
        else:
            self.unanswerable.setdefault(kind, []).append((_confidence(answer), not answer.answered))

    def metrics(self, passages: bool) -> dict[str, float]:
        na = max(len(self.answerable), 1)
        out = {"hit@1": self.hit1 / na, "hit@3": self.hit3 / na, "mrr": self.rr / na}
        if passages:
            out["passage_hit@3"] = self.passage_hit3 / na
        refused = [r for rows in self.unanswerable.values() for _, r in rows]
        out |= {"false_abstain": self.false_abstain / na, "abstain": sum(refused) / max(len(refused), 1)}
        if len(self.unanswerable) > 1 or set(self.unanswerable) - {"unanswerable"}:
            for kind, rows in sorted(self.unanswerable.items()):
                out[f"abstain_{kind}"] = sum(r for _, r in rows) / len(rows)
        out["fidelity"] = self.faithful / self.returned if self.returned else 1.0
        return {name: round(value, 4) for name, value in out.items()}

    def counts(self) -> dict[str, int]:
        return {
            "answerable": len(self.answerable),
            **{kind: len(rows) for kind, rows in sorted(self.unanswerable.items())},
            "results": self.returned,
        }

    def tradeoff(self) -> dict[str, list[dict[str, float]]]:
        """Per kind of unanswerable question (and all together when there are several kinds)."""
        kinds = {kind: [c for c, _ in rows] for kind, rows in sorted(self.unanswerable.items())}
        if len(kinds) > 1:
            kinds["all"] = [c for rows in kinds.values() for c in rows]
        return {kind: tradeoff(self.answerable, conf) for kind, conf in kinds.items()}


def evaluate(searcher: Searcher, items: list[EvalItem], corpus: Path, k: int = 5) -> dict[str, Any]:
    """Metrics over ``items`` and a per-item record of what was answered.

    ``corpus`` is the folder the index was built from: quotes are checked against its files.
    """
    tally = _Tally(source_texts(searcher, corpus))
    details = []
    for item in items:
        answer = searcher.search(item.question, item.history, k)
        evidence = [normalize(e) for e in item.evidence]
        ranks = [r.rank for r in answer.results if any(e in normalize(r.quote) for e in evidence)]
        first = min(ranks) if ranks else None
        in_passage = any(any(e in normalize(r.passage) for e in evidence) for r in answer.results[:3])
        tally.add(answer, "answerable" if item.evidence else "unanswerable", first, in_passage)
        details.append(
            {
                "id": item.id,
                "type": item.type,
                "question": item.question,
                "answerable": bool(item.evidence),
                "answered": answer.answered,
                "query": answer.query,
                "confidence": answer.confidence,
                "first_hit_rank": first if item.evidence else None,
                "quote": answer.results[0].quote if answer.results else None,
            }
        )
    return {
        "metrics": tally.metrics(passages=True),
        "counts": tally.counts(),
        "targets": TARGETS,
        "tradeoff": tally.tradeoff(),
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
    corpus: Path


def open_squad(path: Path, embedder: Embedder, workdir: Path, withhold: int = 0, articles: int = 0) -> SquadRun:
    """Index the articles of SQuAD file ``path`` under ``workdir``; the questions with their spans.

    ``withhold=N`` leaves every N-th paragraph out of the index and asks its questions as
    withheld; ``articles=N`` takes the file's first N articles only.
    """
    read = read_squad(path)
    if articles:
        read = read[:articles]
    return open_articles(read, embedder, workdir, withhold)


def open_articles(articles: list[SquadArticle], embedder: Embedder, workdir: Path, withhold: int = 0) -> SquadRun:
    """Index exactly ``articles`` under ``workdir`` (reusing an index built there before)."""
    corpus, root = workdir / "corpus", workdir / "index"
    write_corpus(articles, corpus, withhold)
    build_index(corpus, root, embedder)
    searcher = open_searcher(root, embedder)
    return SquadRun(searcher, questions_of(articles, searcher.index.documents, withhold), corpus)


def queries_of(searcher: Searcher, questions: Sequence[str], batch: int = 64) -> Iterator[Query]:
    """Standalone questions as the ranker reads them, embedded in batches (the API embeds one)."""
    for i in range(0, len(questions), batch):
        part = list(questions[i : i + batch])
        encoded = searcher.embedder.encode_full(part)
        yield from (searcher.query(q, q, encoded, j) for j, q in enumerate(part))


def answer_all(searcher: Searcher, questions: Sequence[str], k: int = 5) -> list[Answer]:
    """Answers to standalone questions, embedded in batches."""
    return [searcher.answer(query, k) for query in queries_of(searcher, questions)]


def evaluate_squad(path: Path, embedder: Embedder, k: int = 5, withhold: int = 0) -> dict[str, Any]:
    """The eval metrics for a SQuAD file, scored by offsets over a temporary index."""
    with tempfile.TemporaryDirectory(prefix="briefqa-squad-") as tmp:
        run = open_squad(path, embedder, Path(tmp), withhold)
        report = score_squad(run, answer_all(run.searcher, [q.question for q in run.questions], k))
        return report | {"withhold": withhold}


def evaluate_over_articles(path: Path, squad: Path, embedder: Embedder, k: int = 5) -> dict[str, Any]:
    """The metrics of the JSON lines ``path`` (threads included) over a temporary index of the
    articles of SQuAD file ``squad``: questions written about articles, not about the brief."""
    items = load_items(path)  # a bad file costs no index build
    with tempfile.TemporaryDirectory(prefix="briefqa-articles-") as tmp:
        run = open_squad(squad, embedder, Path(tmp))
        return evaluate(run.searcher, items, run.corpus, k) | {"articles": squad.name}


def score_squad(run: SquadRun, answers: Sequence[Answer]) -> dict[str, Any]:
    """Metrics of answers to a SQuAD run's questions (a quote hits when it covers an answer span)."""
    tally = _Tally(source_texts(run.searcher, run.corpus))
    per_article: dict[str, list[int]] = {}  # article -> [answerable, hit@1]
    # Answered hits at rank 1: whether the reader marked the answer, and its F1 when it did.
    marked: list[float | None] = []
    for q, answer in zip(run.questions, answers, strict=True):
        ranks = [r.rank for r in answer.results if q.answered_by(r.source.id, r.start, r.end)]
        first = min(ranks) if ranks else None
        tally.add(answer, q.kind, first)
        row = per_article.setdefault(q.article, [0, 0])
        if q.answerable:
            row[0] += 1
            row[1] += first == 1
            if first == 1 and answer.answered:
                span = answer.results[0].answer
                text = tally.texts.get(answer.results[0].source.id, "")
                marked.append(None if span is None else best_f1(span.text, [text[a:b] for a, b in q.answers]))
    spans = [f for f in marked if f is not None]
    span_metrics = {
        "answer_marked": round(len(spans) / len(marked), 4) if marked else 0.0,
        "answer_f1": round(sum(spans) / len(spans), 4) if spans else 0.0,
    }
    return {
        "metrics": tally.metrics(passages=False) | span_metrics,
        "counts": {**tally.counts(), "articles": len(per_article)},
        "targets": TARGETS,
        "tradeoff": tally.tradeoff(),
        "articles": {a: round(hits / max(n, 1), 4) for a, (n, hits) in sorted(per_article.items())},
    }


def meets_targets(metrics: dict[str, float]) -> dict[str, bool]:
    """Each target, met or not (``false_abstain`` is an upper bound, the others lower bounds)."""
    return {
        name: metrics[name] <= bound if name == "false_abstain" else metrics[name] >= bound
        for name, bound in TARGETS.items()
    }


def exit_status(report: dict[str, Any]) -> int:
    """What ``briefqa eval`` exits with: 1 when a target the report states is missed (for CI), else 0."""
    return 0 if all(meets_targets(report["metrics"]).values()) else 1


def signal_means(
    path: Path, embedder: Embedder, workdir: Path, ranker: Ranker | None = None, abstainer: Abstainer | None = None
) -> dict[str, Any]:
    """The mean of every ranking and abstention signal over a SQuAD file's questions.

    The fit records this for ``eval/squad2-sample.json`` beside the models; recomputed with the
    code as it is, it must come out the same, or the models were fitted on other signals.
    """
    run = open_squad(path, embedder, workdir)
    searcher = Searcher(run.searcher.index, embedder, ranker, abstainer, reading=None)
    ranking: list[np.ndarray] = []
    abstaining: list[np.ndarray] = []
    for query in queries_of(searcher, [q.question for q in run.questions]):
        judged = searcher.judge(query)
        ranking.extend(s.features for s in judged.scored)
        if judged.signals is not None:
            abstaining.append(judged.signals)
    return {
        "file": path.name,
        "questions": len(run.questions),
        "rank_features": [round(float(v), 4) for v in np.mean(ranking, axis=0)],
        "signals": [round(float(v), 4) for v in np.mean(abstaining, axis=0)],
    }
