"""SQuAD articles -> questions asked through the product's own searcher, with labelled candidates.

Every group of articles is indexed on its own with the product's build (under ``training/.work``,
one folder per group, holding exactly that group's articles), with every third paragraph
withheld, and each question is asked through the searcher's own candidate and signal code, so
the models are fitted on exactly what they will see. What a group asked is kept beside its index
(``asked-*.pkl``, keyed by the index version and the signals' names), so an interrupted or
repeated fit resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import pickle
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
TRAIN = SHARED / "squad11-train" / "train-v1.1.json.gz"
DEV = SHARED / "squad2" / "dev-odd-8-articles.json"
# SQuAD 2.0's other dev articles: the only near misses there are to train the reader on.
OTHER = SHARED / "squad2" / "dev-other-19-articles.json"
WORK = REPO / "training" / ".work"
# Every third paragraph of each article is withheld: its questions are the unanswerable kind
# users ask most (the topic and the names are there, the fact is not).
WITHHOLD = 3
GROUP = 8  # articles per index, as many as the SQuAD dev half has


@dataclass
class Asked:
    """One question through the searcher: its candidates' evidence and which of them answer."""

    article: str
    kind: str  # answerable, near_miss or withheld
    query: Any
    cand: Any
    rows: list[Any]
    labels: np.ndarray
    # The annotated answers as offsets of the article's stored text (empty: unanswerable), for
    # the reader's span head.
    answers: tuple[tuple[int, int], ...] = ()

    @property
    def answerable(self) -> bool:
        return self.kind == "answerable"


@dataclass
class Group:
    """A group of articles indexed together, its searcher and the questions asked of it."""

    name: str
    # fit, val (training articles held out), single (the same, one article an index), dev, and
    # other (SQuAD 2.0's other dev articles, which only the reader trains on)
    role: str
    searcher: Any
    asked: list[Asked] = field(default_factory=list)

    @property
    def articles(self) -> set[str]:
        return {a.article for a in self.asked}


def _signature(version: str, titles: list[str], kinds: tuple[str, ...]) -> str:
    from briefqa.answers.abstain import FEATURES
    from briefqa.answers.quotes import RANK_FEATURES

    key = repr((version, titles, kinds, RANK_FEATURES, FEATURES, "answers")).encode()
    return hashlib.blake2b(key, digest_size=8).hexdigest()


def collect_group(
    name: str, role: str, articles: list[Any], embedder: Any, withhold: int, kinds: tuple[str, ...]
) -> Group:
    """Index ``articles`` under ``WORK/name`` and ask their questions of the kinds named."""
    from briefqa.evaluation.evaluate import open_articles, queries_of

    started = time.perf_counter()
    run = open_articles(articles, embedder, WORK / name, withhold)
    searcher = run.searcher
    cache = WORK / name / f"asked-{_signature(searcher.version, [a.title for a in articles], kinds)}.pkl"
    if cache.is_file():
        with open(cache, "rb") as fh:
            asked = pickle.load(fh)
        return Group(name, role, searcher, asked)
    # An answer text that occurs more than once may be labelled on the wrong sentence.
    questions = [q for q in run.questions if q.kind in kinds and not (q.answerable and q.ambiguous)]
    asked = []
    for q, query in zip(questions, queries_of(searcher, [q.question for q in questions], batch=128), strict=True):
        cand, rows = searcher.candidates(query)
        labels = np.array(
            [q.answered_by(searcher.index.documents[r.doc].id, r.start, r.end) for r in rows], dtype=np.int8
        )
        asked.append(Asked(q.article, q.kind, query, cand, rows, labels, q.answers))
    tmp = cache.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(asked, fh)
    tmp.replace(cache)
    print(f"  {name}: {len(asked)} questions in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    return Group(name, role, searcher, asked)


def training_articles(path: Path, count: int, seed: int) -> list[Any]:
    """``count`` articles of the training file, drawn with ``seed``, in groups' order."""
    from briefqa.evaluation.squad import read_squad

    articles = read_squad(path)
    order = np.random.default_rng(seed).permutation(len(articles))[:count]
    return [articles[i] for i in order]


def collect(train: Path, dev: Path, count: int, val_groups: int, seed: int, other: Path | None = None) -> list[Group]:
    """The training groups (fit and val), the dev half (near misses, and withheld paragraphs) and,
    given ``other``, SQuAD 2.0's other dev articles (answerable questions and near misses)."""
    from briefqa.embed import load_embedder
    from briefqa.evaluation.squad import read_squad

    embedder = load_embedder("all-MiniLM-L6-v2")
    articles = training_articles(train, count, seed)
    chunks = [articles[i : i + GROUP] for i in range(0, len(articles), GROUP)]
    groups = []
    for n, chunk in enumerate(chunks):
        role = "val" if n >= len(chunks) - val_groups else "fit"
        groups.append(collect_group(f"train-{n:02d}", role, chunk, embedder, WITHHOLD, ("answerable", "withheld")))
    # The held-out articles once more, each its own corpus: a brief is one document, and the
    # signals (rarity, ranks, the ranker's score) read differently in a corpus of one.
    for n, article in enumerate(a for chunk in chunks[len(chunks) - val_groups :] for a in chunk):
        groups.append(
            collect_group(f"single-{n:02d}", "single", [article], embedder, WITHHOLD, ("answerable", "withheld"))
        )
    dev_articles = read_squad(dev)
    groups.append(collect_group("dev", "dev", dev_articles, embedder, 0, ("answerable", "near_miss")))
    groups.append(collect_group("dev-withheld", "dev", dev_articles, embedder, WITHHOLD, ("withheld",)))
    if other is not None:
        other_articles = read_squad(other)
        groups.append(collect_group("other", "other", other_articles, embedder, 0, ("answerable", "near_miss")))
    return groups
