"""The JSON API as the contract fixes it: shapes, offsets, links, limits and the one error shape."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow

QUESTION = "What challenges remain for the alliance?"
URL = re.compile(r"/sources/(?P<id>[a-z0-9-]+)\?hl=(?P<start>\d+)-(?P<end>\d+)&rev=(?P<rev>[0-9a-f]{16})#q")
RESULT_KEYS = {"rank", "score", "quote", "passage", "start", "end", "answer", "source"}


def detail_of(response: Any) -> Any:
    """The error body, after checking it is exactly ``{"detail": ...}`` served as JSON."""
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail"}, body
    assert body["detail"], "an error must say what is wrong"
    return body["detail"]


def reason(detail: Any) -> str:
    return detail if isinstance(detail, str) else " ".join(f"{i['loc']} {i['msg']}" for i in detail)


def test_healthz_reports_the_served_index(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert {"status", "documents", "chunks", "model", "index_version"} <= set(body)
    assert body["status"] == "ok" and body["stale_sources"] == 0
    assert body["newest"] is True and body["newest_version"] == body["index_version"] and body["reason"] is None
    assert body["documents"] == 1
    assert body["chunks"] >= 1
    assert body["model"] and body["index_version"]


def test_search_results_quote_their_source_verbatim(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": QUESTION, "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"query", "answered", "notice", "results", "shown"}
    assert body["query"] == QUESTION
    assert isinstance(body["answered"], bool)
    results = body["results"]
    assert 1 <= len(results) <= 3
    assert [r["rank"] for r in results] == list(range(1, len(results) + 1))
    texts: dict[str, str] = {}
    for r in results:
        assert set(r) == RESULT_KEYS
        # The contract's four, and the credit a citation is made of (added: the contract allows it).
        assert set(r["source"]) == {"id", "title", "url", "origin", "authors", "date", "citation"}
        source_id = r["source"]["id"]
        if source_id not in texts:
            texts[source_id] = client.get(f"/api/sources/{source_id}").json()["text"]
        assert r["quote"] == texts[source_id][r["start"] : r["end"]]
        assert r["quote"] in r["passage"]
        if r["answer"] is not None:  # null until the reader marks one
            span = r["answer"]
            assert r["start"] <= span["start"] < span["end"] <= r["end"]
            assert span["text"] == texts[source_id][span["start"] : span["end"]]
        link = URL.fullmatch(r["source"]["url"])
        assert link, r["source"]["url"]
        assert (link["id"], int(link["start"]), int(link["end"])) == (source_id, r["start"], r["end"])
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)


def test_search_returns_at_most_five_by_default(client: TestClient) -> None:
    body = client.get("/api/search", params={"q": "space"}).json()
    assert 1 <= len(body["results"]) <= 5


def test_ask_resolves_a_follow_up_against_history(client: TestClient) -> None:
    first = "Which missile defense programs is Japan part of?"
    follow_up = "What else does Japan plan to deploy?"
    response = client.post("/api/ask", json={"question": follow_up, "history": [first], "k": 2})
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) <= 2
    # The searched text carries the thread, so the follow-up is not searched on its own words alone.
    assert body["query"] != follow_up
    assert "Japan" in body["query"]
    alone = client.post("/api/ask", json={"question": follow_up}).json()
    assert alone["query"] == follow_up


def test_sources_lists_each_source_with_its_size(client: TestClient) -> None:
    response = client.get("/api/sources")
    assert response.status_code == 200
    sources = response.json()["sources"]
    assert [s["id"] for s in sources] == ["us-japan-space-alliance"]
    only = sources[0]
    assert set(only) == {"id", "title", "origin", "chars", "chunks", "state", "problem"}
    assert (only["state"], only["problem"]) == ("current", None)
    assert only["title"] == "Is the U.S.-Japan Space Alliance Entering a New Era?"
    detail = client.get("/api/sources/us-japan-space-alliance").json()
    assert set(detail) == {"id", "title", "origin", "text", "metadata"}
    assert only["chars"] == len(detail["text"])
    assert only["chunks"] >= 1


LONG = "x" * 1001
BAD_SEARCHES = [
    ({}, "q"),
    ({"q": ""}, "q"),
    ({"q": "   "}, "q"),
    ({"q": "\t\n"}, "q"),
    ({"q": LONG}, "q"),
    ({"q": "space", "k": 0}, "k"),
    ({"q": "space", "k": 21}, "k"),
    ({"q": "space", "k": -1}, "k"),
    ({"q": "space", "k": "five"}, "k"),
    ({"q": "space", "k": "1e3"}, "k"),
    ({"q": "\u200b"}, "q"),  # zero-width space
    ({"q": "\ufeff"}, "q"),  # byte order mark
    ({"q": "\x00"}, "q"),
    ({"q": "\u200b \u2060\x07\u00ad"}, "q"),
]


@pytest.mark.parametrize(("params", "field"), BAD_SEARCHES)
def test_search_rejects_out_of_contract_input_with_a_reason(client: TestClient, params: dict, field: str) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == 422
    assert field in reason(detail_of(response))


BAD_ASKS: list[tuple[Any, str]] = [
    ({}, "question"),
    ({"question": ""}, "question"),
    ({"question": " \u3000 "}, "question"),
    ({"question": LONG}, "question"),
    ({"question": 42}, "question"),
    ({"question": None}, "question"),
    ({"question": "space", "history": ["earlier"] * 21}, "history"),
    ({"question": "space", "history": [LONG]}, "history"),
    ({"question": "space", "history": "not a list"}, "history"),
    ({"question": "space", "history": [1, 2]}, "history"),
    ({"question": "space", "k": 0}, "k"),
    ({"question": "space", "k": 21}, "k"),
    ({"question": "space", "k": 2.5}, "k"),
    ({"question": "space", "k": True}, "k"),
    ({"question": "space", "k": "5"}, "k"),
    ({"question": "\u200b"}, "question"),
    ({"question": "\ufeff\x00"}, "question"),
    ({"question": "space", "history": "abc"}, "history"),
    ({"question": "space", "surprise": True}, "surprise"),
    ([], "body"),
    ("a string", "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_ASKS)
def test_ask_rejects_out_of_contract_input_with_a_reason(client: TestClient, body: Any, field: str) -> None:
    response = client.post("/api/ask", json=body)
    assert response.status_code == 422
    assert field in reason(detail_of(response))


@pytest.mark.parametrize(
    "raw",
    [b'{"question": "space",', b"not json at all", b"", b"\xff\xfe\x00", b'{"question": "space"}}', b"null"],
)
def test_ask_rejects_malformed_json(client: TestClient, raw: bytes) -> None:
    response = client.post("/api/ask", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    detail_of(response)


def test_ask_accepts_the_limits_themselves(client: TestClient) -> None:
    body = {"question": "space " * 166 + "sat", "history": ["q"] * 20, "k": 20}
    assert len(body["question"]) <= 1000
    response = client.post("/api/ask", json=body)
    assert response.status_code == 200
    assert len(response.json()["results"]) <= 20


@pytest.mark.parametrize("source_id", ["no-such-source", "US-JAPAN-SPACE-ALLIANCE", "us-japan-space-alliance.txt"])
def test_unknown_source_is_404_with_the_id_named(client: TestClient, source_id: str) -> None:
    response = client.get(f"/api/sources/{source_id}")
    assert response.status_code == 404
    assert source_id in detail_of(response)


@pytest.mark.parametrize(
    "path",
    [
        "/api/sources/..%2F..%2Fetc%2Fpasswd",
        "/api/sources/%2Fetc%2Fpasswd",
        "/api/sources/%2e%2e",
        "/api/sources/..",
        "/api/sources/us-japan-space-alliance/../../healthz/x",
    ],
)
def test_path_like_ids_are_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    detail_of(response)


def test_rebuild_is_off_without_a_server_token(client: TestClient) -> None:
    response = client.post("/api/index/rebuild", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 403
    assert "BRIEFQA_ADMIN_TOKEN" in detail_of(response)


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", "Basic s3cret", "s3cret", "Bearer ", "Bearer s3cret-and-more"]
)
def test_rebuild_needs_the_bearer_token(live: Any, header: str | None) -> None:
    from briefqa.api.app import create_app
    from briefqa.settings import Settings

    app = create_app(Settings(corpus=live.corpus, index=live.root, admin_token="s3cret"), live)
    guarded = TestClient(app)  # no lifespan: the session's live index is already loaded
    headers = {"Authorization": header} if header is not None else {}
    response = guarded.post("/api/index/rebuild", headers=headers)
    assert response.status_code == 401
    detail_of(response)


ERRORS = [
    ("GET", "/api/search", {"params": {"q": ""}}, 422),
    ("POST", "/api/ask", {"content": b"{", "headers": {"Content-Type": "application/json"}}, 422),
    ("GET", "/api/sources/nope", {}, 404),
    ("GET", "/sources/nope", {}, 404),
    ("GET", "/sources/us-japan-space-alliance", {"params": {"hl": "9-3"}}, 422),
    ("GET", "/", {"params": {"question": " "}}, 422),
    ("POST", "/api/index/rebuild", {}, 403),
    ("DELETE", "/api/sources", {}, 405),
    ("PUT", "/", {}, 405),
    ("GET", "/no/such/page", {}, 404),
    ("GET", "/static/no-such-file.js", {}, 404),
    ("POST", "/api/ask", {"json": {"question": "x" * (70 * 1024)}}, 413),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), ERRORS)
def test_every_error_has_one_json_shape(client: TestClient, method: str, path: str, kwargs: dict, status: int) -> None:
    response = client.request(method, path, **kwargs)
    assert response.status_code == status
    detail_of(response)
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/healthz", "/api/sources", "/", "/sources", "/static/chat.js"])
def test_responses_carry_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


@pytest.mark.parametrize("question", ["?", "the", "...", "😀🚀", "Is it?"])
def test_a_question_with_nothing_to_search_is_not_answered(client: TestClient, question: str) -> None:
    # The searcher decides this (punctuation and stopwords only); with no history there is
    # nothing else to search, so no quote is offered at all.
    response = client.post("/api/ask", json={"question": question})
    assert response.status_code == 200
    body = response.json()
    assert body["answered"] is False
    assert body["results"] == []


@pytest.mark.parametrize("question", ["\u200b", "\ufeff", "\x00", "\u2063\u200e \t"])
def test_invisible_only_question_is_empty_in_the_cli_and_api_alike(searcher: Any, question: str) -> None:
    from briefqa.errors import InputError

    with pytest.raises(InputError, match="question must not be empty"):
        searcher.search(question)


def test_invisible_characters_do_not_change_the_question(searcher: Any) -> None:
    from briefqa.answers.questions import normalise_question

    assert normalise_question("\ufeffHow  many\u200b satellites\x00?\n") == "How many satellites?"


FIVE_MB = b"x" * (5 * 1024 * 1024)


def test_a_large_body_is_refused_before_it_is_read(client: TestClient) -> None:
    response = client.post("/api/ask", content=FIVE_MB, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "65536" in detail_of(response)
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_large_chunked_body_is_refused_while_streaming(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(80):  # 5 MB in 64 KB pieces, without a Content-Length
            yield FIVE_MB[: 64 * 1024]

    response = client.post("/api/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    detail_of(response)


def test_a_body_under_the_limit_is_still_read_whole(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"question": "How many satellites'
        yield b' does the US operate?", "k": 1}'

    response = client.post("/api/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert len(response.json()["results"]) <= 1


def test_a_large_body_gets_413_over_real_http(server: Any) -> None:
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as http:
        response = http.post("/api/ask", content=FIVE_MB, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    detail_of(response)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_client_that_sends_its_whole_body_before_reading_sees_the_413(server: Any, chunked: bool) -> None:
    """Python's urllib writes the whole body first: without the server reading the rest of it, the
    client meets a reset connection or a broken pipe instead of the 413."""
    import json
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json"}
    data: Any = FIVE_MB
    if chunked:
        headers["Transfer-Encoding"] = "chunked"
        data = (FIVE_MB[i : i + 65536] for i in range(0, len(FIVE_MB), 65536))
    for _ in range(3):  # a reset is a race; one lucky pass proves nothing
        request = urllib.request.Request(f"{server.url}/api/ask", data=data, headers=headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 413
        assert "65536" in json.loads(refused.value.read())["detail"]
        if chunked:
            data = (FIVE_MB[i : i + 65536] for i in range(0, len(FIVE_MB), 65536))


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/sources", "/sources/us-japan-space-alliance", "/docs"])
def test_head_is_answered_wherever_get_is(client: TestClient, path: str) -> None:
    got = client.get(path)
    head = client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def _raw(server: Any, request: bytes) -> tuple[str, dict[str, str], bytes]:
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


@pytest.mark.parametrize(
    "request_bytes",
    [b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"],
    ids=["unknown method", "overlong URL"],
)
def test_requests_the_server_cannot_parse_get_the_json_error_shape(server: Any, request_bytes: bytes) -> None:
    import json

    status, headers, body = _raw(server, request_bytes)
    assert status.startswith("HTTP/1.1 400")
    assert headers["content-type"] == "application/json"
    assert set(json.loads(body)) == {"detail"}


def test_swagger_and_redoc_are_served_from_the_package_within_the_csp(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert "cdn" not in page.text.lower()
        for src in re.findall(r'(?:src|href)="(/static-docs/[^"]+)"', page.text):
            asset = client.get(src)
            assert asset.status_code == 200 and len(asset.content) > 1000, src
            # ReDoc's bundle names Redocly's logo on their CDN; the served one leaves it out.
            assert "cdn.redoc.ly" not in asset.text, src


def test_the_reason_nothing_is_answered_is_in_the_response(client: TestClient) -> None:
    from briefqa.answers.notices import NO_THREAD, NOT_ENGLISH, NOTHING_SEARCHABLE

    answered = client.get("/api/search", params={"q": QUESTION, "k": 1}).json()
    assert answered["notice"] is None
    cases = [
        ({"question": "Wie viele Satelliten betreiben die Vereinigten Staaten?"}, NOT_ENGLISH),
        ({"question": "🚀🛰️"}, NOTHING_SEARCHABLE),
        ({"question": "And Japan?"}, NO_THREAD),
    ]
    for body, notice in cases:
        reply = client.post("/api/ask", json=body).json()
        assert (reply["answered"], reply["notice"]) == (False, notice), body
    followed = client.post("/api/ask", json={"question": "And Japan?", "history": [QUESTION]}).json()
    assert followed["notice"] is None
    schema = client.get("/openapi.json").json()["components"]["schemas"]["SearchResponse"]
    assert "notice" in schema["properties"]
