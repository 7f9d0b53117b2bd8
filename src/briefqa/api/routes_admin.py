"""Health and index rebuilds."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from .deps import AdminDep, LiveDep, SearcherDep
from .schemas import Health, RebuildResponse, error_responses

router = APIRouter(tags=["admin"])


@router.get("/healthz", response_model=Health, responses=error_responses(503))
def healthz(searcher: SearcherDep) -> Health:
    m = searcher.data.manifest
    return Health(
        status="ok",
        documents=len(searcher.data.documents),
        chunks=len(searcher.data.chunk_start),
        model=str(m["model"]),
        index_version=searcher.version,
    )


@router.post("/api/index/rebuild", response_model=RebuildResponse, responses=error_responses(401, 403, 409, 503))
async def rebuild(_: AdminDep, live: LiveDep) -> RebuildResponse:
    """Incremental re-index; replies once the new version is the one answering."""
    report = await run_in_threadpool(live.rebuild)
    return RebuildResponse.model_validate(report.to_json())
