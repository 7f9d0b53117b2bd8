"""The plain records that cross module lines. No I/O lives here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

BlockKind = Literal["heading", "paragraph", "item"]
# "stale": the file failed to parse after a good build, and that build's text is what is served.
SourceState = Literal["current", "stale"]


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed source. Every offset elsewhere indexes ``text``."""

    id: str
    path: str
    title: str
    origin: str | None
    text: str
    content_hash: str
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def document_to_json(doc: Document) -> dict[str, Any]:
    """A document as the index and the per-source cache store it."""
    return {
        "id": doc.id,
        "path": doc.path,
        "title": doc.title,
        "origin": doc.origin,
        "text": doc.text,
        "hash": doc.content_hash,
        "metadata": doc.metadata,
    }


def document_from_json(d: dict[str, Any]) -> Document:
    """The inverse of ``document_to_json`` (``KeyError`` when a field is missing)."""
    return Document(
        id=d["id"],
        path=d["path"],
        title=d["title"],
        origin=d["origin"],
        text=d["text"],
        content_hash=d["hash"],
        metadata=d["metadata"],
    )


@dataclass(frozen=True, slots=True)
class Block:
    """A line-level unit of a document: a heading, a paragraph or a list item."""

    kind: BlockKind
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Sentence:
    """Whole sentence(s) of a document; ``text[start:end]`` is quotable as is."""

    start: int
    end: int
    block: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of consecutive sentences, with the heading it sits under as context."""

    start: int
    end: int
    heading: str
    first_sentence: int
    last_sentence: int  # inclusive


@dataclass(frozen=True, slots=True)
class Segmented:
    """A document cut into blocks, sentences and chunks."""

    blocks: tuple[Block, ...]
    sentences: tuple[Sentence, ...]
    chunks: tuple[Chunk, ...]


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: str
    title: str
    origin: str | None
    # Names the text the quote's offsets index (answers.revisions); a citation link carries it.
    rev: str | None = None
    # Who wrote the source and when, where its metadata says (``metadata["authors"]``, ``["date"]``).
    authors: tuple[str, ...] = ()
    date: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerSpan:
    """The words inside a quote that answer its question, as offsets of the same source text:
    ``quote.start <= start < end <= quote.end`` and ``text == source_text[start:end]``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Quote:
    """One answer candidate: a verbatim span of a source and the passage around it."""

    rank: int
    score: float
    quote: str
    passage: str
    start: int
    end: int
    source: SourceInfo
    # Marked by the reader (answers/read.py) inside an answered quote; None where none is.
    answer: AnswerSpan | None = None

    @property
    def url(self) -> str:
        rev = f"&rev={self.source.rev}" if self.source.rev else ""
        return f"/sources/{self.source.id}?hl={self.start}-{self.end}{rev}#q"


@dataclass(frozen=True, slots=True)
class Answer:
    """What a search returns: the query actually searched, whether it is answered, the quotes."""

    query: str
    answered: bool
    results: tuple[Quote, ...]
    # The abstainer's probability that the first quote answers (None when nothing was ranked).
    confidence: float | None = None
    # Why nothing is answered, for the user, when the reason is known (answers/notices.py).
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class ChunkSpan:
    """Chunk ``number`` of an index version: its document (by number), span, sentences and heading."""

    number: int
    doc: int
    start: int
    end: int
    first: int  # first sentence, global numbering
    last: int  # last sentence (inclusive)
    heading: str


@dataclass(frozen=True, slots=True)
class SentenceSpans:
    """Consecutive sentences ``first..`` of an index version, one entry per sentence.

    ``quote_start`` is where the sentence's quote starts: at the sentence before it when it leans
    back on that one ("These reforms…"), else at ``start``.
    """

    first: int
    start: tuple[int, ...]
    end: tuple[int, ...]
    quote_start: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SourceStats:
    """One indexed source as the source lists show it (``/sources`` and ``/api/sources``).

    ``state`` is "stale" when the file failed to parse after a good build and that build's text is
    what is served; ``problem`` then says why it failed.
    """

    id: str
    title: str
    origin: str | None
    chars: int
    chunks: int
    state: SourceState = "current"
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class SourceOutline:
    """One source as a starting point: its title and the headings its passages stand under, in order."""

    id: str
    title: str
    headings: tuple[str, ...]
