"""The browser tests' shared fixtures: one Chromium for the whole session, and axe-core's script.

Here, not in a test module, so that every browser test module gets the same session-scoped
browser: a second module importing the fixture made a second Playwright instance, which refuses
to start inside the first one's event loop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
# Headless as root on a closed network: without the background-networking flags Chromium keeps
# trying Google's hosts and fills the log with refused connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# axe-core from npm (tests/web/package.json; `make axe`, which `make test` runs).
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):  # a skip in CI would pass the run without a single page tested
            pytest.fail(f"{CHROMIUM} is missing: run `make browser` before the tests")
        pytest.skip("Debian's chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} is missing: run `make axe` before the tests")
        pytest.skip("axe-core is not installed (make axe)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def chat(browser: Any, server: Any) -> Iterator[Any]:
    """The chat page (``test_browser.Page``) of the brief's server, wide enough for a thread;
    it must have logged no error by the time the test ends."""
    from .test_browser import Page

    page = Page(browser, server.url, viewport={"width": 1000, "height": 900})
    page.page.goto("/")
    yield page
    page.context.close()
    assert page.errors == [], "the page logged errors"
