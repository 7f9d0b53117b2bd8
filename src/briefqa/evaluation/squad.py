"""SQuAD JSON -> a corpus of its articles and questions scored by character offsets.

Each article becomes one source, its paragraphs as written, separated by blank lines. Each
question keeps the spans of its annotated answers, moved to offsets in that source's stored
text, so a quote answers it exactly when its span covers one of them.

Questions come in three kinds: answerable, the crowd-written near misses of SQuAD 2.0
(``is_impossible``), and withheld: with ``withhold=N`` every N-th paragraph of each article is
left out of the corpus and its answerable questions are asked anyway, the unanswerable question
users ask most (the topic and the names are in the sources, the fact is not). A gzip file (SQuAD
1.1's training set as shared) is read as it is.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import InputError
from ..records import Document


@dataclass(frozen=True, slots=True)
class SquadArticle:
    title: str
    paragraphs: tuple[str, ...]
    # Per paragraph, its questions.
    questions: tuple[tuple[SquadItem, ...], ...]


@dataclass(frozen=True, slots=True)
class SquadItem:
    """A question as the file gives it, its answers as spans of its paragraph."""

    id: str
    question: str
    spans: tuple[tuple[int, int], ...]
    impossible: bool
    # The answer text occurs more than once in its paragraph, so its offset may name the wrong one
    # (SQuAD 1.1's shared training file gives the first occurrence; ``answer_occurrences``).
    ambiguous: bool = False


Kind = Literal["answerable", "near_miss", "withheld"]
KINDS: tuple[Kind, ...] = ("answerable", "near_miss", "withheld")


@dataclass(frozen=True, slots=True)
class SquadQuestion:
    """One question, with its answers as spans of its article's stored text."""

    id: str
    question: str
    article: str
    source_id: str
    answers: tuple[tuple[int, int], ...]  # empty: unanswerable
    kind: Kind
    ambiguous: bool = False

    @property
    def answerable(self) -> bool:
        return self.kind == "answerable"

    def answered_by(self, source_id: str, start: int, end: int) -> bool:
        """Whether a quote of ``source_id`` spanning ``start:end`` covers one of the answers."""
        return source_id == self.source_id and any(start <= a and b <= end for a, b in self.answers)


def _read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def is_squad(path: Path) -> bool:
    """Whether ``path`` holds SQuAD-format JSON, gzipped or not (recognised by its content)."""
    try:
        data = _read_bytes(path)
        if data[:64].lstrip()[:1] != b"{":
            return False
        raw = json.loads(data)
    # JSON lines (the brief's sets) are not one JSON document; anything unreadable is not SQuAD.
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(raw, dict) and isinstance(raw.get("data"), list)


def read_squad(path: Path) -> list[SquadArticle]:
    """The articles of a SQuAD file; ``InputError`` naming the file when it is not one."""
    try:
        raw = json.loads(_read_bytes(path).decode("utf-8"))
        articles = []
        for article in raw["data"]:
            paragraphs, questions = [], []
            for paragraph in article["paragraphs"]:
                context = str(paragraph["context"])
                paragraphs.append(context)
                questions.append(tuple(_question(qa, context) for qa in paragraph["qas"]))
            articles.append(SquadArticle(str(article["title"]), tuple(paragraphs), tuple(questions)))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not a SQuAD v2.0 file ({type(exc).__name__}: {exc})") from None
    if not articles:
        raise InputError(f"{path}: no articles")
    return articles


def _question(qa: dict[str, Any], context: str) -> SquadItem:
    impossible = bool(qa.get("is_impossible", False))
    spans = []
    if not impossible:
        for answer in qa["answers"]:
            start = int(answer["answer_start"])
            text = str(answer["text"])
            if context[start : start + len(text)] != text:
                raise ValueError(f"question {qa['id']}: answer {text!r} is not at offset {start}")
            spans.append((start, start + len(text)))
    ambiguous = int(qa.get("answer_occurrences", 1)) > 1
    return SquadItem(str(qa["id"]), str(qa["question"]), tuple(spans), impossible, ambiguous)


def withheld(paragraph: int, every: int) -> bool:
    """Whether paragraph number ``paragraph`` (from 0) of an article is left out: every ``every``-th."""
    return every > 0 and (paragraph + 1) % every == 0


def file_name(n: int, title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "article"
    return f"{n:03d}-{slug}.txt"


def as_stored(context: str) -> str:
    """A paragraph as the text source stores it, its length (so every answer offset) kept.

    Ingest turns line breaks "\\r\\n" into "\\n" and refuses NUL bytes; a space in their place
    keeps one character for each, so the answer spans need no shifting.
    """
    return context.replace("\r", " ").replace("\x00", " ")


def write_corpus(articles: list[SquadArticle], folder: Path, withhold: int = 0) -> None:
    """One text source per article (its title in front matter), its kept paragraphs as written.

    The folder holds exactly these articles afterwards: a source an earlier call wrote there and
    this one does not is removed, so an index built from it holds no other article.
    """
    folder.mkdir(parents=True, exist_ok=True)
    names = set()
    for n, article in enumerate(articles):
        title = article.title.replace("_", " ")
        kept = [as_stored(p) for i, p in enumerate(article.paragraphs) if not withheld(i, withhold)]
        name = file_name(n, article.title)
        names.add(name)
        text = f"---\ntitle: {json.dumps(title)}\n---\n" + "\n\n".join(kept) + "\n"
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    for stale in folder.glob("*.txt"):
        if stale.name not in names:
            stale.unlink()


def questions_of(articles: list[SquadArticle], documents: Sequence[Document], withhold: int = 0) -> list[SquadQuestion]:
    """Every question with its kind, its answers moved to offsets in the indexed text of its article.

    A near miss of a withheld paragraph is left out: it is neither kind alone.
    """
    by_path = {d.path: d for d in documents}
    out: list[SquadQuestion] = []
    for n, article in enumerate(articles):
        doc = by_path.get(file_name(n, article.title))
        if doc is None:
            raise InputError(f"article {article.title!r} was not indexed")
        at = 0
        for i, (paragraph, questions) in enumerate(zip(article.paragraphs, article.questions, strict=True)):
            if withheld(i, withhold):
                out.extend(
                    SquadQuestion(q.id, q.question, article.title, doc.id, (), "withheld")
                    for q in questions
                    if not q.impossible
                )
                continue
            base = doc.text.find(as_stored(paragraph), at)
            if base < 0:
                raise InputError(f"article {article.title!r}: a paragraph is not in its indexed text")
            at = base + len(paragraph)
            for q in questions:
                moved = tuple((base + a, base + b) for a, b in q.spans)
                kind: Kind = "near_miss" if q.impossible else "answerable"
                out.append(SquadQuestion(q.id, q.question, article.title, doc.id, moved, kind, q.ambiguous))
    return out
