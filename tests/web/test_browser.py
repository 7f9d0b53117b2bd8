"""The chat and source pages in Debian's Chromium, driven by Playwright, against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..api.test_start_page import AUTHORED, CITED

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Written under test-artifacts/ (ignored by git); docs/screenshot.png is refreshed from it by hand.
SCREENSHOT = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshot.png"
FIRST = "Which missile defense programs is Japan part of?"
FOLLOW_UP = "What else does Japan plan to deploy?"
ANSWERED = "What challenges remain for the alliance?"
UNANSWERABLE = "Who won the 2024 World Series?"


class Page:
    """A fresh page that records console errors and every /api/ask request it sends."""

    def __init__(self, browser: Any, base: str, **context: Any) -> None:
        self.base = base
        self.context = browser.new_context(base_url=base, **context)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.asks: list[dict[str, Any]] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", self._record)

    def _record(self, request: Any) -> None:
        if request.url.endswith("/api/ask"):
            self.asks.append(json.loads(request.post_data or "{}"))

    def ask(self, question: str) -> Any:
        """Type the question, press Enter, and wait for its turn; returns the new turn."""
        turns = self.page.locator("#thread article.turn")
        before = turns.count()
        box = self.page.locator('#ask-form input[name="question"]')
        box.fill(question)
        box.press("Enter")
        turns.nth(before).wait_for()
        return turns.nth(before)


def serious_violations(page: Any, axe_source: str) -> list[str]:
    """What axe-core finds on the page as it stands, of impact serious or critical.

    The script is evaluated through the browser's debugging protocol, which the page's CSP does
    not govern (a <script> tag of it would be refused by ``script-src 'self'``, rightly).
    """
    page.evaluate(axe_source)
    found = page.evaluate(
        """async () => (await axe.run(document, { resultTypes: ["violations"] })).violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary),
        }))"""
    )
    return [
        f"{v['id']} ({v['impact']}): {node}"
        for v in found
        if v["impact"] in ("serious", "critical")
        for node in v["nodes"]
    ]


def api_ask(chat: Page, body: dict[str, Any]) -> dict[str, Any]:
    response = chat.page.request.post(f"{chat.base}/api/ask", data=body)
    assert response.ok
    return dict(response.json())


def test_asking_shows_the_quote_with_its_source(chat: Page) -> None:
    # Watch the busy indicator from inside the page: it must show while the request is out.
    chat.page.evaluate(
        """() => {
            window.busySeen = false;
            const busy = document.getElementById("busy");
            new MutationObserver(() => { if (!busy.hidden) window.busySeen = true; })
                .observe(busy, { attributes: true });
        }"""
    )
    turn = chat.ask(ANSWERED)
    expected = api_ask(chat, {"question": ANSWERED, "k": 3})
    assert expected["answered"], "the engine abstains on a question the brief answers"
    top = expected["results"][0]
    assert turn.locator(".answer blockquote.quote").inner_text() == top["quote"]
    link = turn.locator(".answer a.source-link")
    assert link.get_attribute("href") == top["source"]["url"]
    assert link.inner_text() == top["source"]["title"]
    assert top["quote"] in turn.locator(".answer .passage").inner_text()
    assert chat.page.evaluate("window.busySeen") is True
    assert chat.page.locator("#busy").is_hidden()
    announce = chat.page.locator("#announce")
    assert announce.get_attribute("aria-live") == "polite"
    assert top["quote"] in announce.inner_text()
    assert chat.asks == [{"question": ANSWERED, "history": [], "k": 3}]


def test_a_follow_up_is_asked_with_the_thread(chat: Page) -> None:
    first = chat.ask(FIRST)
    second = chat.ask(FOLLOW_UP)
    assert chat.asks[1]["history"] == [FIRST]
    assert chat.asks[1]["question"] == FOLLOW_UP
    # "What else" asks for what the thread has not shown yet: not the first turn's quote again.
    assert second.locator("blockquote").first.text_content() != first.locator("blockquote").first.text_content()
    # The address now holds the thread, so a reload (or the back button) redraws it from the server,
    # and the server draws exactly what the script drew.
    drawn_by_script = chat.page.locator("#thread article.turn").all_inner_texts()
    chat.page.reload()
    asked = [t.replace("You asked: ", "").strip() for t in chat.page.locator("#thread .asked").all_text_contents()]
    assert asked == [FIRST, FOLLOW_UP]
    assert chat.page.locator("#thread article.turn").all_inner_texts() == drawn_by_script


def test_and_japan_after_the_satellite_share_question_quotes_the_japan_sentence(chat: Page) -> None:
    share = "What share of the world's active satellites does the United States operate?"
    chat.ask(share)
    turn = chat.ask("And Japan?")
    assert chat.asks[1] == {"question": "And Japan?", "history": [share], "k": chat.asks[1]["k"]}
    # Searched as the share question about Japan; the Japan sentence is among the quotes (the
    # order is the scores' order, as for any question).
    shown = [" ".join(t.split()) for t in turn.locator("blockquote").all_text_contents()]
    assert "Japan accounts for a small fraction of this total." in shown[:3]
    assert turn.locator(".no-answer").count() == 0


def test_an_unanswerable_question_shows_no_answer(chat: Page) -> None:
    turn = chat.ask(UNANSWERABLE)
    verdict = turn.locator(".no-answer")
    assert verdict.is_visible()
    assert "The sources do not answer this." in verdict.inner_text()
    assert turn.locator(".answer").count() == 0
    if turn.locator(".closest").count():
        assert "closest, not an answer" in verdict.inner_text().lower()
    assert "do not answer" in chat.page.locator("#announce").inner_text()


def test_a_quote_link_opens_the_source_with_the_quote_in_view(chat: Page) -> None:
    turn = chat.ask(ANSWERED)
    quote = turn.locator(".answer blockquote.quote").inner_text()
    turn.locator(".answer a.source-link").click()
    chat.page.wait_for_url("**/sources/**")
    assert "hl=" in chat.page.url and chat.page.url.endswith("#q")
    mark = chat.page.locator("mark#q")
    assert mark.inner_text() == quote
    box = mark.bounding_box()
    viewport = chat.page.viewport_size
    assert box is not None and viewport is not None
    assert box["y"] >= 0 and box["y"] + min(box["height"], viewport["height"]) <= viewport["height"]
    # Back to the conversation: the thread is still there.
    chat.page.go_back()
    chat.page.locator("#thread article.turn").first.wait_for()
    assert chat.page.locator(".answer blockquote.quote").first.inner_text() == quote


def test_copy_puts_the_quote_title_and_an_absolute_link_on_the_clipboard(chat: Page) -> None:
    chat.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=chat.base)
    turn = chat.ask(ANSWERED)
    quote = turn.locator(".answer blockquote.quote").inner_text()
    href = turn.locator(".answer a.source-link").get_attribute("href")
    button = turn.locator("button.copy")
    button.click()
    chat.page.wait_for_function("() => document.querySelector('button.copy').textContent === 'Copied'")
    copied = chat.page.evaluate("navigator.clipboard.readText()")
    assert quote in copied
    assert "Is the U.S.-Japan Space Alliance Entering a New Era?" in copied
    assert f"{chat.base}{href}" in copied


def test_the_page_fits_a_phone(browser: Any, server: Any) -> None:
    phone = Page(browser, server.url, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    try:
        phone.page.goto("/")
        phone.ask(ANSWERED)
        phone.ask(UNANSWERABLE)
        widths = phone.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"horizontal overflow: {widths}"
        phone.page.locator(".answer a.source-link").first.click()
        phone.page.locator("mark#q").wait_for()
        widths = phone.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"horizontal overflow on the source page: {widths}"
        assert phone.errors == []
    finally:
        phone.context.close()


def test_the_form_works_with_javascript_off(browser: Any, server: Any) -> None:
    page = Page(browser, server.url, java_script_enabled=False)
    try:
        page.page.goto("/")
        first = page.ask(FIRST)
        second = page.ask(FOLLOW_UP)
        assert page.asks == []  # the server drew both turns
        assert second.locator("blockquote").count() and first.locator("blockquote").count()
        assert second.locator("blockquote").first.text_content() != first.locator("blockquote").first.text_content()
        assert f"history={FIRST.split()[0]}" in page.page.url
    finally:
        page.context.close()


def test_screenshot_of_a_conversation(chat: Page) -> None:
    """A picture of a real thread, answered and unanswered (copy it to docs/ for the README)."""
    chat.ask(FIRST)
    chat.ask(FOLLOW_UP)
    chat.ask(UNANSWERABLE)
    chat.page.evaluate("window.scrollTo(0, 0)")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    chat.page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("path", "operation"),
    [("/docs", ".opblock-summary-path[data-path='/api/search']"), ("/redoc", 'text="/api/search"')],
)
def test_the_api_docs_render_offline_within_the_csp(browser: Any, server: Any, path: str, operation: str) -> None:
    page = Page(browser, server.url)
    blocked: list[str] = []
    page.page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    outside: list[str] = []
    page.page.on(
        "request", lambda r: outside.append(r.url) if not r.url.startswith((server.url, "blob:", "data:")) else None
    )
    try:
        page.page.goto(path)
        page.page.locator(operation).first.wait_for(timeout=30_000)
        assert page.page.locator(operation).count() >= 1
    finally:
        page.context.close()
    # ReDoc's sidebar badge, an image on Redocly's CDN, is left out of the bundle the server sends.
    assert blocked == [], "the CSP blocked something"
    assert outside == [], "the docs load nothing from elsewhere"
    assert page.errors == [], "the console shows no error"


def test_the_chat_page_with_a_thread_has_no_serious_accessibility_violation(chat: Page, axe_source: str) -> None:
    chat.ask(ANSWERED)
    chat.ask(UNANSWERABLE)
    chat.ask("🚀")  # a notice
    chat.page.locator("#thread details.more summary").first.click()  # the further quotes, open
    assert serious_violations(chat.page, axe_source) == []


def test_a_source_page_has_no_serious_accessibility_violation(chat: Page, axe_source: str) -> None:
    turn = chat.ask(ANSWERED)
    turn.locator(".answer a.source-link").click()
    chat.page.locator("mark#q").wait_for()
    assert serious_violations(chat.page, axe_source) == []


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".opblock-summary-path"), ("/", "#ask-form")])
def test_the_docs_and_the_empty_page_have_no_serious_accessibility_violation(
    browser: Any, server: Any, axe_source: str, path: str, ready: str
) -> None:
    page = Page(browser, server.url)
    try:
        page.page.goto(path)
        page.page.locator(ready).first.wait_for(timeout=30_000)
        assert serious_violations(page.page, axe_source) == []
    finally:
        page.context.close()


def test_a_question_the_engine_will_not_answer_says_why_on_the_page(chat: Page) -> None:
    from briefqa.answers.notices import NO_THREAD, NOT_ENGLISH

    turn = chat.ask("Pourquoi le Japon accueille-t-il des charges utiles américaines ?")
    assert turn.locator(".no-answer .notice").inner_text() == NOT_ENGLISH
    assert NOT_ENGLISH in chat.page.locator("#announce").inner_text()
    # "And Japan?" opening a new conversation has no question to follow.
    fresh = Page(chat.context.browser, chat.base)
    try:
        fresh.page.goto("/")
        alone = fresh.ask("And Japan?")
        assert alone.locator(".no-answer .notice").inner_text() == NO_THREAD
    finally:
        fresh.context.close()


def test_copy_as_markdown_puts_the_whole_thread_with_full_links_on_the_clipboard(chat: Page) -> None:
    chat.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=chat.base)
    assert chat.page.locator("#copy-markdown").is_hidden(), "nothing to copy before a question"
    first = chat.ask(ANSWERED)
    second = chat.ask(UNANSWERABLE)
    button = chat.page.locator("#copy-markdown")
    button.click()
    chat.page.wait_for_function("() => document.getElementById('copy-markdown').textContent === 'Copied'")
    copied = chat.page.evaluate("navigator.clipboard.readText()")
    assert f"## {ANSWERED}" in copied and f"## {UNANSWERABLE}" in copied
    for turn in (first, second):
        for quote, link in zip(
            turn.locator("blockquote").all_inner_texts(),
            turn.locator("a.source-link, a.closest-link, a.also-link").all(),
            strict=True,
        ):
            assert f"> {quote}" in copied
            assert f"]({chat.base}{link.get_attribute('href')})" in copied
    assert "The conversation is on the clipboard" in chat.page.locator("#markdown-status").inner_text()


def test_without_the_clipboard_the_markdown_shows_in_a_box_to_copy(chat: Page) -> None:
    chat.page.evaluate(
        "Object.defineProperty(navigator, 'clipboard', "
        "{ value: { writeText: () => Promise.reject(new Error('denied')) } })"
    )
    chat.ask(ANSWERED)
    chat.page.locator("#copy-markdown").click()
    box = chat.page.locator("#markdown-fallback textarea")
    box.wait_for()
    assert box.input_value().startswith("# Conversation with briefqa") and f"## {ANSWERED}" in box.input_value()


def test_back_to_the_conversation_returns_to_the_same_thread(chat: Page) -> None:
    chat.ask(FIRST)
    chat.ask(FOLLOW_UP)
    drawn = chat.page.locator("#thread article.turn").all_inner_texts()
    chat.page.locator("#thread a.source-link, #thread a.also-link").first.click()
    chat.page.locator("mark#q").wait_for()
    # Then through the sources list to the source again: the way back still leads to the thread.
    chat.page.locator("header.site a", has_text="Sources").click()
    chat.page.locator("ul.sources a").first.click()
    back = chat.page.locator("a#back-to-thread")
    back.click()
    chat.page.locator("#thread article.turn").nth(1).wait_for()
    assert chat.page.locator("#thread article.turn").all_inner_texts() == drawn


def test_without_javascript_back_to_the_conversation_and_the_markdown_link_work(browser: Any, server: Any) -> None:
    page = Page(browser, server.url, java_script_enabled=False, accept_downloads=True)
    try:
        page.page.goto("/")
        page.ask(FIRST)
        page.ask(UNANSWERABLE)
        drawn = page.page.locator("#thread article.turn").all_inner_texts()
        assert page.page.locator("#copy-markdown").is_hidden(), "the button needs the script; the link does not"
        with page.page.expect_download() as download:
            page.page.locator("a#markdown-link").click()
        markdown = Path(download.value.path()).read_text(encoding="utf-8")
        assert f"## {FIRST}" in markdown and f"## {UNANSWERABLE}" in markdown
        assert f"]({server.url}/sources/" in markdown
        page.page.locator("#thread a.source-link").first.click()
        page.page.locator("mark#q").wait_for()
        page.page.locator("a#back-to-thread").click()
        page.page.locator("#thread article.turn").nth(1).wait_for()
        assert page.page.locator("#thread article.turn").all_inner_texts() == drawn
        assert page.asks == []
    finally:
        page.context.close()


# --- Issue 26: the empty page, a question the page cannot ask, citations with their credit --------


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
def test_a_blank_question_reads_the_same_with_and_without_javascript(browser: Any, server: Any, script: bool) -> None:
    from briefqa.api.question_words import BLANK

    page = Page(browser, server.url, java_script_enabled=script)
    try:
        page.page.goto("/")
        page.ask(FIRST)
        box = page.page.locator('#ask-form input[name="question"]')
        box.fill(" \u200b ")
        box.press("Enter")
        error = page.page.locator("#error")
        error.wait_for(state="visible")
        assert error.inner_text() == BLANK
        # The thread before it stays on the page, and nothing of the validator's shows.
        assert page.page.locator("#thread article.turn").count() == 1
        assert "constrained-str" not in page.page.content()
        assert page.asks == ([{"question": FIRST, "history": [], "k": 3}] if script else [])
        # Without the script the page comes back as the 422 it is, which Chromium logs as a failed load.
        assert [e for e in page.errors if script or "status of 422" not in e] == []
    finally:
        page.context.close()


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
def test_the_empty_page_offers_the_sources_headings_and_one_asks(browser: Any, server: Any, script: bool) -> None:
    page = Page(browser, server.url, java_script_enabled=script)
    try:
        page.page.goto("/")
        holdings = page.page.locator(".intro .holdings")
        assert holdings.is_visible()
        assert "1 source, " in holdings.inner_text() and "1 sources" not in holdings.inner_text()
        starts = holdings.locator("a.start")
        assert starts.first.inner_text() == "Is the U.S.-Japan Space Alliance Entering a New Era?"
        heading = starts.nth(2).inner_text()
        starts.nth(2).click()
        turn = page.page.locator("#thread article.turn").first
        turn.wait_for()
        assert turn.locator("p.asked").inner_text().endswith(heading)
        assert page.page.locator(".intro .holdings").is_hidden()
        assert page.errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
def test_new_conversation_starts_an_empty_thread(browser: Any, server: Any, script: bool) -> None:
    from briefqa.answers.notices import NO_THREAD

    page = Page(browser, server.url, java_script_enabled=script)
    try:
        page.page.goto("/")
        assert page.page.locator("#new-conversation").is_hidden(), "nothing to leave yet"
        page.ask(FIRST)
        page.page.locator("#new-conversation").click()
        page.page.locator(".intro .holdings").wait_for(state="visible")
        assert page.page.locator("#thread article.turn").count() == 0
        # The new conversation holds nothing earlier: a follow-up has nothing to follow.
        alone = page.ask("And Japan?")
        assert alone.locator(".no-answer .notice").inner_text() == NO_THREAD
        assert page.errors == []
    finally:
        page.context.close()


@pytest.fixture(scope="module")
def authored_server(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[Any]:
    from ..conftest import RunningServer, built_app, free_port

    app = built_app(tmp_path_factory.mktemp("authored"), {"chips.md": AUTHORED}, embedder)
    with RunningServer(app, free_port()) as running:
        yield running


def test_copy_quote_with_citation_names_the_authors_and_the_date(browser: Any, authored_server: Any) -> None:
    page = Page(browser, authored_server.url)
    try:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=authored_server.url)
        page.page.goto("/")
        turn = page.ask("Where will the new fabrication plants open?")
        quote = turn.locator(".answer blockquote.quote").inner_text()
        href = turn.locator(".answer a.source-link").get_attribute("href")
        turn.locator("button.copy").click()
        page.page.wait_for_function("() => document.querySelector('button.copy').textContent === 'Copied'")
        copied = page.page.evaluate("navigator.clipboard.readText()")
        assert copied == f"“{quote}” — {CITED}, {authored_server.url}{href}"
        assert page.errors == []
    finally:
        page.context.close()


def test_without_javascript_the_markdown_cites_the_authors_and_the_date(browser: Any, authored_server: Any) -> None:
    page = Page(browser, authored_server.url, java_script_enabled=False, accept_downloads=True)
    try:
        page.page.goto("/")
        turn = page.ask("Where will the new fabrication plants open?")
        href = turn.locator(".answer a.source-link").get_attribute("href")
        with page.page.expect_download() as download:
            page.page.locator("a#markdown-link").click()
        markdown = Path(download.value.path()).read_text(encoding="utf-8")
        link = f"{authored_server.url}{href}"
        assert f"— Priya Raman and Li Wei, [“Chips for the alliance”]({link}), 2 June 2025" in markdown
    finally:
        page.context.close()
