"""The HTML pages without a browser: hooks, the no-script thread, source highlighting, hostile sources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow

SOURCE = "us-japan-space-alliance"
TITLE = "Is the U.S.-Japan Space Alliance Entering a New Era?"
UNANSWERABLE = "Who won the 2024 World Series?"


def html_of(response: Any) -> lxml.html.HtmlElement:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    return lxml.html.fromstring(response.text)


def text(node: lxml.html.HtmlElement) -> str:
    return str(node.text_content())


def source_text(client: TestClient, source_id: str = SOURCE) -> str:
    return str(client.get(f"/api/sources/{source_id}").json()["text"])


def test_chat_page_has_the_contract_hooks(client: TestClient) -> None:
    doc = html_of(client.get("/"))
    form = doc.cssselect("form#ask-form")[0]
    assert form.cssselect('input[type="text"][name="question"]')
    assert form.get("method") == "get"
    assert doc.cssselect('meta[name="viewport"]')
    scripts = doc.cssselect("script")
    assert scripts and all(s.get("src", "").startswith("/static/") and not (s.text or "").strip() for s in scripts)
    assert doc.cssselect("[aria-live]")
    assert not doc.cssselect(".answer, .no-answer")


@pytest.mark.parametrize(
    ("name", "kind"), [("chat.js", "javascript"), ("source.js", "javascript"), ("style.css", "css")]
)
def test_static_files_ship_with_the_package(client: TestClient, name: str, kind: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert kind in response.headers["content-type"]


def test_the_form_works_without_script(client: TestClient) -> None:
    """The page GETs /?question=...: the server draws the same answer the JSON API gives."""
    question = "What challenges remain for the alliance?"
    doc = html_of(client.get("/", params={"question": question}))
    api = client.post("/api/ask", json={"question": question, "k": 3}).json()
    turns = doc.cssselect("article.turn")
    assert len(turns) == 1
    assert question in text(turns[0].cssselect(".asked")[0])
    if api["answered"]:
        top = api["results"][0]
        assert text(turns[0].cssselect(".answer blockquote.quote")[0]) == top["quote"]
        link = turns[0].cssselect(".answer a.source-link")[0]
        assert link.get("href") == top["source"]["url"]
        assert text(link) == top["source"]["title"]
        assert top["quote"] in text(turns[0].cssselect(".passage")[0])
    else:
        assert turns[0].cssselect(".no-answer")
    # The next question carries this one as history.
    assert [i.get("value") for i in doc.cssselect('#ask-form input[type="hidden"][name="history"]')] == [question]


def test_the_no_script_thread_resolves_follow_ups(client: TestClient) -> None:
    first = "Which missile defense programs is Japan part of?"
    follow_up = "What else does Japan plan to deploy?"
    doc = html_of(client.get("/", params={"question": follow_up, "history": [first]}))
    turns = doc.cssselect("article.turn")
    assert [text(t.cssselect(".asked")[0]).replace("You asked: ", "") for t in turns] == [first, follow_up]
    api = client.post("/api/ask", json={"question": follow_up, "history": [first], "k": 3}).json()
    shown = turns[1].cssselect("blockquote")
    assert [text(q) for q in shown] == [r["quote"] for r in api["results"]]
    assert turns[1].get("id") == "latest"
    assert [i.get("value") for i in doc.cssselect('input[name="history"]')] == [first, follow_up]


def test_the_no_script_thread_keeps_at_most_twenty_questions(client: TestClient) -> None:
    history = [f"What about satellite number {i}?" for i in range(20)]
    doc = html_of(client.get("/", params={"question": "And launch vehicles?", "history": history}))
    carried = [i.get("value") for i in doc.cssselect('input[name="history"]')]
    assert carried == [*history[1:], "And launch vehicles?"]


def form_fields(doc: lxml.html.HtmlElement) -> dict[str, list[str]]:
    """What the no-script form sends with the next question."""
    fields: dict[str, list[str]] = {"history": [], "shown": []}
    for field in doc.cssselect('#ask-form input[type="hidden"]'):
        fields[field.get("name")].append(field.get("value"))
    return fields


@pytest.fixture
def counted(live: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The questions the served searcher is asked, in order."""
    searcher = live.searcher
    asked: list[str] = []
    real = searcher.search

    def search(question: str, history: Any = (), k: int = 5) -> Any:
        asked.append(question)
        return real(question, history, k)

    monkeypatch.setattr(searcher, "search", search)
    return asked


def test_the_no_script_thread_searches_only_the_new_question(client: TestClient, counted: list[str]) -> None:
    questions = [
        "Which missile defense programs is Japan part of?",
        "What else does Japan plan to deploy?",
        UNANSWERABLE,
        "What challenges remain for the alliance?",
    ] * 5  # twenty turns
    fields: dict[str, list[str]] = {"history": [], "shown": []}
    drawn: list[list[str]] = []
    for question in questions:
        doc = html_of(client.get("/", params={"question": question, **fields}))
        drawn.append([text(b) for b in doc.cssselect("article.turn")[-1].cssselect("blockquote")])
        fields = form_fields(doc)
    assert counted == questions, "one search per request: earlier turns are drawn from the form"
    assert len(fields["history"]) == len(fields["shown"]) == 20
    # The last page drew every earlier turn as it was drawn when it was asked.
    counted.clear()
    doc = html_of(client.get("/", params={"question": "And Japan?", **fields}))
    assert counted == ["And Japan?"]
    turns = doc.cssselect("article.turn")
    assert [[text(b) for b in t.cssselect("blockquote")] for t in turns[:-1]] == drawn


def test_a_thread_without_what_it_showed_is_searched_again(client: TestClient, counted: list[str]) -> None:
    first = "Which missile defense programs is Japan part of?"
    html_of(client.get("/", params={"question": "And Japan?", "history": [first]}))
    assert counted == [first, "And Japan?"]


@pytest.mark.parametrize(
    "shown",
    [
        "a|us-japan-space-alliance@0-5",
        "a|us-japan-space-alliance@10-5",
        "a|no-such-source@0-100",
        "x",
        "a|%",
        "a|us-japan-space-alliance@0-99999999999999",
    ],
)
def test_a_reference_that_does_not_check_out_is_searched_again(
    client: TestClient, counted: list[str], shown: str
) -> None:
    first = "What challenges remain for the alliance?"
    doc = html_of(client.get("/", params={"question": "And Japan?", "history": [first], "shown": [shown]}))
    assert counted == [first, "And Japan?"]
    body = source_text(client)
    for quote in doc.cssselect("article.turn blockquote"):
        assert text(quote) in body


def test_the_no_script_thread_refuses_more_than_twenty_earlier_questions(client: TestClient) -> None:
    response = client.get("/", params={"question": "And then?", "history": ["earlier"] * 21})
    assert response.status_code == 422
    assert "history" in str(response.json()["detail"])


def test_an_unanswerable_question_says_so(client: TestClient) -> None:
    api = client.post("/api/ask", json={"question": UNANSWERABLE, "k": 3}).json()
    assert api["answered"] is False
    doc = html_of(client.get("/", params={"question": UNANSWERABLE}))
    verdict = doc.cssselect(".no-answer")
    assert verdict and "do not answer" in text(verdict[0])
    assert not doc.cssselect(".answer")
    if api["results"]:
        assert "closest, not an answer" in text(verdict[0]).lower()
        assert [text(q) for q in verdict[0].cssselect("blockquote")] == [r["quote"] for r in api["results"]]


def test_a_bad_question_on_the_page_is_422_with_a_reason(client: TestClient) -> None:
    response = client.get("/", params={"question": "x" * 1001}, headers={"Accept": "text/html"})
    assert response.status_code == 422
    assert "question" in text(lxml.html.fromstring(response.text).cssselect("main")[0])


def test_source_page_shows_the_text_with_its_structure(client: TestClient) -> None:
    doc = html_of(client.get(f"/sources/{SOURCE}"))
    assert text(doc.cssselect("h1")[0]) == TITLE
    headings = [text(h) for h in doc.cssselect("article.source h2")]
    assert "From Quiet Coordination to Frontline Strategy" in headings
    paragraphs = doc.cssselect("article.source p.paragraph")
    assert len(paragraphs) > 5
    anchors = [n.get("id") for n in doc.cssselect("article.source h2, article.source p.paragraph")]
    assert all(anchors) and len(set(anchors)) == len(anchors)
    assert not doc.cssselect("mark")


def test_a_search_link_opens_the_source_at_the_quote(client: TestClient) -> None:
    result = client.get("/api/search", params={"q": "Which missile defense programs is Japan part of?"}).json()[
        "results"
    ][0]
    url = result["source"]["url"]
    doc = html_of(client.get(url.split("#")[0]))
    marks = doc.cssselect("mark")
    assert len(marks) == 1
    assert marks[0].get("id") == "q"
    assert text(marks[0]) == result["quote"]


def test_a_highlight_across_blocks_marks_each_part_once(client: TestClient) -> None:
    full = source_text(client)
    heading = full.index("From Quiet Coordination to Frontline Strategy")
    start, end = heading - 40, heading + 20  # the end of one paragraph into the next heading
    doc = html_of(client.get(f"/sources/{SOURCE}", params={"hl": f"{start}-{end}"}))
    marks = doc.cssselect("mark")
    assert len(marks) == 2
    assert [m.get("id") for m in marks] == ["q", None]
    joined = "".join(text(m) for m in marks)
    assert joined == full[start:end].replace("\n", "")


@pytest.mark.parametrize(
    "hl", ["abc", "9-3", "5-5", "-1-5", "1-2-3", "", " 1-5", "1.0-5", "0-999999", "１-２", "1-" + "9" * 5000, "0x1-0x5"]
)
def test_a_bad_highlight_is_422_with_a_reason(client: TestClient, hl: str) -> None:
    response = client.get(f"/sources/{SOURCE}", params={"hl": hl})
    assert response.status_code == 422
    assert "hl" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/sources/nope",
        "/sources/..%2F..%2Fetc%2Fpasswd",
        "/sources/%2e%2e",
        "/sources/..%5C..%5Cwindows",
        "/sources/us-japan-space-alliance.txt",
        "/sources/%00",
    ],
)
def test_unknown_or_path_like_sources_are_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_a_browser_gets_errors_as_a_page(client: TestClient) -> None:
    response = client.get("/sources/nope", headers={"Accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "no source with id" in text(lxml.html.fromstring(response.text).cssselect("main")[0])


def test_sources_page_lists_every_source(client: TestClient) -> None:
    doc = html_of(client.get("/sources"))
    links = doc.cssselect("ul.sources a")
    assert [(a.get("href"), text(a)) for a in links] == [(f"/sources/{SOURCE}", TITLE)]


# --- A hostile source: markup in its title, text and metadata shows as text, never runs ---------

HOSTILE = """---
title: "<script>alert('title')</script> Orbital <b>debris</b>"
origin: "javascript:alert('origin')"
date: "<img src=x onerror=alert('date')>"
authors: ["</p><script>alert('author')</script>", "Ann \\"Quotes\\" O'Neil"]
---
# Debris <script>alert('heading')</script>

Orbital debris threatens satellites <script>alert('text')</script> in low orbit. Cleanup missions \
cost more than launches "><svg onload=alert('attr')> today. A closing </textarea></title> tag is harmless here.

{{ 7 * 7 }} and {% raw %} are plain text too.
"""


PLAIN = """---
title: Launch cadence
origin: https://example.org/briefs/launch-cadence
date: 2025-04-11
authors: [Ann Author, Bo Writer]
---
## Cadence

Launch cadence doubled in two years. Reusable boosters made it possible.
"""


# Front matter naming the title its first heading repeats, and a list of sources as a brief ends.
FRONTED = """---
title: Space traffic rules
---
# Space traffic rules

Regulators want shared rules for space traffic. Operators disagree on who pays for them.

## Sources

- Smith, J. Rules of the road in orbit. 2024.
- Doe, A. Who pays for traffic control? 2025.
"""


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[TestClient]:
    from ..conftest import built_app

    files = {"debris.md": HOSTILE, "plain.md": PLAIN, "fronted.md": FRONTED}
    yield TestClient(built_app(tmp_path_factory.mktemp("hostile"), files, embedder))


def no_markup_from_the_source(page: str) -> None:
    doc = lxml.html.fromstring(page)
    assert all(s.get("src", "").startswith("/static/") for s in doc.cssselect("script"))
    assert not doc.cssselect("img, svg, b, textarea, [onerror], [onload]")
    assert not [a for a in doc.cssselect("a") if a.get("href", "").lower().startswith("javascript")]
    assert "<script>alert" not in page


def test_a_hostile_source_page_shows_markup_as_text(hostile_client: TestClient) -> None:
    full = hostile_client.get("/api/sources/debris").json()["text"]
    start = full.index("Orbital debris")
    end = full.index("today.") + len("today.")
    response = hostile_client.get("/sources/debris", params={"hl": f"{start}-{end}"})
    assert response.status_code == 200
    no_markup_from_the_source(response.text)
    doc = lxml.html.fromstring(response.text)
    assert text(doc.cssselect("h1")[0]) == "<script>alert('title')</script> Orbital <b>debris</b>"
    assert text(doc.cssselect("mark#q")[0]) == full[start:end]
    assert "<script>alert('author')</script>" in text(doc.cssselect(".byline")[0])
    assert "{{ 7 * 7 }}" in response.text


def test_hostile_answers_and_lists_show_markup_as_text(hostile_client: TestClient) -> None:
    question = "What threatens satellites in low orbit?"
    for page in (hostile_client.get("/", params={"question": question}), hostile_client.get("/sources")):
        assert page.status_code == 200
        no_markup_from_the_source(page.text)
    chat = lxml.html.fromstring(hostile_client.get("/", params={"question": question}).text)
    quotes = [text(q) for q in chat.cssselect("blockquote")]
    assert any("<script>alert('text')</script>" in q for q in quotes)


def test_a_hostile_source_is_plain_json(hostile_client: TestClient) -> None:
    response = hostile_client.get("/api/sources/debris")
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.json()["origin"] == "javascript:alert('origin')"  # stored as given, never linked


def test_a_source_page_shows_its_origin_date_and_authors(hostile_client: TestClient) -> None:
    doc = html_of(hostile_client.get("/sources/plain"))
    assert text(doc.cssselect("h1")[0]) == "Launch cadence"
    byline = doc.cssselect(".byline")[0]
    assert byline.cssselect("a.origin")[0].get("href") == "https://example.org/briefs/launch-cadence"
    assert "2025-04-11" in text(byline)
    assert "Ann Author, Bo Writer" in text(byline)
    # The markdown "##" is markup: the heading reads as its words.
    assert [text(h) for h in doc.cssselect("article.source h2")] == ["Cadence"]


def test_a_title_from_front_matter_shows_once_and_a_list_shows_as_a_list(hostile_client: TestClient) -> None:
    doc = html_of(hostile_client.get("/sources/fronted"))
    article = doc.cssselect("article.source")[0]
    assert text(article).count("Space traffic rules") == 1
    assert [text(h) for h in article.cssselect("h2")] == ["Sources"]
    items = article.cssselect("ul.items > li.bullet")
    assert [text(li) for li in items] == [
        "Smith, J. Rules of the road in orbit. 2024.",
        "Doe, A. Who pays for traffic control? 2025.",
    ]
    assert "- " not in text(article), "a bullet is drawn by the list, not written out"


def test_the_brief_lists_its_sources_without_a_written_dash(client: TestClient) -> None:
    doc = html_of(client.get(f"/sources/{SOURCE}"))
    items = doc.cssselect("article.source ul.items > li")
    assert items and all(not text(li).startswith(("-", " ")) for li in items)
    assert text(items[0]).startswith("Bingen, Kari A.")
    # Highlighting a list item still marks the words quoted, the bullet left out unless quoted too.
    full = source_text(client)
    start = full.index("Bingen, Kari A.")
    marked = html_of(client.get(f"/sources/{SOURCE}", params={"hl": f"{start}-{start + 15}"}))
    assert text(marked.cssselect("mark#q")[0]) == "Bingen, Kari A."


def test_a_source_page_links_back_to_the_conversation_it_was_opened_from(client: TestClient) -> None:
    thread = "/?question=And+Japan%3F&history=What+share%3F&shown=a%7Cus-japan-space-alliance%403287-3420"
    page = client.get(f"/sources/{SOURCE}", params={"hl": "0-10"}, headers={"Referer": f"http://testserver{thread}"})
    assert page.headers["referrer-policy"] == "same-origin"  # the browser names the chat page to this site only
    back = html_of(page).cssselect("a#back-to-thread")[0]
    assert back.get("href") == f"{thread}#latest" and back.get("hidden") is None
    # No thread to go back to: from another site, from another page, or from an empty chat.
    for referer in ("https://elsewhere.example/?question=x", "http://testserver/sources", "http://testserver/", None):
        headers = {"Referer": referer} if referer else {}
        back = html_of(client.get(f"/sources/{SOURCE}", headers=headers)).cssselect("a#back-to-thread")[0]
        assert back.get("href") == "/" and back.get("hidden") is not None, referer


def test_the_no_script_page_says_why_nothing_is_answered(client: TestClient) -> None:
    from briefqa.answers.notices import NOT_ENGLISH, NOTHING_SEARCHABLE

    for question, notice in (
        ("🚀🛰️", NOTHING_SEARCHABLE),
        ("Warum beherbergt Japan amerikanische Nutzlasten?", NOT_ENGLISH),
    ):
        doc = html_of(client.get("/", params={"question": question}))
        assert text(doc.cssselect("article.turn .no-answer .notice")[0]) == notice
    # An earlier unanswered turn, drawn again from what it showed, still says why.
    doc = html_of(client.get("/", params={"question": "And Japan?", "history": ["🚀"], "shown": ["n"]}))
    turns = doc.cssselect("article.turn")
    assert text(turns[0].cssselect(".notice")[0]) == NOTHING_SEARCHABLE


def test_the_sources_page_counts_one_passage_in_the_singular(hostile_client: TestClient) -> None:
    import re

    sources = hostile_client.get("/api/sources").json()["sources"]
    assert any(s["chunks"] == 1 for s in sources), "the short sources here are one passage each"
    facts = [text(f) for f in html_of(hostile_client.get("/sources")).cssselect(".facts")]
    assert len(facts) == len(sources)
    assert not [line for line in facts if re.search(r"(?<![\d,])1 (passages|characters)", line)], facts
    assert [line for line in facts if re.search(r"(?<![\d,])1 passage(?!s)", line)], facts
