"""Dependencies the routes declare, so handlers read as what they do."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from ..answers.live import LiveIndex
from ..answers.searcher import Searcher
from ..errors import AuthError, ForbiddenError
from ..settings import Settings
from .thread_signing import ThreadSigner


def get_live(request: Request) -> LiveIndex:
    return request.app.state.live  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_signer(request: Request) -> ThreadSigner:
    return request.app.state.signer  # type: ignore[no-any-return]


def get_searcher(live: Annotated[LiveIndex, Depends(get_live)]) -> Searcher:
    """The live version's searcher, taken once per request (503 while there is none)."""
    live.refresh_if_published()
    return live.searcher


def require_admin(
    settings: Annotated[Settings, Depends(get_settings)],
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """Bearer ``BRIEFQA_ADMIN_TOKEN``: 403 when the server has none set, 401 when it does not match."""
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        raise ForbiddenError("rebuilding over HTTP is off: the server has no BRIEFQA_ADMIN_TOKEN")
    expected = settings.admin_token.get_secret_value()
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise AuthError("missing or wrong bearer token")


LiveDep = Annotated[LiveIndex, Depends(get_live)]
SearcherDep = Annotated[Searcher, Depends(get_searcher)]
AdminDep = Annotated[None, Depends(require_admin)]
SignerDep = Annotated[ThreadSigner, Depends(get_signer)]
