"""The sources as JSON."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter

from ..errors import NotFoundError
from .deps import SearcherDep
from .schemas import SourceDetail, SourceList, SourceSummary, error_responses

router = APIRouter(prefix="/api/sources", tags=["sources"])


@router.get("", response_model=SourceList, responses=error_responses(503))
def list_sources(searcher: SearcherDep) -> SourceList:
    data = searcher.data
    chunks = Counter(int(d) for d in data.chunk_doc)
    return SourceList(
        sources=[
            SourceSummary(id=d.id, title=d.title, origin=d.origin, chars=len(d.text), chunks=chunks[i])
            for i, d in enumerate(data.documents)
        ]
    )


@router.get("/{source_id}", response_model=SourceDetail, responses=error_responses(404, 503))
def get_source(searcher: SearcherDep, source_id: str) -> SourceDetail:
    doc = searcher.data.document(source_id)
    if doc is None:
        raise NotFoundError(f"no source with id {source_id!r}")
    return SourceDetail(id=doc.id, title=doc.title, origin=doc.origin, text=doc.text, metadata=doc.metadata)
