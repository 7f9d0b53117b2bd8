"""What a user trusts a link for: a citation that stays true after its source is edited, and a
thread in a URL that shows as briefqa's answer only what briefqa answered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from briefqa.answers.live import LiveIndex
from briefqa.api.app import create_app
from briefqa.index.build.pipeline import build_index
from briefqa.settings import Settings

from .test_pages import counted, form_fields, html_of, source_text, text  # noqa: F401  (counted: a fixture)

pytestmark = pytest.mark.slow

# A source of our own (not the brief), with a sentence to cite and a paragraph to insert before it.
ORCHARDS = """---
title: Orchards of the valley
---
# Harvest

The valley's orchards grow apples, pears and plums on terraces above the river.

Frost in late April destroyed most of the plum blossom in three of the last ten years.

# Markets

Most of the harvest is sold to the cooperative in town, which presses the windfalls into cider.
"""
CITED = "Frost in late April destroyed most of the plum blossom in three of the last ten years."
QUESTION = "What destroyed the plum blossom?"
INSERTED = (
    "Frost in late April is feared by every grower in the valley. "
    "The cooperative keeps a record of each spring's frosts since 1950.\n\n"
)


@pytest.fixture
def orchards(tmp_path: Path, embedder: Any) -> Iterator[tuple[TestClient, LiveIndex, Path]]:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "orchards.md").write_text(ORCHARDS)
    build_index(corpus, index, embedder)
    live = LiveIndex(corpus, index, embedder)
    live.refresh()
    with TestClient(create_app(Settings(corpus=corpus, index=index), live)) as client:
        yield client, live, corpus


def _marked(client: TestClient, url: str) -> tuple[list[str], str]:
    """The marked text of the page ``url`` opens, and its notes."""
    doc = html_of(client.get(url))
    notes = " ".join(text(n) for n in doc.cssselect("p.note"))
    return [text(m) for m in doc.cssselect("mark")], notes


def _edit(live: LiveIndex, corpus: Path, new_text: str) -> None:
    (corpus / "orchards.md").write_text(new_text)
    live.rebuild()


def test_a_citation_link_names_the_text_its_offsets_index(orchards: tuple[TestClient, LiveIndex, Path]) -> None:
    client, _, _ = orchards
    top = client.get("/api/search", params={"q": QUESTION}).json()["results"][0]
    url = top["source"]["url"]
    assert top["quote"] == CITED
    query = parse_qs(urlsplit(url).query)
    assert query["hl"] == [f"{top['start']}-{top['end']}"]
    assert len(query["rev"][0]) == 16
    assert url.endswith("#q")
    marked, notes = _marked(client, url)
    assert marked == [CITED] and "changed" not in notes


def test_an_old_link_marks_the_same_sentence_after_a_paragraph_is_inserted_before_it(
    orchards: tuple[TestClient, LiveIndex, Path],
) -> None:
    client, live, corpus = orchards
    url = client.get("/api/search", params={"q": QUESTION}).json()["results"][0]["source"]["url"]
    _edit(live, corpus, ORCHARDS.replace(CITED, INSERTED + CITED))
    marked, notes = _marked(client, url)
    assert marked == [CITED], "the same sentence, where it stands now, and never the inserted text"
    assert "This source has changed since the link was made" in notes
    # The new answer's link names the new text, and marks the sentence with no note.
    fresh = client.get("/api/search", params={"q": QUESTION}).json()["results"][0]["source"]["url"]
    assert fresh != url
    assert _marked(client, fresh) == ([CITED], "")


def test_an_old_link_marks_nothing_once_its_sentence_is_gone(orchards: tuple[TestClient, LiveIndex, Path]) -> None:
    client, live, corpus = orchards
    url = client.get("/api/search", params={"q": QUESTION}).json()["results"][0]["source"]["url"]
    # The sentence is reworded: its words stand nowhere as a sentence, though a part of them does.
    _edit(live, corpus, ORCHARDS.replace(CITED, "In " + CITED[0].lower() + CITED[1:]))
    marked, notes = _marked(client, url)
    assert marked == []
    assert "changed since the link was made" in notes and "no longer in it" in notes


def test_a_link_made_from_a_text_this_server_never_held_marks_nothing(
    orchards: tuple[TestClient, LiveIndex, Path],
) -> None:
    client, _, _ = orchards
    url = client.get("/api/search", params={"q": QUESTION}).json()["results"][0]["source"]["url"]
    other = url.replace(parse_qs(urlsplit(url).query)["rev"][0], "0123456789abcdef")
    marked, notes = _marked(client, other)
    assert marked == [] and "does not have the text the link was made from" in notes
    response = client.get(url.replace("rev=", "rev=zz"), headers={"accept": "application/json"})
    assert response.status_code == 422 and "rev" in response.json()["detail"]


# ---- threads carried in a URL -----------------------------------------------------------------

ASKED = "What challenges remain for the alliance?"


def _another_sentence(client: TestClient, shown: str) -> tuple[str, str]:
    """A reference in briefqa's shape to a whole sentence of the brief that ``shown`` does not show."""
    source, _, span = shown.split("~")[0].split("|")[1].partition("@")
    start = int(span.split("-")[0])
    body = source_text(client, source)
    # A whole sentence of the brief, about something else than ASKED.
    found = client.get("/api/search", params={"q": "Which satellites does the United States operate?"}).json()
    other = next(r for r in found["results"] if r["start"] != start)
    assert body[other["start"] : other["end"]] == other["quote"]
    return f"a|{source}@{other['start']}-{other['end']}", str(other["quote"])


def test_a_forged_thread_reference_is_searched_again(client: TestClient, counted: list[str]) -> None:  # noqa: F811
    first = html_of(client.get("/", params={"question": ASKED}))
    shown = form_fields(first)["shown"][0]
    forged, forged_quote = _another_sentence(client, shown)
    real = client.post("/api/ask", json={"question": ASKED, "k": 3}).json()["results"][0]["quote"]
    assert forged_quote != real
    for ref in (forged, forged + "~" + shown.rpartition("~")[2]):
        counted.clear()
        doc = html_of(client.get("/", params={"question": "And Japan?", "history": [ASKED], "shown": [ref]}))
        assert counted == [ASKED, "And Japan?"], "a reference briefqa did not issue is searched again"
        assert text(doc.cssselect("article.turn")[0].cssselect("blockquote")[0]) == real
        markdown = client.get("/api/transcript", params={"q": [ASKED], "shown": [ref]}).text
        assert forged_quote not in markdown.split("## ")[1].split("\n\n")[1]


def test_a_reference_signed_for_one_question_does_not_answer_another(client: TestClient, counted: list[str]) -> None:  # noqa: F811
    shown = form_fields(html_of(client.get("/", params={"question": ASKED})))["shown"][0]
    other = "Why does Japan host American payloads?"
    counted.clear()
    html_of(client.get("/", params={"question": "And Japan?", "history": [other], "shown": [shown]}))
    assert counted == [other, "And Japan?"]
    # Carried with its own question, it is drawn without a search.
    counted.clear()
    html_of(client.get("/", params={"question": "And Japan?", "history": [ASKED], "shown": [shown]}))
    assert counted == ["And Japan?"]


def _searches(live: Any, client: TestClient, params: dict[str, Any]) -> list[str]:
    """The questions one page request searches."""
    asked: list[str] = []
    real = live.searcher.search

    def search(question: str, history: Any = (), k: int = 5) -> Any:
        asked.append(question)
        return real(question, history, k)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(live.searcher, "search", search)
        html_of(client.get("/", params=params))
    return asked


def test_references_stay_valid_across_a_restart(live: Any, tmp_path: Path) -> None:
    """Unset BRIEFQA_SECRET, the key is made once and kept: a second app draws the first one's thread."""
    settings = Settings(corpus=tmp_path, index=live.root)
    with TestClient(create_app(settings, live)) as first:
        shown = form_fields(html_of(first.get("/", params={"question": ASKED})))["shown"][0]
    thread = {"question": "And Japan?", "history": [ASKED], "shown": [shown]}
    with TestClient(create_app(settings, live)) as second:
        assert _searches(live, second, thread) == ["And Japan?"]
    # Another deployment's key (BRIEFQA_SECRET) does not draw it.
    other = Settings(corpus=tmp_path, index=live.root, secret="another deployment's secret")
    with TestClient(create_app(other, live)) as third:
        assert _searches(live, third, thread) == [ASKED, "And Japan?"]


def test_the_api_issues_the_reference_the_page_carries(client: TestClient, counted: list[str]) -> None:  # noqa: F811
    """The page's script asks /api/ask and carries its ``shown``: a reload draws that turn unsearched."""
    asked = client.post("/api/ask", json={"question": ASKED, "k": 3}).json()
    assert asked["shown"].startswith("a|")
    counted.clear()
    doc = html_of(client.get("/", params={"question": "And Japan?", "history": [ASKED], "shown": [asked["shown"]]}))
    assert counted == ["And Japan?"]
    first = doc.cssselect("article.turn")[0]
    assert [text(b) for b in first.cssselect("blockquote")] == [r["quote"] for r in asked["results"]]


def test_an_app_writes_its_thread_key_only_when_it_first_signs(live: Any, tmp_path: Path) -> None:
    index = tmp_path / "index-of-a-schema-only-app"
    create_app(Settings(corpus=tmp_path, index=index))
    assert not index.exists(), "making an app (for its schema, say) leaves no file behind"
    with TestClient(create_app(Settings(corpus=tmp_path, index=index), live)) as client:
        assert client.get("/api/search", params={"q": ASKED}).json()["shown"]
    assert (index / ".state" / "thread-secret").stat().st_mode & 0o077 == 0, "the key is the owner's alone"
