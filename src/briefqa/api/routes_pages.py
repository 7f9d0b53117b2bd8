"""The HTML pages: the chat at ``/`` and the sources. Each renders the same objects as its JSON twin."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema
from starlette.responses import Response

from ..answers.questions import MAX_HISTORY
from ..answers.searcher import Searcher
from ..errors import InputError, NotFoundError
from ..records import SourceOutline
from . import question_words
from . import turns as carried_turns
from .deps import LiveDep, SearcherDep, SignerDep
from .schemas import History, PageQuestion, SourceList, error_responses
from .source_view import byline, cited_span, safe_origin, shown_blocks
from .strict_input import CheckedRoute
from .templating import page, wants_html

router = APIRouter(tags=["pages"], default_response_class=HTMLResponse, route_class=CheckedRoute)

# Optional query parameters are typed ``X | SkipJsonSchema[None]``: a query string has no null, and
# a schema saying "string or null" lets fuzzers send a "null" that is, once serialized, a valid string.

Shown = Annotated[list[Annotated[str, Field(max_length=carried_turns.MAX_SHOWN)]], Field(max_length=MAX_HISTORY)]

# The page shows one answer and a couple more quotes under it; more would bury the answer.
PAGE_K = 3
# The empty page's starting points: enough to show what the sources are about, not the index.
START_SOURCES = 8
START_HEADINGS = 5


@dataclass(frozen=True, slots=True)
class Holdings:
    """What the empty chat page says the sources hold: counts, and the sources it offers to start from."""

    sources: int
    passages: int
    shown: tuple[SourceOutline, ...]

    @property
    def more(self) -> int:
        return self.sources - len(self.shown)


def holdings(searcher: Searcher) -> Holdings:
    """The sources' titles and section headings as starting points, each short enough to ask."""
    askable = [o for o in searcher.outlines if question_words.problem(o.title) is None]
    shown = tuple(
        replace(o, headings=tuple(h for h in o.headings if question_words.problem(h) is None)[:START_HEADINGS])
        for o in askable[:START_SOURCES]
    )
    stats = searcher.sources()
    return Holdings(sources=len(stats), passages=sum(s.chunks for s in stats), shown=shown)


@router.get("/", response_class=HTMLResponse, responses=error_responses(422, 429, 503, html=True))
def chat(
    request: Request,
    live: LiveDep,
    signer: SignerDep,
    question: Annotated[
        PageQuestion | SkipJsonSchema[None], Query(description="ask this (the page works without JavaScript)")
    ] = None,
    history: Annotated[
        History | SkipJsonSchema[None], Query(description="earlier questions, oldest first (at most 20)")
    ] = None,
    shown: Annotated[
        Shown | SkipJsonSchema[None],
        Query(description="what each earlier question showed, as the page's form carries it (one per history entry)"),
    ] = None,
) -> Response:
    """The chat page; with ``question`` it also renders the thread's answers, so no script is needed.

    Earlier turns are drawn from ``shown`` when it matches ``history``; only the new question,
    and any earlier one without a usable reference, is searched.
    """
    earlier = list(history or ())
    refs: list[str | None] = list(shown) if shown is not None and len(shown) == len(earlier) else [None] * len(earlier)
    problem = question_words.problem(question) if question is not None else None
    if problem is not None and not wants_html(request):
        raise InputError(problem)
    # A question the page cannot ask leaves the thread before it on the page, under its reason.
    asked = [*zip(earlier, refs, strict=True), *([(question, None)] if question is not None and not problem else [])]
    if question is not None:
        live.refresh_if_published()  # as every /api/* route does: another worker may have published
    turns = carried_turns.draw_thread(live.searcher, asked, PAGE_K, signer) if question is not None else []
    # The next question's history: the questions asked so far, as the API counts them, each with
    # what it showed.
    kept = turns[-MAX_HISTORY:]
    # The whole thread as Markdown, each turn as it is shown here (no-script twin of "Copy as Markdown").
    transcript = [pair for t in turns for pair in (("q", t.question), ("shown", t.ref))]
    context = {
        "turns": turns,
        "history": [(t.question, t.ref) for t in kept],
        "k": PAGE_K,
        "transcript_query": urlencode([*transcript, ("k", PAGE_K)]),
        "error": problem,
        "typed": question if problem == question_words.TOO_LONG else "",
        "words": question_words,
        # Without a thread, the page says what it can be asked about (nothing while no index is served).
        "holdings": holdings(live.searcher) if not turns and live.ready else None,
    }
    return page(request, "chat.html", context, status_code=422 if problem else 200)


@router.get("/sources", response_class=HTMLResponse, responses=error_responses(503, html=True))
def sources_page(request: Request, searcher: SearcherDep) -> Response:
    """The sources, from the same list as ``/api/sources``; an origin that is no web link is not linked."""
    listing = SourceList.of(searcher.sources())
    sources = [s.model_copy(update={"origin": safe_origin(s.origin)}) for s in listing.sources]
    return page(request, "sources.html", {"sources": sources})


@router.get("/sources/{source_id}", response_class=HTMLResponse, responses=error_responses(404, 422, 503, html=True))
def source_page(
    request: Request,
    searcher: SearcherDep,
    source_id: str,
    live: LiveDep,
    hl: Annotated[
        str | SkipJsonSchema[None], Query(description="START-END: character offsets of the text to highlight")
    ] = None,
    rev: Annotated[
        str | SkipJsonSchema[None], Query(description="the revision of the source's text that START-END index")
    ] = None,
) -> Response:
    """The source, paragraphs kept; ``hl`` wraps ``text[START:END]`` in ``<mark id="q">``.

    When ``rev`` names another text of the source than the one served, the quote is marked where
    it stands now, found by its words, or not at all; the page says the source changed.
    """
    doc = searcher.document(source_id)
    if doc is None:
        raise NotFoundError(f"no source with id {source_id!r}")
    citation = cited_span(
        hl,
        rev,
        doc.text,
        searcher.revision(source_id) or "",
        live.archive.text,
        lambda start, end: searcher.quote_at(source_id, start, end, 1) is not None,
    )
    span = citation.span
    date, authors = byline(doc.metadata)
    blocks = shown_blocks(doc, span)
    context = {
        "doc": doc,
        "origin": safe_origin(doc.origin),
        "date": date,
        "authors": authors,
        "blocks": blocks,
        "highlighted": span is not None,
        "citation": citation,
        "marked": any(p.marked for b in blocks for p in b.pieces),
        "back": _thread_link(request),
        "stale": searcher.stale_reason(doc.id),
    }
    return page(request, "source.html", context)


def _thread_link(request: Request) -> str | None:
    """The conversation the reader came from, as the address of its chat page, or None.

    The chat page (with or without its script) keeps its thread in its address, and the browser
    names that address in ``Referer`` on a same-site link (``Referrer-Policy: same-origin``). Only
    a chat page of this site counts; the link is relative, so it cannot lead elsewhere.
    """
    came_from = urlsplit(request.headers.get("referer", ""))
    if came_from.netloc != request.url.netloc or came_from.path != "/" or not came_from.query:
        return None
    return f"/?{came_from.query}#latest"
