"""A file that breaks after a good build loses nothing: served, linked and marked stale over HTTP.

Issue 26: a truncated PDF dropped its source (404 on old links, "ok" everywhere). Now its last
good version stays, and the rebuild reply, ``/api/sources``, the Sources page and ``/healthz``
say it is stale and why; fixed it is current again; deleted it is removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from briefqa.answers.live import LiveIndex
from briefqa.api.app import create_app
from briefqa.settings import Settings

from ..conftest import CountingEmbedder, RunningServer, free_port, write_source
from ..sources.test_ingest import make_pdf

TOKEN = "test-admin-token"
PDF_LINES = [
    "The Delta Water Compact",
    "The compact shares the delta water between three provinces.",
    "It was signed in 2019 by the river commission after a decade of drought.",
]
QUESTION = "How does the compact share the delta water between provinces?"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    for topic in ("fisheries", "railways"):
        write_source(folder, f"{topic}.md", topic)
    (folder / "compact.pdf").write_bytes(make_pdf([PDF_LINES], title="The Delta Water Compact"))
    return folder


@pytest.fixture
def server(corpus: Path, tmp_path: Path) -> Iterator[RunningServer]:
    live = LiveIndex(corpus, tmp_path / "index", CountingEmbedder())
    live.rebuild()
    settings = Settings(corpus=corpus, index=live.root, admin_token=TOKEN)
    with RunningServer(create_app(settings, live), free_port()) as running:
        yield running


def _rebuild(http: httpx.Client) -> dict:  # type: ignore[type-arg]
    reply = http.post("/api/index/rebuild", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def _compact(http: httpx.Client) -> dict:  # type: ignore[type-arg]
    listed = http.get("/api/sources").json()["sources"]
    return next(s for s in listed if s["id"] == "compact")  # type: ignore[no-any-return]


def test_a_truncated_pdf_is_served_from_its_last_good_version_marked_stale_until_fixed(
    server: RunningServer, corpus: Path
) -> None:
    good = (corpus / "compact.pdf").read_bytes()
    with httpx.Client(base_url=server.url, timeout=60) as http:
        before = http.get("/api/search", params={"q": QUESTION}).json()
        link = next(r["source"]["url"] for r in before["results"] if r["source"]["id"] == "compact")
        assert _compact(http)["state"] == "current" and _compact(http)["problem"] is None
        assert http.get("/healthz").json()["stale_sources"] == 0

        (corpus / "compact.pdf").write_bytes(good[: len(good) // 2])  # one save went wrong
        report = _rebuild(http)
        assert report["errors"] == [] and report["removed"] == [] and report["documents"] == 3
        assert [(k["id"], k["path"]) for k in report["kept"]] == [("compact", "compact.pdf")]
        reason = report["kept"][0]["error"]
        assert "not a readable PDF" in reason

        # Still answered and linked as before: the old link opens the same sentence, highlighted.
        after = http.get("/api/search", params={"q": QUESTION}).json()
        assert "compact" in {r["source"]["id"] for r in after["results"]}
        page = http.get(link)
        assert page.status_code == 200 and '<mark id="q">' in page.text
        assert "last good version" in page.text and "not a readable PDF" in page.text, "says what it is"
        assert http.get("/api/sources/compact").json()["title"] == "The Delta Water Compact"
        # Marked stale with its reason, everywhere a user looks.
        assert {k: _compact(http)[k] for k in ("state", "problem")} == {"state": "stale", "problem": reason}
        health = http.get("/healthz").json()
        assert (health["stale_sources"], health["documents"]) == (1, 3)
        listing = http.get("/sources").text
        assert "Stale" in listing and "not a readable PDF" in listing

        (corpus / "compact.pdf").write_bytes(good)  # fixed
        fixed = _rebuild(http)
        assert (fixed["updated"], fixed["kept"], fixed["errors"]) == (["compact"], [], [])
        assert _compact(http)["state"] == "current" and http.get("/healthz").json()["stale_sources"] == 0
        assert "Stale" not in http.get("/sources").text and "last good version" not in http.get(link).text

        (corpus / "compact.pdf").unlink()  # deleted: removed, its links gone
        gone = _rebuild(http)
        assert (gone["removed"], gone["kept"]) == (["compact"], [])
        assert http.get("/api/sources/compact").status_code == 404
