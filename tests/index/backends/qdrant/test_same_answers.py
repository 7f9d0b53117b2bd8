"""Same answers from Qdrant: the real model over the brief's sets and the SQuAD sample, both stores.

Each set is indexed twice from the same segments, into the local files and into Qdrant's embedded
mode (started here, in a temporary folder), and every question is asked of both. The first quote
(source and offsets) and whether it is an answer must agree for every question but at most one
per set (the issue's bar; exact ties between passages may be broken in another order).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from briefqa.answers.searcher import Searcher, open_searcher
from briefqa.evaluation.evaluate import answer_all, load_items
from briefqa.evaluation.squad import read_squad, write_corpus
from briefqa.index.backends.choose import open_store
from briefqa.index.backends.qdrant.store import QdrantStore
from briefqa.index.build.pipeline import build_index
from briefqa.records import Answer

from ....conftest import CORPUS, EVAL_FILE, REPO, SQUAD_SAMPLE

pytestmark = pytest.mark.slow


def _first(answer: Answer) -> tuple[bool, tuple[str, int, int] | None]:
    top = answer.results[0] if answer.results else None
    return answer.answered, None if top is None else (top.source.id, top.start, top.end)


def _both(corpus: Path, tmp: Path, embedder) -> Iterator[tuple[Searcher, Searcher]]:  # type: ignore[no-untyped-def]
    build_index(corpus, tmp / "local", embedder)
    store = open_store(tmp / "cache", str(tmp / "qdrant"))
    assert isinstance(store, QdrantStore)
    try:
        build_index(corpus, store, embedder)
        yield open_searcher(tmp / "local", embedder), open_searcher(store, embedder)
    finally:
        store.close()


def _compare(local: list[Answer], qdrant: list[Answer], searcher: Searcher) -> list[int]:
    for answer in qdrant:
        for r in answer.results:
            assert searcher.document(r.source.id).text[r.start : r.end] == r.quote  # type: ignore[union-attr]
    return [i for i, (a, b) in enumerate(zip(local, qdrant, strict=True)) if _first(a) != _first(b)]


def test_the_brief_sets_get_the_same_first_quotes(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    items = {
        name: load_items(path)
        for name, path in (("dev", EVAL_FILE), ("heldout", REPO / "eval" / "brief_qa_heldout.jsonl"))
    }
    for local, qdrant in _both(CORPUS, tmp_path, embedder):
        for name, questions in items.items():
            a = [local.search(q.question) for q in questions]
            b = [qdrant.search(q.question) for q in questions]
            differ = _compare(a, b, qdrant)
            print(f"{name}: {len(a) - len(differ)}/{len(a)} same first quote")
            assert len(differ) <= 1, (name, [questions[i].question for i in differ])


def test_the_squad_sample_gets_the_same_first_quotes(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    articles = read_squad(SQUAD_SAMPLE)
    write_corpus(articles, tmp_path / "corpus")
    questions = [q.question for a in articles for paragraph in a.questions for q in paragraph]
    for local, qdrant in _both(tmp_path / "corpus", tmp_path, embedder):
        differ = _compare(answer_all(local, questions), answer_all(qdrant, questions), qdrant)
        print(f"squad sample: {len(questions) - len(differ)}/{len(questions)} same first quote")
        assert len(differ) <= 1, [questions[i] for i in differ]
