"""Request and response models of the HTTP API (separate from the internal records)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..records import Answer
from ..searcher import MAX_HISTORY, MAX_K, MAX_QUESTION


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION)
    history: list[str] = Field(default_factory=list, max_length=MAX_HISTORY)
    k: int = Field(default=5, ge=1, le=MAX_K)


class SourceRef(BaseModel):
    id: str
    title: str
    url: str
    origin: str | None


class Result(BaseModel):
    rank: int
    score: float
    quote: str
    passage: str
    start: int
    end: int
    source: SourceRef


class SearchResponse(BaseModel):
    query: str
    answered: bool
    results: list[Result]

    @classmethod
    def of(cls, answer: Answer) -> SearchResponse:
        return cls(
            query=answer.query,
            answered=answer.answered,
            results=[
                Result(rank=q.rank, score=q.score, quote=q.quote, passage=q.passage, start=q.start,
                       end=q.end, source=SourceRef(id=q.source.id, title=q.source.title, url=q.url,
                                                   origin=q.source.origin))
                for q in answer.results
            ],
        )


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    model: str
    index_version: str


class SourceSummary(BaseModel):
    id: str
    title: str
    origin: str | None
    chars: int
    chunks: int


class SourceList(BaseModel):
    sources: list[SourceSummary]


class SourceDetail(BaseModel):
    id: str
    title: str
    origin: str | None
    text: str
    metadata: dict[str, Any]


class RebuildError(BaseModel):
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
