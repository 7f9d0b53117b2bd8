"""Does a reader (a cross-encoder) add to the shipped ranker and abstainer? A measurement, not a fit.

Not shipped and not part of ``make fit``: it reproduces the figures in ``docs/evaluation.md``
("The reader"). From the groups ``training/collect.py`` collects (cached under ``training/.work``):

- **pairs**: each question of the ``fit`` groups, through the shipped ranker's top ``TOP``
  candidates: an answerable question gives its labelled answer sentence (target 1) and two other
  candidates (target 0), hard negatives the product itself ranked high; a withheld-paragraph
  question gives its top two candidates (target 0: the fact is not in the sources);
- **reader**: all-MiniLM-L6-v2's first ``--layers`` layers, mean-pooled, with a linear head,
  fine-tuned on those pairs (binary cross-entropy, AdamW, warm-up then linear decay, seeded); the
  word-piece embeddings stay frozen, so a shipped reader would need only its layers and head;
  checkpoints every 300 steps, so a stopped run resumes;
- **measured** on groups it never saw: the ``val`` groups (training articles held out, answerable
  and withheld) and the SQuAD 2.0 dev half (answerable, near misses, withheld): the reader's own
  hit@1 among the top ``TOP``, the ranker's score plus a weighted reader score, and the shipped
  abstainer's probability beside a logistic combination of it with the best candidate's reader
  score, fitted on one half (by article) and measured on the other, both ways.

    python -m training.reader_probe [--layers 3] [--minutes 50]
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.collect import DEV, TRAIN, WORK, Group, collect

TOP = 8
LEVELS = (0.05, 0.10, 0.20)
SEED = 7
BATCH = 32
MAX_TOKENS = 96
OUT = WORK / "reader"


@dataclass(frozen=True)
class Question:
    """One question's top candidates as the shipped models see them."""

    role: str  # fit, val or dev (training/collect.py)
    article: str
    kind: str
    text: str
    sentences: tuple[str, ...]
    labels: tuple[int, ...]
    ranker: tuple[float, ...]
    probability: float  # the shipped abstainer's


def questions_of(group: Group) -> list[Question]:
    from briefqa.answers.abstain import shipped_abstainer
    from briefqa.answers.quotes import rank, shipped_ranker

    ranker, abstainer = shipped_ranker(), shipped_abstainer()
    documents = group.searcher.index.documents
    out = []
    for a in group.asked:
        scored = rank(a.rows, ranker)
        top = scored[:TOP]
        where = {r.sentence: i for i, r in enumerate(a.rows)}
        p = abstainer.probability(group.searcher.signals(a.query, a.cand, scored)) if scored else 0.0
        out.append(
            Question(
                group.role,
                a.article,
                a.kind,
                a.query.question,
                tuple(documents[s.doc].text[s.start : s.end] for s in top),
                tuple(int(a.labels[where[s.sentence]]) for s in top),
                tuple(float(s.score) for s in top),
                float(p),
            )
        )
    return out


def training_pairs(questions: Sequence[Question], rng: np.random.Generator) -> list[tuple[str, str, float]]:
    pairs: list[tuple[str, str, float]] = []
    for q in questions:
        if q.kind == "answerable":
            if not any(q.labels):
                continue
            right = [s for s, y in zip(q.sentences, q.labels, strict=True) if y][:1]
            wrong = [s for s, y in zip(q.sentences, q.labels, strict=True) if not y]
            wrong = [wrong[i] for i in rng.permutation(len(wrong))[:2]]
            pairs += [(q.text, s, 1.0) for s in right] + [(q.text, s, 0.0) for s in wrong]
        else:
            pairs += [(q.text, s, 0.0) for s in q.sentences[:2]]
    return [pairs[i] for i in rng.permutation(len(pairs))]


class Reader:
    """The first ``layers`` layers of the shipped model, mean-pooled, and a linear head."""

    def __init__(self, layers: int) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from briefqa.embed import resolve_model

        path = resolve_model("all-MiniLM-L6-v2")
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.bert = AutoModel.from_pretrained(path)
        self.bert.encoder.layer = self.bert.encoder.layer[:layers]
        self.bert.embeddings.word_embeddings.weight.requires_grad_(False)
        self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)

    def parameters(self) -> list[Any]:
        return [p for p in self.bert.parameters() if p.requires_grad] + list(self.head.parameters())

    def logits(self, questions: Sequence[str], sentences: Sequence[str]) -> Any:
        enc = self.tokenizer(
            list(questions),
            list(sentences),
            truncation="only_second",
            max_length=MAX_TOKENS,
            padding=True,
            return_tensors="pt",
        )
        hidden = self.bert(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        return self.head((hidden * mask).sum(1) / mask.sum(1)).squeeze(-1)

    def state(self) -> dict[str, Any]:
        return {"bert": self.bert.state_dict(), "head": self.head.state_dict()}

    def load(self, state: dict[str, Any]) -> None:
        self.bert.load_state_dict(state["bert"])
        self.head.load_state_dict(state["head"])


def train(reader: Reader, pairs: Sequence[tuple[str, str, float]], minutes: float, layers: int) -> None:
    """One epoch over ``pairs``, or ``minutes`` of it; resumes from the last checkpoint."""
    import torch

    total = len(pairs) // BATCH
    warm = max(1, total // 10)
    opt = torch.optim.AdamW(reader.parameters(), lr=5e-5, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.05, (total - s) / max(1, total - warm)))
    )
    checkpoint, step = OUT / f"checkpoint-{layers}.pt", 0
    if checkpoint.exists():
        saved = torch.load(checkpoint)
        reader.load(saved)
        opt.load_state_dict(saved["opt"])
        sched.load_state_dict(saved["sched"])
        step = saved["step"]

    def save() -> None:
        torch.save(reader.state() | {"opt": opt.state_dict(), "sched": sched.state_dict(), "step": step}, checkpoint)

    reader.bert.train()
    started, losses = time.perf_counter(), []
    while step < total and time.perf_counter() - started < minutes * 60:
        part = pairs[step * BATCH : (step + 1) * BATCH]
        target = torch.tensor([p[2] for p in part])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            reader.logits([p[0] for p in part], [p[1] for p in part]), target
        )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(reader.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        step += 1
        if step % 100 == 0:
            rate = len(losses) * BATCH / (time.perf_counter() - started)
            print(f"step {step}/{total}: loss {np.mean(losses[-100:]):.3f}, {rate:.1f} pairs/s", flush=True)
        if step % 300 == 0:
            save()
    save()
    print(f"trained to step {step} of {total} ({step * BATCH} pairs)", flush=True)
    reader.bert.eval()


def read(reader: Reader, questions: Sequence[Question]) -> list[np.ndarray]:
    import torch

    with torch.no_grad():
        return [
            reader.logits([q.text] * len(q.sentences), q.sentences).numpy() if q.sentences else np.zeros(0)
            for q in questions
        ]


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


def _abstain(score: np.ndarray, kinds: np.ndarray) -> dict[str, list[float]]:
    answerable = score[kinds == "answerable"]
    return {
        kind: [float((score[kinds == kind] < np.quantile(answerable, level)).mean()) for level in LEVELS]
        for kind in ("near_miss", "withheld")
        if (kinds == kind).any()
    }


def report(questions: Sequence[Question], scores: Sequence[np.ndarray]) -> None:
    from sklearn.linear_model import LogisticRegression

    answerable = [(q, s) for q, s in zip(questions, scores, strict=True) if q.kind == "answerable" and len(s)]
    for pool in ("val", "dev"):
        chosen = [(q, s) for q, s in answerable if q.role == pool]
        ranker = np.mean([q.labels[0] for q, _ in chosen])
        alone = np.mean([q.labels[int(np.argmax(s))] for q, s in chosen])
        line = f"{pool}: hit@1 ranker {ranker:.3f}, reader alone {alone:.3f}"
        for w in (0.25, 0.5, 1.0):
            both = np.mean([q.labels[int(np.argmax(np.asarray(q.ranker) + w * s))] for q, s in chosen])
            line += f", ranker + {w:g} reader {both:.3f}"
        print(line)
    best = [float(s.max()) if len(s) else -10.0 for s in scores]
    x = np.array([[_logit(q.probability), b] for q, b in zip(questions, best, strict=True)])
    y = np.array([q.kind == "answerable" for q in questions], dtype=int)
    kinds = np.array([q.kind for q in questions])
    articles = sorted({q.article for q in questions})
    half = np.isin([q.article for q in questions], articles[0::2])
    print("abstain at false_abstain " + " / ".join(map(str, LEVELS)) + " (each half fitted on the other):")
    for fit, test in ((half, ~half), (~half, half)):
        weight = np.where(y[fit] == 1, 1.0 / y[fit].sum(), 1.0 / (1 - y[fit]).sum())
        model = LogisticRegression(max_iter=2000).fit(x[fit], y[fit], sample_weight=weight * fit.sum())
        base = _abstain(x[test, 0], kinds[test])
        combined = _abstain(model.decision_function(x[test]), kinds[test])
        for kind in base:
            print(
                f"  {kind:9s} shipped abstainer {' / '.join(f'{v:.3f}' for v in base[kind])}; "
                f"with the reader {' / '.join(f'{v:.3f}' for v in combined[kind])}"
                f"  (weights {np.round(model.coef_[0], 2).tolist()})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=96)
    parser.add_argument("--val-groups", type=int, default=2)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=50.0, help="training time at most (resumes)")
    parser.add_argument("--limit", type=int, default=0, help="read this many held-out questions a role (a check)")
    args = parser.parse_args()
    for path in (TRAIN, DEV):
        if not path.is_file():
            raise SystemExit(f"reader_probe: {path} not found: the probe needs the shared SQuAD data (../shared/data/)")
    # As briefqa.embed does, and before torch loads: with busy-waiting threads, training beside
    # other jobs ran at a fraction of its speed.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.manual_seed(SEED)
    OUT.mkdir(parents=True, exist_ok=True)
    cached = OUT / "questions.pkl"
    if cached.exists():
        with open(cached, "rb") as fh:
            questions: list[Question] = pickle.load(fh)
    else:
        groups = collect(TRAIN, DEV, args.articles, args.val_groups, SEED)
        questions = [q for g in groups if g.role in ("fit", "val", "dev") for q in questions_of(g)]
        with open(cached, "wb") as fh:
            pickle.dump(questions, fh)
    fitted = [q for q in questions if q.role == "fit"]
    held = [q for q in questions if q.role in ("val", "dev")]
    if args.limit:
        held = [q for role in ("val", "dev") for q in [h for h in held if h.role == role][: args.limit]]
    pairs = training_pairs(fitted, np.random.default_rng(SEED))
    print(f"{len(pairs)} pairs from {len(fitted)} questions; measured on {len(held)}", flush=True)
    reader = Reader(args.layers)
    train(reader, pairs, args.minutes, args.layers)
    started = time.perf_counter()
    scores = read(reader, held)
    print(f"read {TOP} candidates in {(time.perf_counter() - started) / len(held) * 1000:.0f} ms a question")
    report(held, scores)


if __name__ == "__main__":
    main()
