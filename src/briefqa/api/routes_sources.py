"""The sources as JSON."""

from __future__ import annotations

from fastapi import APIRouter

from ..errors import NotFoundError
from .deps import SearcherDep
from .schemas import SourceDetail, SourceList, error_responses
from .strict_input import CheckedRoute

router = APIRouter(prefix="/api/sources", tags=["sources"], route_class=CheckedRoute)


@router.get("", response_model=SourceList, responses=error_responses(503))
def list_sources(searcher: SearcherDep) -> SourceList:
    return SourceList.of(searcher.sources())


@router.get("/{source_id}", response_model=SourceDetail, responses=error_responses(404, 503))
def get_source(searcher: SearcherDep, source_id: str) -> SourceDetail:
    doc = searcher.document(source_id)
    if doc is None:
        raise NotFoundError(f"no source with id {source_id!r}")
    return SourceDetail(id=doc.id, title=doc.title, origin=doc.origin, text=doc.text, metadata=doc.metadata)
