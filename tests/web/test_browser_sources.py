"""The Sources page in Chromium, with and without JavaScript, when a source's file has broken.

Issue 26: a truncated PDF vanished from the page. Now it is listed, its link opens its last good
version, and the page says it is stale and why.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from briefqa.answers.live import LiveIndex
from briefqa.api.app import create_app
from briefqa.settings import Settings

from ..conftest import CountingEmbedder, RunningServer, free_port, write_source
from ..sources.test_ingest import make_pdf
from .test_browser import Page, axe_source, browser, serious_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["axe_source", "browser"]  # fixtures, used by name


@pytest.fixture(scope="module")
def stale_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Two sources, one of them a PDF truncated after a good build and rebuilt."""
    root = tmp_path_factory.mktemp("stale")
    corpus = root / "corpus"
    write_source(corpus, "fisheries.md", "fisheries")
    pdf = make_pdf([["The Delta Water Compact", "The compact shares the delta water between three provinces."]])
    (corpus / "compact.pdf").write_bytes(pdf)
    live = LiveIndex(corpus, root / "index", CountingEmbedder())
    live.rebuild()
    (corpus / "compact.pdf").write_bytes(pdf[: len(pdf) // 2])
    assert [k["id"] for k in live.rebuild().kept] == ["compact"]
    with RunningServer(create_app(Settings(corpus=corpus, index=live.root), live), free_port()) as running:
        yield running


@pytest.mark.parametrize("javascript", [True, False])
def test_the_sources_page_lists_a_broken_file_as_stale_with_its_reason(
    browser: Any, stale_server: RunningServer, javascript: bool
) -> None:
    page = Page(browser, stale_server.url, java_script_enabled=javascript)
    page.page.goto("/sources")
    item = page.page.locator("ul.sources li", has_text="The Delta Water Compact")
    note = item.locator(".stale")
    assert note.is_visible()
    assert "Stale" in note.inner_text() and "not a readable PDF" in note.inner_text()
    fisheries = page.page.locator("ul.sources li", has_text="The fisheries brief")
    assert fisheries.count() == 1 and fisheries.locator(".stale").count() == 0
    item.get_by_role("link", name="The Delta Water Compact").click()
    page.page.wait_for_url("**/sources/compact")
    assert "shares the delta water" in page.page.locator("main").inner_text()
    assert "last good version" in page.page.locator(".source .stale").inner_text()
    page.context.close()
    assert page.errors == []


@pytest.mark.parametrize("path", ["/sources", "/sources/compact"])
def test_a_stale_source_s_pages_have_no_serious_accessibility_violation(
    browser: Any, stale_server: RunningServer, axe_source: str, path: str
) -> None:
    page = Page(browser, stale_server.url)
    page.page.goto(path)
    assert page.page.locator(".stale").count() == 1
    assert serious_violations(page.page, axe_source) == []
    page.context.close()
