"""The FastAPI app factory and its lifespan: they wire the routes, middlewares and error mapping,
and load the model and index once; they hold no logic of their own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ..answers.live import LiveIndex
from ..settings import Settings
from . import routes_admin, routes_pages, routes_search, routes_sources, routes_transcript
from .docs import install_docs
from .http_errors import install_error_handlers
from .middleware import MAX_BODY, BodyLimit, HeadAsGet, SecurityHeaders
from .rate_limit import RateLimit
from .templating import STATIC
from .thread_signing import signer_of

log = logging.getLogger("briefqa.api")


def create_app(settings: Settings | None = None, live: LiveIndex | None = None) -> FastAPI:
    """The app; ``live`` may be given (tests, ``briefqa serve``) or is built from ``settings``."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "live", None) is None:
            from ..embed import load_serving_embedder, share_cores
            from ..index.backends.choose import open_store

            key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
            # Before the model: a Qdrant that cannot be reached stops the start at once, saying why.
            store = await asyncio.to_thread(open_store, settings.index, settings.qdrant, key)
            if settings.workers > 1:
                share_cores(settings.workers)
            embedder = await asyncio.to_thread(load_serving_embedder, settings.model, settings.onnx_cache)
            app.state.live = LiveIndex(settings.corpus, store, embedder)
        await asyncio.to_thread(app.state.live.refresh)
        watcher = asyncio.create_task(_watch_versions(app.state.live, settings.reload_interval))
        try:
            yield
        finally:
            watcher.cancel()

    app = FastAPI(
        title="briefqa",
        version="0.1.0",
        lifespan=lifespan,
        description="Answers questions with sentences quoted verbatim from policy briefs.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.live = live
    app.state.signer = signer_of(settings)
    app.include_router(routes_search.router)
    app.include_router(routes_transcript.router)
    app.include_router(routes_sources.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_docs(app)
    install_error_handlers(app)

    # Added last is outermost: security headers go on every response, the 413 included.
    app.add_middleware(HeadAsGet)
    app.add_middleware(RateLimit, budget=settings.rate_budget)
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(SecurityHeaders)
    return app


async def _watch_versions(live: LiveIndex, interval: float) -> None:
    """Pick up versions published by any builder (CLI or HTTP) within ``interval`` seconds."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(live.refresh)
        except Exception:
            log.exception("index refresh failed")
