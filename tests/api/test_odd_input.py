"""Bytes that are not the text they claim to be: each gets a 422 that names what is wrong."""

from __future__ import annotations

from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient

from briefqa.api.strict_input import MAX_DEPTH

pytestmark = pytest.mark.slow


def detail(response: Any) -> str:
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail"}
    return str(body["detail"])


@pytest.mark.parametrize("path", ["/api/search?q=sp%FFace", "/api/search?k=3&q=%C3%28", "/api/transcript?q=%E2%82"])
def test_a_query_parameter_that_is_not_utf8_is_422_naming_it(client: TestClient, path: str) -> None:
    said = detail(client.get(path))
    assert "'q'" in said and "not UTF-8" in said


def test_a_query_in_utf8_is_searched_as_sent(client: TestClient) -> None:
    response = client.get("/api/search?q=caf%C3%A9%20launches")
    assert response.status_code == 200
    assert response.json()["query"] == "café launches"


def test_the_page_names_a_question_that_is_not_utf8(client: TestClient) -> None:
    response = client.get("/?question=%FF", headers={"Accept": "text/html"})
    assert response.status_code == 422
    shown = lxml.html.fromstring(response.text).cssselect("main")[0].text_content()
    assert "'question' is not UTF-8" in shown


@pytest.mark.parametrize("path", ["/api/ask", "/api/transcript"])
def test_a_body_that_is_not_utf8_is_422_saying_so(client: TestClient, path: str) -> None:
    key = "question" if path == "/api/ask" else "questions"
    value = b'"sp\xffce"' if key == "question" else b'["sp\xffce"]'
    raw = b'{"' + key.encode() + b'": ' + value + b"}"
    said = detail(client.post(path, content=raw, headers={"Content-Type": "application/json"}))
    assert "not UTF-8" in said and "0xFF" in said


def test_a_body_in_utf16_is_refused_as_not_utf8(client: TestClient) -> None:
    raw = '{"question": "space"}'.encode("utf-16")
    assert "not UTF-8" in detail(client.post("/api/ask", content=raw, headers={"Content-Type": "application/json"}))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 20_000])
def test_json_nested_past_the_limit_is_422_saying_so(client: TestClient, depth: int) -> None:
    raw = '{"question": "space", "history": ' + "[" * depth + "]" * depth + "}"
    said = detail(client.post("/api/ask", content=raw, headers={"Content-Type": "application/json"}))
    assert f"more than {MAX_DEPTH} deep" in said


def test_brackets_inside_a_string_are_text_not_nesting(client: TestClient) -> None:
    question = "[" * 200 + " launch sites {" + '\\"' + "]"
    raw = '{"question": "' + question + '"}'
    response = client.post("/api/ask", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text[:300]


def test_nesting_within_the_limit_is_judged_by_the_schema(client: TestClient) -> None:
    raw = '{"question": "space", "history": ' + "[" * 3 + "]" * 3 + "}"
    said = detail(client.post("/api/ask", content=raw, headers={"Content-Type": "application/json"}))
    assert "history" in said and "deep" not in said
