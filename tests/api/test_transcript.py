"""A conversation as Markdown: the API's twin of the page's "Copy as Markdown" and its no-script link."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

import lxml.html
import pytest
from fastapi.testclient import TestClient

from briefqa.api.transcript import escape

pytestmark = pytest.mark.slow

SHARE = "What share of the world's active satellites does the United States operate?"
THREAD = [SHARE, "And Japan?", "Who won the 2024 World Series?"]
LINK = re.compile(r"^— \[(?P<title>[^\]]+)\]\((?P<url>[^)]+)\)$", re.M)


def quotes_and_links(markdown: str) -> list[tuple[str, str]]:
    """Each quote (its "> " lines) with the link under it."""
    pairs = re.findall(r"^> (.+)\n\n— \[[^\]]+\]\(([^)]+)\)$", markdown, re.M)
    return [(q, u) for q, u in pairs]


def check(markdown: str, client: TestClient, questions: list[str], k: int) -> None:
    """Every question as a heading, with what /api/ask answers it, each quote linked in full."""
    assert [h for h in re.findall(r"^## (.+)$", markdown, re.M)] == questions
    sections = re.split(r"^## .+$", markdown, flags=re.M)[1:]
    text = client.get("/api/sources/us-japan-space-alliance").json()["text"]
    for i, (question, section) in enumerate(zip(questions, sections, strict=True)):
        api = client.post("/api/ask", json={"question": question, "history": questions[:i], "k": k}).json()
        pairs = quotes_and_links(section)
        assert [q for q, _ in pairs] == [r["quote"] for r in api["results"]]
        assert [u for _, u in pairs] == [urljoin("http://testserver/", r["source"]["url"]) for r in api["results"]]
        for _, url in pairs:
            start, end = map(int, re.search(r"hl=(\d+)-(\d+)", url).groups())  # type: ignore[union-attr]
            assert text[start:end] in (q for q, _ in pairs)
        assert ("do not answer" in section) is (not api["answered"])
        for link in LINK.finditer(section):
            assert link["title"] == "Is the U.S.-Japan Space Alliance Entering a New Era?"


def test_the_api_gives_a_thread_as_markdown(client: TestClient) -> None:
    for reply in (
        client.post("/api/transcript", json={"questions": THREAD, "k": 2}),
        client.get("/api/transcript", params={"q": THREAD, "k": 2}),
    ):
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "text/markdown; charset=utf-8"
        assert 'filename="briefqa-conversation.md"' in reply.headers["content-disposition"]
        check(reply.text, client, THREAD, 2)


def test_the_no_script_page_links_its_thread_as_markdown(client: TestClient) -> None:
    fields: dict[str, list[str]] = {"history": [], "shown": []}
    for question in THREAD:
        doc = lxml.html.fromstring(client.get("/", params={"question": question, **fields}).text)
        fields = {"history": [], "shown": []}
        for field in doc.cssselect('#ask-form input[type="hidden"]'):
            fields[field.get("name")].append(field.get("value"))
    link = doc.cssselect("#take-away a#markdown-link")[0].get("href")
    assert doc.cssselect("#take-away")[0].get("hidden") is None
    reply = client.get(link)
    assert reply.status_code == 200
    check(reply.text, client, THREAD, 3)  # what the page showed: its three quotes a turn
    # The page's own turns, in the same order, with the same quotes.
    assert [q for q, _ in quotes_and_links(reply.text)] == [b.text_content() for b in doc.cssselect("blockquote")]


def test_a_thread_without_questions_or_with_too_many_is_refused(client: TestClient) -> None:
    assert client.get("/api/transcript").status_code == 422
    assert client.post("/api/transcript", json={"questions": []}).status_code == 422
    assert client.post("/api/transcript", json={"questions": ["Why?"] * 22}).status_code == 422
    assert client.post("/api/transcript", json={"questions": ["Why?"], "k": "3"}).status_code == 422


def test_an_unanswered_turn_says_why_in_the_markdown(client: TestClient) -> None:
    from briefqa.answers.notices import NOTHING_SEARCHABLE

    markdown = client.post("/api/transcript", json={"questions": ["🚀"]}).text
    assert NOTHING_SEARCHABLE in markdown and "*The sources do not answer this.*" in markdown


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain “U.S.” text, 2025.", "plain “U.S.” text, 2025."),
        (
            "- not a list *nor* _emphasis_ [nor](a link) <b>",
            r"\- not a list \*nor\* \_emphasis\_ \[nor\](a link) \<b\>",
        ),
        ("# not a heading", r"\# not a heading"),
        ("1984. A year, not an item", r"1984\. A year, not an item"),
        ("a \\ backslash & `code`", r"a \\ backslash \& \`code\`"),
    ],
)
def test_markdown_shows_the_words_as_they_are(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


def test_the_markdown_reads_back_as_the_quotes(client: Any) -> None:
    """Rendered, each blockquote is the quote word for word (markup in a source stays text)."""
    markdown = client.post("/api/transcript", json={"questions": THREAD[:1], "k": 3}).text
    api = client.post("/api/ask", json={"question": THREAD[0], "k": 3}).json()
    unescaped = [re.sub(r"\\(.)", r"\1", q) for q, _ in quotes_and_links(markdown)]
    assert unescaped == [r["quote"] for r in api["results"]]


def test_a_method_the_transcript_does_not_take_names_both_it_does(client: TestClient) -> None:
    response = client.put("/api/transcript", json={"questions": ["Why?"]})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert client.delete("/api/sources").headers["allow"] == "GET"
