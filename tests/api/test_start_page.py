"""The chat page before and around a question: what the sources hold, a question it cannot ask,
and how a quote is cited where its source names its authors and date."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from fastapi.testclient import TestClient

from briefqa.api import question_words

pytestmark = pytest.mark.slow

HTML = {"Accept": "text/html"}

AUTHORED = """---
title: Chips for the alliance
date: 2025-06-02
authors: [Priya Raman, Li Wei]
---
# Chips for the alliance

## Fabrication plants

Three new fabrication plants will open in Kumamoto by 2027. Each plant employs about two thousand engineers.

## Export controls

Export controls on lithography tools tightened in 2024. Allies now coordinate their licence reviews every quarter.
"""

# One passage, no metadata.
NOTE = """# Harbour dredging

The harbour was dredged to a depth of fourteen metres in 2023.
"""


@pytest.fixture(scope="module")
def small_client(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[TestClient]:
    from ..conftest import built_app

    files = {"chips.md": AUTHORED, "harbour.md": NOTE}
    yield TestClient(built_app(tmp_path_factory.mktemp("small"), files, embedder))


def page(response: Any, status: int = 200) -> lxml.html.HtmlElement:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    return lxml.html.fromstring(response.text)


def text(node: lxml.html.HtmlElement) -> str:
    return " ".join(str(node.text_content()).split())


# --- A question the page cannot ask -------------------------------------------------------------


@pytest.mark.parametrize("blank", ["   ", "\u200b\u00a0", "\t"])
def test_a_blank_question_without_script_says_what_the_script_says(client: TestClient, blank: str) -> None:
    doc = page(client.get("/", params={"question": blank}, headers=HTML), 422)
    error = doc.cssselect("#ask-form #error")[0]
    assert text(error) == question_words.BLANK == error.get("data-blank")
    assert error.get("hidden") is None
    assert "constrained-str" not in text(doc) and "Input should be None" not in text(doc)
    assert doc.cssselect("form#ask-form input[name=question]")  # the form is there to try again


def test_a_blank_follow_up_keeps_the_thread_above_it(client: TestClient) -> None:
    first = "What challenges remain for the alliance?"
    asked = page(client.get("/", params={"question": first}))
    shown = asked.cssselect("input[name=shown]")[0].get("value")
    doc = page(client.get("/", params={"question": " ", "history": first, "shown": shown}, headers=HTML), 422)
    assert [text(p) for p in doc.cssselect("article.turn p.asked")] == [f"You asked: {first}"]
    assert [i.get("value") for i in doc.cssselect("input[name=history]")] == [first]
    assert text(doc.cssselect("#error")[0]) == question_words.BLANK


def test_an_overlong_question_on_the_page_is_put_back_with_the_limit(client: TestClient) -> None:
    long = "satellites " * 100
    doc = page(client.get("/", params={"question": long}, headers=HTML), 422)
    assert text(doc.cssselect("#error")[0]) == question_words.TOO_LONG
    assert doc.cssselect("input[name=question]")[0].get("value") == long


def test_a_script_asking_the_page_gets_the_words_in_the_json_error_shape(client: TestClient) -> None:
    response = client.get("/", params={"question": "  "})
    assert response.status_code == 422
    assert response.json() == {"detail": question_words.BLANK}


def test_a_good_question_shows_no_error(client: TestClient) -> None:
    doc = page(client.get("/", params={"question": "What challenges remain for the alliance?"}))
    assert doc.cssselect("#error")[0].get("hidden") is not None


# --- The empty page -----------------------------------------------------------------------------


def test_the_empty_page_says_what_the_sources_hold(small_client: TestClient) -> None:
    doc = page(small_client.get("/"))
    holdings = doc.cssselect(".intro .holdings")[0]
    passages = sum(s["chunks"] for s in small_client.get("/api/sources").json()["sources"])
    assert f"2 sources, {passages} passages." in text(holdings)
    starts = [(text(a), a.get("href")) for a in holdings.cssselect("a.start")]
    labels = [label for label, _ in starts]
    # Titles and section headings from the sources, each once; the heading repeating a title is not one more.
    assert labels == ["Chips for the alliance", "Fabrication plants", "Export controls", "Harbour dredging"]
    for label, href in starts:
        target = urlsplit(href)
        assert target.path == "/" and parse_qs(target.query) == {"question": [label]}


def test_a_starting_point_asks_about_its_heading(small_client: TestClient) -> None:
    doc = page(small_client.get("/"))
    href = next(a.get("href") for a in doc.cssselect("a.start") if text(a) == "Export controls")
    asked = page(small_client.get(href))
    assert [text(p) for p in asked.cssselect("article.turn p.asked")] == ["You asked: Export controls"]
    assert not asked.cssselect(".holdings"), "a page with a thread does not offer starting points"


def test_the_empty_page_of_the_brief_counts_one_source(client: TestClient) -> None:
    holds = text(page(client.get("/")).cssselect(".holdings .holds")[0])
    assert holds.startswith("1 source, ") and "1 sources" not in holds


def test_counts_agree_with_their_number_on_the_sources_page(small_client: TestClient) -> None:
    facts = {
        text(li.cssselect("a")[0]): text(li.cssselect(".facts")[0])
        for li in page(small_client.get("/sources")).cssselect("ul.sources > li")
    }
    assert facts["Harbour dredging"].endswith(" · 1 passage"), facts
    assert "passages" not in facts["Harbour dredging"]


def test_a_thread_offers_a_new_conversation(client: TestClient) -> None:
    doc = page(client.get("/", params={"question": "What challenges remain for the alliance?"}))
    new = doc.cssselect("#take-away a#new-conversation")[0]
    assert new.get("href") == "/" and text(new) == "New conversation"
    assert doc.cssselect("#take-away")[0].get("hidden") is None


# --- Citations with authors and date ------------------------------------------------------------

CITED = "Priya Raman and Li Wei, “Chips for the alliance”, 2 June 2025"
QUESTION = "Where will the new fabrication plants open?"


def test_a_quote_from_an_authored_source_is_cited_with_its_authors_and_date(small_client: TestClient) -> None:
    found = small_client.get("/api/search", params={"q": QUESTION}).json()
    top = found["results"][0]
    assert "Kumamoto" in top["quote"]
    assert top["source"]["authors"] == ["Priya Raman", "Li Wei"]
    assert top["source"]["date"] == "2025-06-02"
    assert top["source"]["citation"] == CITED
    doc = page(small_client.get("/", params={"question": QUESTION}))
    assert doc.cssselect(".answer button.copy")[0].get("data-citation") == CITED


def test_the_markdown_cites_authors_title_and_date(small_client: TestClient) -> None:
    found = small_client.get("/api/search", params={"q": QUESTION}).json()
    url = found["results"][0]["source"]["url"]
    markdown = small_client.get("/api/transcript", params={"q": QUESTION}).text
    assert f"— Priya Raman and Li Wei, [“Chips for the alliance”](http://testserver{url}), 2 June 2025" in markdown


def test_a_source_without_metadata_is_cited_by_its_title(small_client: TestClient) -> None:
    question = "How deep was the harbour dredged?"
    top = small_client.get("/api/search", params={"q": question}).json()["results"][0]
    assert top["source"]["title"] == "Harbour dredging"
    assert top["source"]["citation"] == "Harbour dredging"
    assert top["source"]["authors"] == [] and top["source"]["date"] is None
    markdown = small_client.get("/api/transcript", params={"q": question}).text
    assert f"— [Harbour dredging](http://testserver{top['source']['url']})\n" in markdown
