"""Request and response models of the HTTP API (separate from the internal records)."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, WithJsonSchema

from ..answers.questions import INVISIBLE_CATEGORIES, MAX_HISTORY, MAX_K, MAX_QUESTION
from ..records import Answer, SourceState, SourceStats
from ..records import AnswerSpan as MarkedSpan
from .citation import credit


def _invisible_class() -> str:
    """A regex class body of every character ``normalise_question`` drops or folds.

    Computed from the same Unicode categories, so the schema promises exactly what the searcher
    accepts. Escaped as ``\\uXXXX``/``\\UXXXXXXXX``, which Python's and pydantic's regex engines
    read alike. Surrogates are left out: the Rust engine cannot name them, and JSON text from a
    fuzzer never holds a lone one.
    """

    def esc(cp: int) -> str:
        return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"

    cats = INVISIBLE_CATEGORIES - {"Cs"}
    points = [cp for cp in range(sys.maxunicode + 1) if chr(cp).isspace() or unicodedata.category(chr(cp)) in cats]
    ranges: list[list[int]] = []
    for cp in points:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in ranges)


# A question must hold one visible character.
NONBLANK = f"[^{_invisible_class()}]"

Question = Annotated[str, Strict(), Field(min_length=1, max_length=MAX_QUESTION, pattern=NONBLANK)]
# The chat page's question: documented as the API's, but read as any text, so that the page itself
# says what is wrong with it (api/question_words.py) rather than a validator's error page.
PageQuestion = Annotated[
    str, WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_QUESTION, "pattern": NONBLANK})
]
EarlierQuestion = Annotated[str, Strict(), Field(max_length=MAX_QUESTION)]
History = Annotated[list[EarlierQuestion], Field(max_length=MAX_HISTORY)]


def _json_number(value: Any) -> Any:
    """JSON has numbers: ``"k": "5"`` or ``"k": true`` is a mistake to point out, not to guess at.

    (``5.0`` stays an integer, as JSON Schema counts it; pydantic's strict mode would refuse it.)
    """
    if isinstance(value, (bool, str)):
        raise ValueError("must be a JSON number, not a string or a boolean")
    return value


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Question
    history: History = Field(default_factory=list)
    k: Annotated[int, BeforeValidator(_json_number)] = Field(default=5, ge=1, le=MAX_K)


# A thread holds the latest question and the 20 before it, as a conversation's history does.
MAX_TURNS = MAX_HISTORY + 1


class TranscriptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    questions: Annotated[list[Question], Field(min_length=1, max_length=MAX_TURNS)] = Field(
        description="the thread's questions, oldest first; each is asked after those before it"
    )
    k: Annotated[int, BeforeValidator(_json_number)] = Field(default=5, ge=1, le=MAX_K)


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Every error: a sentence saying what is wrong, or the list of fields that broke the schema."""

    detail: str | list[ValidationIssue]


def error_responses(*codes: int, html: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may answer (pages may answer them as HTML)."""
    reasons = {
        401: "missing or wrong bearer token",
        403: "rebuilding over HTTP is off",
        404: "unknown id",
        409: "another build holds the index",
        413: "the request body is over the server's limit (64 KB), refused before it is parsed",
        422: "input breaks a limit",
        429: "this client's budget of searches is spent (BRIEFQA_RATE_LIMIT); Retry-After says when to try again",
        503: "no usable index yet",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        if html:
            # Spelled out: with ``model``, FastAPI would file the JSON schema under the page's text/html.
            out[code] = {
                "description": reasons[code],
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}},
                    "text/html": {"schema": {"type": "string"}},
                },
            }
        else:
            out[code] = {"model": ErrorResponse, "description": reasons[code]}
    return out


class SourceRef(BaseModel):
    id: str
    title: str
    url: str
    origin: str | None
    authors: list[str] = Field(default_factory=list, description="who wrote the source, where its metadata says")
    date: str | None = Field(
        default=None, description="when it was published, as its metadata gives it (ISO where it can be)"
    )
    citation: str = Field(
        default="",
        description='the source cited without its link, as the page\'s "Copy quote with citation" gives it: '
        "authors, “title”, date (each where known)",
    )


class AnswerSpan(BaseModel):
    """The words inside the quote that answer, as offsets of the same source text as the quote's."""

    start: int = Field(description="offset in the source's text where the answer starts (inside the quote)")
    end: int = Field(description="offset in the source's text where the answer ends (inside the quote)")
    text: str = Field(description="the answer's words, `text[start:end]` of the source")

    @classmethod
    def of(cls, span: MarkedSpan | None) -> AnswerSpan | None:
        return None if span is None else cls(start=span.start, end=span.end, text=span.text)


class Result(BaseModel):
    rank: int
    score: float
    quote: str
    passage: str
    start: int
    end: int
    answer: AnswerSpan | None = Field(
        default=None,
        description="the words inside the quote that answer the question, shown emphasised inside the quote: "
        "`start <= answer.start < answer.end <= end` and `answer.text == text[answer.start:answer.end]`; "
        'null where none is marked (a "why" answer may be the whole sentence)',
    )
    source: SourceRef


class SearchResponse(BaseModel):
    query: str
    answered: bool
    notice: str | None = Field(
        default=None,
        description="why nothing is answered, when the reason is known (not English, nothing searchable, "
        "a follow-up with no earlier question); otherwise null",
    )
    results: list[Result]
    shown: str | None = Field(
        default=None,
        description="this turn as a later request carries it (the chat page's `shown`), signed by the server",
    )

    @classmethod
    def of(cls, answer: Answer) -> SearchResponse:
        return cls(
            query=answer.query,
            answered=answer.answered,
            notice=answer.notice,
            results=[
                Result(
                    rank=q.rank,
                    score=q.score,
                    quote=q.quote,
                    passage=q.passage,
                    start=q.start,
                    end=q.end,
                    answer=AnswerSpan.of(q.answer),
                    source=SourceRef(
                        id=q.source.id,
                        title=q.source.title,
                        url=q.url,
                        origin=q.source.origin,
                        authors=list(q.source.authors),
                        date=q.source.date,
                        citation=credit(q.source.title, q.source.authors, q.source.date),
                    ),
                )
                for q in answer.results
            ],
        )


class Health(BaseModel):
    status: str = Field(description='"ok" when the newest published version serves, "stale" while an older one does')
    documents: int
    chunks: int
    model: str
    index_version: str = Field(description="the version that serves")
    newest_version: str | None = Field(description="the newest published version, as last read")
    newest: bool = Field(description="whether the version that serves is the newest published")
    reason: str | None = Field(default=None, description="why the newest version does not serve, when it does not")
    # Sources served from their last good version because their file no longer parses.
    stale_sources: int = Field(default=0, description="how many sources are served from their last good version")


class SourceSummary(BaseModel):
    id: str
    title: str
    origin: str | None
    chars: int
    chunks: int
    state: SourceState = Field(
        "current", description='"stale": the file no longer parses; its last good version is served'
    )
    problem: str | None = Field(None, description="why the file failed to parse, when the state is stale")


class SourceList(BaseModel):
    sources: list[SourceSummary]

    @classmethod
    def of(cls, stats: Sequence[SourceStats]) -> SourceList:
        """The list ``/api/sources`` returns and ``/sources`` shows: one object for both."""
        return cls(
            sources=[
                SourceSummary(
                    id=s.id,
                    title=s.title,
                    origin=s.origin,
                    chars=s.chars,
                    chunks=s.chunks,
                    state=s.state,
                    problem=s.problem,
                )
                for s in stats
            ]
        )


class SourceDetail(BaseModel):
    id: str
    title: str
    origin: str | None
    text: str
    metadata: dict[str, Any]


class RebuildError(BaseModel):
    path: str
    error: str


class RebuildKept(BaseModel):
    """A source that failed to parse and is served from its last good version."""

    id: str
    path: str
    error: str


class RebuildResponse(BaseModel):
    added: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: int
    documents: int
    chunks: int
    seconds: float
    errors: list[RebuildError]
    # Failed to parse, served from their last good version (not among ``errors``).
    kept: list[RebuildKept] = []
