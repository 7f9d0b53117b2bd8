"""Fit the reader (``make fit``): a small cross-encoder over the product's own candidates.

Data (``training/collect.py``, the groups ``fit_models`` uses too, plus SQuAD 2.0's other 19 dev
articles): each question asked through the product's searcher, its candidates ranked by the
shipped ranker. The reader trains on the ``fit`` groups (SQuAD 1.1 articles, every third paragraph
withheld) and the ``other`` group (answerable questions and near misses):

- an answerable question gives its labelled answer sentence (with the answer's span) and
  ``NEGATIVES`` wrong candidates of its top ``TOP``, drawn anew each epoch: the hard negatives
  are the other sentences the product itself ranked high;
- a withheld-paragraph question and a near miss give their top ``NEGATIVES`` candidates (no
  sentence answers them, and the span head learns to mark none).

Three losses from one pass: the answer logit against the label (binary cross-entropy); the
relevance logit, a softmax over each answerable question's candidates (it only has to order
them); the span head's start and end over the sentence's pieces, or the first piece for no
answer. Seeded; a checkpoint every ``SAVE`` steps under ``training/.work/reader/``, so a stopped
run resumes (``--minutes`` bounds one sitting); every ``CURVE`` steps the learning curve gets a
point measured on held-out questions (``curve.json``).

Then, on questions the reader never saw (the ``val`` and ``single`` groups' held-out training
articles, and the SQuAD 2.0 dev half), the product's decision is refitted with the reader's
outputs: the ranker's score plus a weight of the relevance logit orders the top ``TOP``, and a
logistic model of the shipped abstainer's logit and the best candidate's answer logit decides;
each is chosen out of fold by dev article halves, and the threshold refuses ``MAX_FALSE_ABSTAIN``
of the answerable questions of held-out articles, one article an index (as ``fit_models``).

    python -m training.fit_reader [--minutes 60] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.collect import DEV, OTHER, REPO, TRAIN, WORK, Group, collect

READER = REPO / "src" / "briefqa" / "models" / "reader"
OUT = WORK / "reader-fit"
TOP = 8
NEGATIVES = 3
LAYERS = 3
MAX_PIECES = 128
QUESTIONS_PER_BATCH = 8
BUCKET = 100 * QUESTIONS_PER_BATCH
SAVE = 100
CURVE = 400
CURVE_QUESTIONS = 400
LEVELS = (0.05, 0.10, 0.20)
MAX_FALSE_ABSTAIN = 0.05
RELEVANCE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
# The span head marks an answer when it prefers it to none by more than a margin: the lowest
# of these whose marked answers reach SPAN_F1 (the bar for SQuAD's token F1).
SPAN_MARGINS = (-1e9, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0)
SPAN_F1 = 0.75
NEVER = 1e9
NEAR_MISS_WEIGHTS = (1.0, 2.0, 4.0, 8.0)
# How many of the ranker's first candidates the reader may read: fewer cost less time a question.
READS = (2, 3, 4, 6, 8)
READ_SLACK = 0.005
SEED = 7
FORMAT = 1


@dataclass(frozen=True)
class Item:
    """One question's top candidates as the shipped models rank them, with what answers it."""

    role: str
    article: str
    kind: str
    text: str
    sentences: tuple[str, ...]
    labels: tuple[int, ...]
    # Per sentence: the first annotated answer inside it, as offsets of the sentence; else None.
    spans: tuple[tuple[int, int] | None, ...]
    ranker: tuple[float, ...]
    probability: float  # the shipped abstainer's
    # The labelled answer sentence and its span when the ranker put it below the top TOP.
    below: tuple[str, tuple[int, int]] | None
    golds: tuple[str, ...]  # the annotated answers' texts


def _span_in(start: int, end: int, answers: Sequence[tuple[int, int]]) -> tuple[int, int] | None:
    for a, b in answers:
        if start <= a and b <= end:
            return a - start, b - start
    return None


def items_of(group: Group) -> list[Item]:
    from briefqa.answers.abstain import shipped_abstainer
    from briefqa.answers.quotes import rank, shipped_ranker

    ranker, abstainer = shipped_ranker(), shipped_abstainer()
    documents = group.searcher.index.documents
    out = []
    for a in group.asked:
        scored = rank(a.rows, ranker)
        top = scored[:TOP]
        text_of = [documents[s.doc].text for s in scored]
        where = {r.sentence: i for i, r in enumerate(a.rows)}
        labels = tuple(int(a.labels[where[s.sentence]]) for s in top)
        # Only a sentence labelled as answering holds the answer: the offsets are of its article.
        spans = tuple(_span_in(s.start, s.end, a.answers) if y else None for s, y in zip(top, labels, strict=True))
        below = None
        if a.answerable and not any(labels):
            for s, text in zip(scored[TOP:], text_of[TOP:], strict=True):
                span = _span_in(s.start, s.end, a.answers)
                if a.labels[where[s.sentence]] and span is not None:
                    below = (text[s.start : s.end], span)
                    break
        p = abstainer.probability(group.searcher.signals(a.query, a.cand, scored)) if scored else 0.0
        # The question's own article: the document of a sentence labelled as answering it.
        right = next((r for r, y in zip(a.rows, a.labels, strict=True) if y), None)
        golds = tuple(documents[right.doc].text[x:y] for x, y in a.answers) if right is not None else ()
        out.append(
            Item(
                group.role,
                a.article,
                a.kind,
                a.query.question,
                tuple(t[s.start : s.end] for s, t in zip(top, text_of, strict=False)),
                labels,
                spans,
                tuple(float(s.score) for s in top),
                float(p),
                below,
                golds,
            )
        )
    return out


def load_items() -> list[Item]:
    cached = OUT / "items.pkl"
    if cached.exists():
        with open(cached, "rb") as fh:
            return list(pickle.load(fh))
    groups = collect(TRAIN, DEV, 96, 2, SEED, OTHER)
    items = [i for g in groups for i in items_of(g)]
    OUT.mkdir(parents=True, exist_ok=True)
    with open(cached.with_suffix(".tmp"), "wb") as fh:
        pickle.dump(items, fh)
    cached.with_suffix(".tmp").replace(cached)
    return items


@dataclass(frozen=True)
class Example:
    """One question's pairs for a step: sentences, labels, spans, which is the right one."""

    question: str
    sentences: tuple[str, ...]
    labels: tuple[int, ...]
    spans: tuple[tuple[int, int] | None, ...]


def examples(items: Sequence[Item], rng: np.random.Generator) -> list[Example]:
    """One epoch's examples, in a seeded order: the negatives are drawn anew each epoch."""
    out = []
    for item in items:
        if item.kind == "answerable":
            right = [i for i, y in enumerate(item.labels) if y and item.spans[i] is not None][:1]
            if right:
                pos = (item.sentences[right[0]], item.spans[right[0]])
            elif item.below is not None:
                pos = item.below
            else:
                continue
            wrong = [i for i, y in enumerate(item.labels) if not y]
            wrong = [wrong[i] for i in rng.permutation(len(wrong))[:NEGATIVES]]
            out.append(
                Example(
                    item.text,
                    (pos[0], *(item.sentences[i] for i in wrong)),
                    (1, *([0] * len(wrong))),
                    (pos[1], *([None] * len(wrong))),
                )
            )
        elif item.sentences:
            n = min(NEGATIVES, len(item.sentences))
            out.append(Example(item.text, item.sentences[:n], (0,) * n, (None,) * n))
    out = [out[i] for i in rng.permutation(len(out))]
    # Batches of like length: padded to its longest pair, a random batch costs twice its pieces
    # (measured on these pairs: 2.02x; sorted within runs of BUCKET questions, 1.38x). The runs
    # and then the batches are shuffled, so a batch's questions are still a random draw.
    bucketed: list[list[Example]] = []
    for at in range(0, len(out), BUCKET):
        run = sorted(out[at : at + BUCKET], key=lambda e: len(e.question) + max(map(len, e.sentences)))
        bucketed += [run[i : i + QUESTIONS_PER_BATCH] for i in range(0, len(run), QUESTIONS_PER_BATCH)]
    return [e for b in rng.permutation(len(bucketed)) for e in bucketed[b]]


def base_folder() -> Path:
    from briefqa.embed import resolve_model

    return Path(resolve_model("all-MiniLM-L6-v2"))


def pair_tokenizer() -> Any:
    from briefqa.reader import PairTokenizer

    return PairTokenizer(base_folder() / "tokenizer.json", MAX_PIECES)


def batch_loss(network: Any, tokenizer: Any, batch: Sequence[Example]) -> Any:
    import torch
    import torch.nn.functional as F

    questions = [e.question for e in batch for _ in e.sentences]
    sentences = [s for e in batch for s in e.sentences]
    pairs = tokenizer.pairs(questions, sentences)
    pair, span = network(torch.from_numpy(pairs.ids), torch.from_numpy(pairs.mask), torch.from_numpy(pairs.type_ids))
    labels = torch.tensor([y for e in batch for y in e.labels], dtype=torch.float32)
    answer = F.binary_cross_entropy_with_logits(pair[:, 1], labels)
    relevance, at = [], 0
    for e in batch:
        n = len(e.sentences)
        if e.labels[0] == 1 and n > 1:
            relevance.append(F.cross_entropy(pair[at : at + n, 0].unsqueeze(0), torch.tensor([0])))
        at += n
    rel = torch.stack(relevance).mean() if relevance else pair.sum() * 0
    # Span: the answer's first and last piece, or the first piece ([CLS]) for none; a positive
    # whose answer the truncation cut teaches nothing about spans.
    allowed = torch.from_numpy(pairs.in_sentence.copy())
    allowed[:, 0] = True
    logits = span.masked_fill(~allowed.unsqueeze(-1), -1e4)
    targets, keep = [], []
    for row, s in enumerate(sp for e in batch for sp in e.spans):
        if s is None:
            targets.append((0, 0))
            keep.append(True)
            continue
        found = tokenizer.span_pieces(pairs, row, s[0], s[1])
        targets.append(found or (0, 0))
        keep.append(found is not None)
    t = torch.tensor(targets)
    k = torch.tensor(keep)
    span_loss = (F.cross_entropy(logits[k, :, 0], t[k, 0]) + F.cross_entropy(logits[k, :, 1], t[k, 1])) / 2
    return answer + rel + span_loss, (float(answer.detach()), float(rel.detach()), float(span_loss.detach()))


def read(network: Any, tokenizer: Any, items: Sequence[Item]) -> list[dict[str, np.ndarray]]:
    """The reader's outputs for each item's candidates, from the torch network (``read_all``)."""
    import torch

    network.eval()

    def logits(questions: list[str], sentences: list[str]) -> tuple[np.ndarray, np.ndarray, Any]:
        pairs = tokenizer.pairs(questions, sentences)
        with torch.no_grad():
            pair, span = network(
                torch.from_numpy(pairs.ids), torch.from_numpy(pairs.mask), torch.from_numpy(pairs.type_ids)
            )
        return pair.numpy(), span.numpy(), pairs

    return read_all(logits, items)


def read_all(logits: Any, items: Sequence[Item], chunk: int = 64) -> list[dict[str, np.ndarray]]:
    """Each item's candidates through ``logits`` (questions, sentences -> pair logits, span logits,
    the tokenized pairs): relevance, answer logits, and the best span (character offsets of the
    sentence) with its margin over marking none."""
    from briefqa.reader.pairs import best_span

    flat = [(n, s) for n, item in enumerate(items) for s in item.sentences]
    rel, ans, spans = np.zeros(len(flat)), np.zeros(len(flat)), np.zeros((len(flat), 3))
    # Read in order of length (less padding); the outputs go back to each pair's place.
    order = sorted(range(len(flat)), key=lambda j: len(items[flat[j][0]].text) + len(flat[j][1]))
    for i in range(0, len(order), chunk):
        part = order[i : i + chunk]
        pair, span, pairs = logits([items[flat[j][0]].text for j in part], [flat[j][1] for j in part])
        rel[part], ans[part] = pair[:, 0], pair[:, 1]
        for r, j in enumerate(part):
            spans[j] = best_span(pairs, r, span[r, :, 0], span[r, :, 1])
    out, at = [], 0
    for item in items:
        n = len(item.sentences)
        out.append({"relevance": rel[at : at + n], "answer": ans[at : at + n], "span": spans[at : at + n]})
        at += n
    return out


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    if not len(pos) or not len(neg):
        return float("nan")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]))


def curve_point(network: Any, tokenizer: Any, items: Sequence[Item], seen: int) -> dict[str, Any]:
    outs = read(network, tokenizer, items)
    network.train()
    best = np.array([o["answer"].max() if len(o["answer"]) else -10.0 for o in outs])
    kinds = np.array([i.kind for i in items])
    hits = [i.labels[int(np.argmax(o["relevance"]))] for i, o in zip(items, outs, strict=True) if any(i.labels)]
    ranker = [i.labels[0] for i in items if any(i.labels)]
    return {
        "pairs_seen": seen,
        "reader_hit@1_of_top": round(float(np.mean(hits)), 4),
        "ranker_hit@1_of_top": round(float(np.mean(ranker)), 4),
        "auc_withheld": round(_auc(best[kinds == "answerable"], best[kinds == "withheld"]), 4),
        "auc_near_miss": round(_auc(best[kinds == "answerable"], best[kinds == "near_miss"]), 4),
    }


def _batches(epoch: list[Example]) -> Iterator[list[Example]]:
    for i in range(0, len(epoch), QUESTIONS_PER_BATCH):
        yield epoch[i : i + QUESTIONS_PER_BATCH]


def train(items: Sequence[Item], epochs: float, minutes: float) -> Any:
    """Train (or resume) the reader; returns the network at the last step."""
    import torch

    from briefqa.reader.network import base_network

    torch.manual_seed(SEED)
    tokenizer = pair_tokenizer()
    network = base_network(base_folder(), LAYERS)
    fitted = [i for i in items if i.role in ("fit", "other")]
    held = [i for i in items if i.role in ("val", "dev")]
    curve_items = [held[j] for j in np.random.default_rng(SEED).permutation(len(held))[:CURVE_QUESTIONS]]
    per_epoch = -(-len(examples(fitted, np.random.default_rng(SEED))) // QUESTIONS_PER_BATCH)
    total = int(per_epoch * epochs)
    warm = max(1, total // 20)
    heads = [p for n, p in network.named_parameters() if n.startswith(("pair.", "span."))]
    body = [p for n, p in network.named_parameters() if p.requires_grad and not n.startswith(("pair.", "span."))]
    opt = torch.optim.AdamW([{"params": body, "lr": 5e-5}, {"params": heads, "lr": 5e-4}], weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.02, (total - s) / max(1, total - warm)))
    )
    checkpoint = OUT / f"checkpoint-{LAYERS}.pt"
    step, seen, curve = 0, 0, []
    if checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=False)
        network.load_state_dict(saved["network"])
        opt.load_state_dict(saved["opt"])
        sched.load_state_dict(saved["sched"])
        step, seen, curve = saved["step"], saved["seen"], saved["curve"]
        print(f"resumed at step {step} ({seen} pairs)", flush=True)

    def save() -> None:
        state = {
            "network": network.state_dict(),
            "opt": opt.state_dict(),
            "sched": sched.state_dict(),
            "step": step,
            "seen": seen,
            "curve": curve,
        }
        torch.save(state, checkpoint.with_suffix(".tmp"))
        checkpoint.with_suffix(".tmp").replace(checkpoint)
        (OUT / "curve.json").write_text(json.dumps(curve, indent=1) + "\n")

    if not curve:
        curve.append(curve_point(network, tokenizer, curve_items, 0))
        print(curve[-1], flush=True)
    network.train()
    started, losses, seen_before = time.perf_counter(), [], seen
    orders: dict[int, list[Example]] = {}
    while step < total and time.perf_counter() - started < minutes * 60:
        epoch, within = divmod(step, per_epoch)
        if epoch not in orders:
            orders = {epoch: examples(fitted, np.random.default_rng(SEED + epoch))}
        order = orders[epoch]
        batch = order[within * QUESTIONS_PER_BATCH : (within + 1) * QUESTIONS_PER_BATCH]
        loss, parts = batch_loss(network, tokenizer, batch)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in network.parameters() if p.requires_grad], 1.0)
        opt.step()
        sched.step()
        step += 1
        seen += sum(len(e.sentences) for e in batch)
        losses.append(parts)
        if step % 50 == 0:
            rate = (seen - seen_before) / max(1e-9, time.perf_counter() - started)
            mean = np.mean(losses[-50:], axis=0)
            print(
                f"step {step}/{total} pairs {seen}: answer {mean[0]:.3f} relevance {mean[1]:.3f} "
                f"span {mean[2]:.3f} ({rate:.1f} pairs/s)",
                flush=True,
            )
        if step % CURVE == 0 or step == total:
            curve.append(curve_point(network, tokenizer, curve_items, seen))
            print(curve[-1], flush=True)
        if step % SAVE == 0:
            save()
    save()
    print(f"at step {step} of {total} ({seen} pairs)", flush=True)
    return network.eval(), step, total


# ---- the decision, refitted with the reader's outputs, on questions the reader never saw ----


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def reorder(item: Item, out: dict[str, Any], weight: float) -> np.ndarray:
    """The candidates' order once the reader has read the first ``out["read"]`` of them: those by
    the ranker's score plus the weighted relevance, then the rest in the ranker's order."""
    ranker = np.asarray(item.ranker)
    read = np.arange(len(ranker)) < out.get("read", len(ranker))
    score = np.where(read, ranker + weight * out["relevance"], ranker - 1e9)
    return np.argsort(-score, kind="stable")


def limited(outs: Sequence[dict[str, Any]], read: int) -> list[dict[str, Any]]:
    """The reader's outputs as if it had read only the first ``read`` candidates."""
    return [o | {"read": read} for o in outs]


def decision_rows(items: Sequence[Item], outs: Sequence[dict[str, np.ndarray]], weight: float) -> np.ndarray:
    """Per question: the shipped abstainer's logit and the answer logit of the reordered best."""
    rows = []
    for item, out in zip(items, outs, strict=True):
        if not item.sentences:
            rows.append((_logit(np.array(item.probability)), -10.0))
            continue
        best = int(reorder(item, out, weight)[0])
        rows.append((float(_logit(np.array(item.probability))), float(out["answer"][best])))
    return np.array(rows)


def fit_decision(x: np.ndarray, kinds: np.ndarray, near_miss_weight: float = 1.0) -> tuple[np.ndarray, float]:
    """Logistic regression, answerable against unanswerable, each side weighing as much as the
    other; inside the unanswerable side a near miss weighs ``near_miss_weight`` times a withheld
    question (as ``fit_models.fit_abstainer``)."""
    from sklearn.linear_model import LogisticRegression

    y = (kinds == "answerable").astype(int)
    raw = np.where(kinds == "near_miss", near_miss_weight, 1.0)
    weight = np.where(y == 1, 1.0 / max(1, y.sum()), raw / max(1e-9, raw[y == 0].sum()))
    model = LogisticRegression(C=1.0, max_iter=2000).fit(x, y, sample_weight=weight * len(y))
    return model.coef_[0].astype(np.float64), float(model.intercept_[0])


def trade_off(score: np.ndarray, kinds: np.ndarray) -> dict[str, list[float]]:
    answerable = score[kinds == "answerable"]
    return {
        kind: [round(float((score[kinds == kind] < np.quantile(answerable, lv)).mean()), 3) for lv in LEVELS]
        for kind in ("near_miss", "withheld")
        if (kinds == kind).any()
    }


def hit_at(items: Sequence[Item], outs: Sequence[dict[str, np.ndarray]], weight: float, k: int) -> float:
    hits = []
    for item, out in zip(items, outs, strict=True):
        if item.kind != "answerable":
            continue
        order = reorder(item, out, weight) if item.sentences else []
        hits.append(any(item.labels[int(i)] for i in order[:k]))
    return float(np.mean(hits))


def span_figures(
    items: Sequence[Item], outs: Sequence[dict[str, np.ndarray]], weight: float, margin: float
) -> dict[str, float]:
    """Of answered hits (the reordered best sentence answers): the share given a span (its
    margin over none above ``margin``) and their mean F1 against the annotated answers."""
    from briefqa.evaluation.answer_spans import best_f1

    marked, scores, hits = 0, [], 0
    for item, out in zip(items, outs, strict=True):
        if item.kind != "answerable" or not item.sentences:
            continue
        best = int(reorder(item, out, weight)[0])
        if not item.labels[best]:
            continue
        hits += 1
        a, b, m = out["span"][best]
        if m > margin:
            marked += 1
            scores.append(best_f1(item.sentences[best][int(a) : int(b)], item.golds))
    return {"hits": hits, "marked": round(marked / max(1, hits), 3), "f1": round(float(np.mean(scores)), 3)}


def decide(items: list[Item], outs: list[dict[str, Any]]) -> dict[str, Any]:
    """How many candidates the reader reads: the fewest of ``READS`` whose out-of-fold hit@1 and
    abstention (both kinds, every level) are within ``READ_SLACK`` of the best; its full report."""
    reports = {read: decide_for(items, limited(outs, read)) for read in READS}

    def quality(r: dict[str, Any]) -> tuple[float, float]:
        hit = float(np.mean([f["hit@1"][1] for f in r["folds"]]))
        abstain = float(np.mean([v for f in r["folds"] for vs in f["combined"].values() for v in vs]))
        return hit, abstain

    best = [max(quality(r)[i] for r in reports.values()) for i in (0, 1)]
    chosen = min(read for read, r in reports.items() if all(quality(r)[i] >= best[i] - READ_SLACK for i in (0, 1)))
    # The near misses' weight in the decision's fit, by fit_models' rule: the largest mean gain
    # over the shipped abstainer, both kinds and all levels, among the weights whose worse kind
    # loses no more than one standard error: a weight that buys one kind with the other is not
    # chosen.
    weighted = {w: decide_for(items, limited(outs, chosen), w) for w in NEAR_MISS_WEIGHTS}
    counts = {k: sum(i.kind == k for i in items if i.role == "dev") for k in ("near_miss", "withheld")}

    def gains(r: dict[str, Any]) -> dict[str, float]:
        return {
            k: float(np.mean([np.subtract(f["combined"][k], f["abstainer"][k]) for f in r["folds"]])) for k in counts
        }

    base = weighted[NEAR_MISS_WEIGHTS[0]]["folds"]
    level = {k: float(np.mean([f["abstainer"][k][0] for f in base])) for k in counts}
    noise = {k: float(np.sqrt(level[k] * (1 - level[k]) / counts[k])) for k in counts}
    fair = [w for w, r in weighted.items() if all(g >= -noise[k] for k, g in gains(r).items())]
    weight = max(fair, key=lambda w: float(np.mean(list(gains(weighted[w]).values())))) if fair else None
    report = weighted[weight] if weight is not None else reports[chosen]
    if weight is None:
        # No weight keeps both kinds: the reader orders the candidates, the abstainer decides alone.
        from briefqa.answers.abstain import shipped_abstainer

        threshold = shipped_abstainer().threshold
        report["shipped"] |= {"coef": [1.0, 0.0], "intercept": 0.0, "threshold": threshold}
    report["near_miss_weights"] = {w: {k: round(v, 4) for k, v in gains(r).items()} for w, r in weighted.items()}
    report["near_miss_weight"] = weight
    report["noise"] = noise
    report["reads"] = {read: [round(v, 3) for v in quality(r)] for read, r in reports.items()}
    report["read"] = chosen
    return report


def decide_for(items: list[Item], outs: list[dict[str, Any]], near_miss_weight: float = 1.0) -> dict[str, Any]:
    """Choose the relevance weight and fit the decision out of fold; report; the shipped fit."""
    dev = [n for n, i in enumerate(items) if i.role == "dev"]
    titles = sorted({items[n].article for n in dev})
    folds = [[n for n in dev if items[n].article in set(titles[j::2])] for j in (0, 1)]
    val = [n for n, i in enumerate(items) if i.role == "val"]
    single = [n for n, i in enumerate(items) if i.role == "single"]

    def pick(ns: Sequence[int]) -> tuple[list[Item], list[dict[str, np.ndarray]]]:
        return [items[n] for n in ns], [outs[n] for n in ns]

    report: dict[str, Any] = {"folds": []}
    weights = []
    for j in (0, 1):
        fit_items, fit_outs = pick(folds[1 - j] + val)
        weight = max(RELEVANCE_WEIGHTS, key=lambda w: hit_at(fit_items, fit_outs, w, 1))
        weights.append(weight)
        coef, intercept = fit_decision(
            decision_rows(fit_items, fit_outs, weight), np.array([i.kind for i in fit_items]), near_miss_weight
        )
        test_items, test_outs = pick(folds[j])
        kinds = np.array([i.kind for i in test_items])
        x = decision_rows(test_items, test_outs, weight)
        report["folds"].append(
            {
                "relevance_weight": weight,
                "hit@1": [
                    round(hit_at(test_items, test_outs, 0.0, 1), 3),
                    round(hit_at(test_items, test_outs, weight, 1), 3),
                ],
                "hit@3": [
                    round(hit_at(test_items, test_outs, 0.0, 3), 3),
                    round(hit_at(test_items, test_outs, weight, 3), 3),
                ],
                "abstainer": trade_off(x[:, 0], kinds),
                "reader_alone": trade_off(x[:, 1], kinds),
                "combined": trade_off(x @ coef + intercept, kinds),
                "auc": {
                    k: [
                        round(_auc(x[kinds == "answerable", 0], x[kinds == k, 0]), 3),
                        round(_auc((x @ coef)[kinds == "answerable"], (x @ coef)[kinds == k]), 3),
                    ]
                    for k in ("near_miss", "withheld")
                    if (kinds == k).any()
                },
                "coef": np.round(coef, 3).tolist(),
            }
        )
    fit_items, fit_outs = pick(dev + val)
    weight = max(RELEVANCE_WEIGHTS, key=lambda w: hit_at(fit_items, fit_outs, w, 1))
    coef, intercept = fit_decision(
        decision_rows(fit_items, fit_outs, weight), np.array([i.kind for i in fit_items]), near_miss_weight
    )
    s_items, s_outs = pick(single)
    s_kinds = np.array([i.kind for i in s_items])
    s_score = decision_rows(s_items, s_outs, weight) @ coef + intercept
    threshold = float(np.quantile(s_score[s_kinds == "answerable"], MAX_FALSE_ABSTAIN))
    report["single"] = {
        "false_abstain": round(float((s_score[s_kinds == "answerable"] < threshold).mean()), 3),
        "withheld_abstain": round(float((s_score[s_kinds == "withheld"] < threshold).mean()), 3),
        "hit@1": [round(hit_at(s_items, s_outs, 0.0, 1), 3), round(hit_at(s_items, s_outs, weight, 1), 3)],
    }
    # The span margin: the lowest (marking most) at which the marked answers of the held-out
    # training articles (val) reach SPAN_F1; none reaching it, nothing is marked: a highlight
    # on the wrong words inside a right quote would mislead the reader it is meant to help.
    v_items, v_outs = pick(val)
    margins = [m for m in SPAN_MARGINS if span_figures(v_items, v_outs, weight, m)["f1"] >= SPAN_F1]
    margin = min(margins) if margins else NEVER
    d_items, d_outs = pick(dev)
    report["spans_val"] = {str(m): span_figures(v_items, v_outs, weight, m) for m in SPAN_MARGINS}
    report["spans_dev"] = {str(m): span_figures(d_items, d_outs, weight, m) for m in SPAN_MARGINS}
    answerable = [i for i in d_items if i.kind == "answerable"]
    report["ranker_hit@k_dev"] = {
        k: round(float(np.mean([any(i.labels[:k]) for i in answerable])), 3) for k in (1, 2, 3, 4, 5, 6, 8)
    }
    report["shipped"] = {
        "relevance_weight": weight,
        "coef": coef.tolist(),
        "intercept": intercept,
        # The decision's probability, as the product computes it (answers/decide.py).
        "threshold": float(1.0 / (1.0 + np.exp(-threshold))),
        "span_margin": margin,
    }
    return report


def candidate(network: Any, step: int, seen: int) -> Path:
    """The fitted reader as the package holds it (float16 weights, reader.json without its
    decision) under ``OUT``, its ONNX file made from those weights as serving makes it: the
    decision is fitted on exactly the outputs the product will see."""
    from safetensors.torch import save_file

    from briefqa.reader.export import export
    from briefqa.reader.network import shipped_state

    folder = OUT / f"candidate-{step}"
    if not (folder / "onnx" / "model.onnx").exists():
        folder.mkdir(parents=True, exist_ok=True)
        save_file(shipped_state(network), str(folder / "weights.safetensors"))
        config = {
            "format": FORMAT,
            "base_model": "all-MiniLM-L6-v2",
            "layers": LAYERS,
            "max_pieces": MAX_PIECES,
            "read": TOP,
            "trained": {"steps": step, "pairs": seen, "seed": SEED},
        }
        (folder / "reader.json").write_text(json.dumps(config, indent=1) + "\n")
        export(folder, folder / "onnx")
    return folder


def read_onnx(folder: Path, items: Sequence[Item]) -> list[dict[str, Any]]:
    """``read``'s outputs, from the candidate's ONNX file on ONNX Runtime."""
    from briefqa.reader import OnnxReader

    reader = OnnxReader(folder / "onnx" / "model.onnx", base_folder() / "tokenizer.json", MAX_PIECES)
    return read_all(reader.logits, items)


def write(folder: Path, decision: dict[str, Any], read: int) -> None:
    """The candidate into the package, with the decision fitted on its outputs."""
    import shutil

    READER.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "weights.safetensors", READER / "weights.safetensors")
    config = json.loads((folder / "reader.json").read_text()) | {"read": read, "decide": decision}
    (READER / "reader.json").write_text(json.dumps(config, indent=1) + "\n")
    size = (READER / "weights.safetensors").stat().st_size
    print(f"wrote {READER}/weights.safetensors ({size:,} bytes) and reader.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--minutes", type=float, default=600.0, help="training time this sitting (resumes)")
    parser.add_argument("--write", action="store_true", help="write the reader into the package")
    args = parser.parse_args()
    for path in (TRAIN, DEV, OTHER):
        if not path.is_file():
            sys.exit(f"fit_reader: {path} not found: fitting needs the shared SQuAD data (../shared/data/)")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    OUT.mkdir(parents=True, exist_ok=True)
    items = load_items()
    for role in ("fit", "other", "val", "single", "dev"):
        chosen = [i for i in items if i.role == role]
        counts = {k: sum(i.kind == k for i in chosen) for k in ("answerable", "near_miss", "withheld")}
        print(f"{role}: {counts}")
    network, step, total = train(items, args.epochs, args.minutes)
    if step < total:
        print("training not finished: run again to resume")
        return
    seen = json.loads((OUT / "curve.json").read_text())[-1]["pairs_seen"]
    folder = candidate(network, step, seen)
    cached = folder / "read.pkl"
    held = [i for i in items if i.role in ("val", "single", "dev")]
    if cached.exists():
        with open(cached, "rb") as fh:
            outs = pickle.load(fh)
    else:
        started = time.perf_counter()
        outs = read_onnx(folder, held)
        print(f"read {len(held)} held-out questions on ONNX Runtime in {time.perf_counter() - started:.0f}s")
        with open(cached, "wb") as fh:
            pickle.dump(outs, fh)
    decision = decide(held, outs)
    print(json.dumps(decision, indent=1))
    (OUT / "decision.json").write_text(json.dumps(decision, indent=1) + "\n")
    if args.write:
        write(folder, decision["shipped"], decision["read"])


if __name__ == "__main__":
    # Through the module's own name, so the items it pickles name their class by it (not
    # __main__) and another entry point can read them.
    from training.fit_reader import main as run

    run()
