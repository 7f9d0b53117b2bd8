"""A thread as Markdown (``/api/transcript``): the page's "Copy as Markdown", its no-script link, and scripts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from ..answers.questions import MAX_K
from .deps import SearcherDep, SignerDep
from .schemas import MAX_TURNS, Question, TranscriptRequest, error_responses
from .strict_input import CheckedRoute
from .transcript import FILENAME, MEDIA_TYPE, markdown
from .turns import MAX_SHOWN, draw_thread

router = APIRouter(prefix="/api", tags=["search"], route_class=CheckedRoute)

_MARKDOWN: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/markdown": {"schema": {"type": "string"}}}, "description": "the thread"}
}


def _reply(text: str) -> Response:
    return Response(text, media_type=MEDIA_TYPE, headers={"Content-Disposition": f'attachment; filename="{FILENAME}"'})


@router.get("/transcript", response_class=Response, responses={**_MARKDOWN, **error_responses(422, 429, 503)})
def transcript(
    request: Request,
    searcher: SearcherDep,
    signer: SignerDep,
    q: Annotated[
        list[Question], Query(min_length=1, max_length=MAX_TURNS, description="the thread's questions, oldest first")
    ],
    shown: Annotated[
        list[Annotated[str, Field(max_length=MAX_SHOWN)]] | None,
        Query(max_length=MAX_TURNS, description="what each question showed, as the chat page carries it"),
    ] = None,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
) -> Response:
    """The thread as Markdown, each quote with its source's title and full link.

    With ``shown`` (one per question, as the chat page's form carries them) each turn is drawn as
    the page showed it; otherwise each question is searched after the ones before it.
    """
    refs: list[str | None] = list(shown) if shown is not None and len(shown) == len(q) else [None] * len(q)
    turns = draw_thread(searcher, list(zip(q, refs, strict=True)), k, signer)
    return _reply(markdown(turns, str(request.base_url)))


@router.post("/transcript", response_class=Response, responses={**_MARKDOWN, **error_responses(413, 422, 429, 503)})
def transcript_of(request: Request, searcher: SearcherDep, signer: SignerDep, body: TranscriptRequest) -> Response:
    """The thread of ``questions`` as Markdown: each asked after the ones before it, as ``/api/ask`` would."""
    turns = draw_thread(searcher, [(question, None) for question in body.questions], body.k, signer)
    return _reply(markdown(turns, str(request.base_url)))
