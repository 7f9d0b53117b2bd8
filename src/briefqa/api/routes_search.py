"""Questions in, quotes out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..answers.searcher import MAX_K, MAX_QUESTION
from .deps import SearcherDep
from .schemas import NONBLANK, AskRequest, SearchResponse, error_responses
from .strict_input import CheckedRoute

router = APIRouter(prefix="/api", tags=["search"], route_class=CheckedRoute)


@router.get("/search", response_model=SearchResponse, responses=error_responses(422, 503))
def search(
    searcher: SearcherDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION, pattern=NONBLANK, description="the question")],
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
) -> SearchResponse:
    """One question, no history."""
    return SearchResponse.of(searcher.search(q, (), k))


@router.post("/ask", response_model=SearchResponse, responses=error_responses(413, 422, 503))
def ask(searcher: SearcherDep, body: AskRequest) -> SearchResponse:
    """A question in a conversation: ``history`` holds the user's earlier questions, oldest first."""
    return SearchResponse.of(searcher.search(body.question, body.history, body.k))
