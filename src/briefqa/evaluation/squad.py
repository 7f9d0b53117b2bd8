"""SQuAD v2.0 JSON -> a corpus of its articles and questions scored by character offsets.

Each article becomes one source, its paragraphs as written, separated by blank lines. Each
question keeps the spans of its annotated answers, moved to offsets in that source's stored
text, so a quote answers it exactly when its span covers one of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..records import Document


@dataclass(frozen=True, slots=True)
class SquadArticle:
    title: str
    paragraphs: tuple[str, ...]
    # Per paragraph, its questions: (id, question, answer spans in the paragraph, impossible).
    questions: tuple[tuple[tuple[str, str, tuple[tuple[int, int], ...], bool], ...], ...]


@dataclass(frozen=True, slots=True)
class SquadQuestion:
    """One question, with its answers as spans of its article's stored text."""

    id: str
    question: str
    article: str
    source_id: str
    answers: tuple[tuple[int, int], ...]  # empty: unanswerable by design

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    def answered_by(self, source_id: str, start: int, end: int) -> bool:
        """Whether a quote of ``source_id`` spanning ``start:end`` covers one of the answers."""
        return source_id == self.source_id and any(start <= a and b <= end for a, b in self.answers)


def is_squad(path: Path) -> bool:
    """Whether ``path`` holds SQuAD-format JSON (recognised by its content, not its name)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(64).lstrip()[:1] != b"{":
                return False
            fh.seek(0)
            raw = json.load(fh)
    # JSON lines (the brief's sets) are not one JSON document; anything unreadable is not SQuAD.
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(raw, dict) and isinstance(raw.get("data"), list)


def read_squad(path: Path) -> list[SquadArticle]:
    """The articles of a SQuAD v2.0 file; ``InputError`` naming the file when it is not one."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        articles = []
        for article in raw["data"]:
            paragraphs, questions = [], []
            for paragraph in article["paragraphs"]:
                context = str(paragraph["context"])
                paragraphs.append(context)
                questions.append(tuple(_question(qa, context) for qa in paragraph["qas"]))
            articles.append(SquadArticle(str(article["title"]), tuple(paragraphs), tuple(questions)))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not a SQuAD v2.0 file ({type(exc).__name__}: {exc})") from None
    if not articles:
        raise InputError(f"{path}: no articles")
    return articles


def _question(qa: dict[str, Any], context: str) -> tuple[str, str, tuple[tuple[int, int], ...], bool]:
    impossible = bool(qa.get("is_impossible", False))
    spans = []
    if not impossible:
        for answer in qa["answers"]:
            start = int(answer["answer_start"])
            text = str(answer["text"])
            if context[start : start + len(text)] != text:
                raise ValueError(f"question {qa['id']}: answer {text!r} is not at offset {start}")
            spans.append((start, start + len(text)))
    return str(qa["id"]), str(qa["question"]), tuple(spans), impossible


def file_name(n: int, title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "article"
    return f"{n:03d}-{slug}.txt"


def as_stored(context: str) -> str:
    """A paragraph as the text source stores it, its length (so every answer offset) kept.

    Ingest turns line breaks "\\r\\n" into "\\n" and refuses NUL bytes; a space in their place
    keeps one character for each, so the answer spans need no shifting.
    """
    return context.replace("\r", " ").replace("\x00", " ")


def write_corpus(articles: list[SquadArticle], folder: Path) -> None:
    """One text source per article (its title in front matter), paragraphs as written."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, article in enumerate(articles):
        title = article.title.replace("_", " ")
        body = "\n\n".join(as_stored(p) for p in article.paragraphs)
        (folder / file_name(n, article.title)).write_text(
            f"---\ntitle: {json.dumps(title)}\n---\n{body}\n", encoding="utf-8"
        )


def questions_of(articles: list[SquadArticle], documents: Sequence[Document]) -> list[SquadQuestion]:
    """Every question, its answers moved to offsets in the indexed text of its article."""
    by_path = {d.path: d for d in documents}
    out: list[SquadQuestion] = []
    for n, article in enumerate(articles):
        doc = by_path.get(file_name(n, article.title))
        if doc is None:
            raise InputError(f"article {article.title!r} was not indexed")
        at = 0
        for paragraph, questions in zip(article.paragraphs, article.questions, strict=True):
            base = doc.text.find(as_stored(paragraph), at)
            if base < 0:
                raise InputError(f"article {article.title!r}: a paragraph is not in its indexed text")
            at = base + len(paragraph)
            for qid, question, spans, _impossible in questions:
                moved = tuple((base + a, base + b) for a, b in spans)
                out.append(SquadQuestion(qid, question, article.title, doc.id, moved))
    return out
