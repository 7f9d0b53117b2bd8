"""Questions in, quotes out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..answers.questions import MAX_K, MAX_QUESTION
from .deps import SearcherDep, SignerDep
from .schemas import NONBLANK, AskRequest, SearchResponse, error_responses
from .strict_input import CheckedRoute
from .turns import signed

router = APIRouter(prefix="/api", tags=["search"], route_class=CheckedRoute)


@router.get("/search", response_model=SearchResponse, responses=error_responses(422, 429, 503))
def search(
    searcher: SearcherDep,
    signer: SignerDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION, pattern=NONBLANK, description="the question")],
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
) -> SearchResponse:
    """One question, no history."""
    return signed(SearchResponse.of(searcher.search(q, (), k)), q, (), searcher, signer)


@router.post("/ask", response_model=SearchResponse, responses=error_responses(413, 422, 429, 503))
def ask(searcher: SearcherDep, signer: SignerDep, body: AskRequest) -> SearchResponse:
    """A question in a conversation: ``history`` holds the user's earlier questions, oldest first."""
    response = SearchResponse.of(searcher.search(body.question, body.history, body.k))
    return signed(response, body.question, body.history, searcher, signer)
