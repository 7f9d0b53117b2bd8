"""Health and index rebuilds."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from .deps import AdminDep, LiveDep, SearcherDep
from .schemas import Health, RebuildResponse, error_responses
from .strict_input import CheckedRoute

REBUILD_LOCK_WAIT = 30.0

router = APIRouter(tags=["admin"], route_class=CheckedRoute)


@router.get("/healthz", response_model=Health, responses=error_responses(503))
def healthz(searcher: SearcherDep, live: LiveDep) -> Health:
    """200 while a usable version serves (503 while none does); says which, and whether it is the newest."""
    sources = searcher.sources()
    newest = live.newest
    # A store out of reach leaves nothing newer known: the version that serves is the newest seen.
    is_newest = newest is None or newest == searcher.version
    return Health(
        status="ok" if is_newest else "stale",
        documents=len(sources),
        chunks=sum(s.chunks for s in sources),
        model=searcher.model,
        index_version=searcher.version,
        newest_version=newest,
        newest=is_newest,
        reason=None if is_newest else live.load_error or "the newest version is being loaded",
        stale_sources=sum(s.state == "stale" for s in sources),
    )


@router.post("/api/index/rebuild", response_model=RebuildResponse, responses=error_responses(401, 403, 409, 413, 503))
async def rebuild(_: AdminDep, live: LiveDep) -> RebuildResponse:
    """Incremental re-index; replies once the new version is the one answering."""
    # A CLI build may hold the lock; answer 409 after a short wait rather than hang the client.
    report = await run_in_threadpool(lambda: live.rebuild(lock_timeout=REBUILD_LOCK_WAIT))
    return RebuildResponse.model_validate(report.to_json())
