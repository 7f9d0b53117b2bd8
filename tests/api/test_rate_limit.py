"""Each client's budget of searches (BRIEFQA_RATE_LIMIT): 429 with Retry-After, loopback exempt by default."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from briefqa.api.app import create_app
from briefqa.api.rate_limit import MAX_CLIENTS, TokenBuckets
from briefqa.settings import RateBudget, Settings, rate_budget

REMOTE = ("203.0.113.7", 40000)  # TEST-NET-3: an address from the network


@pytest.mark.parametrize(
    ("raw", "budget"),
    [
        ("60/minute", RateBudget(60, 60.0, False)),
        ("5 / Second", RateBudget(5, 1.0, False)),
        ("1000/hour+loopback", RateBudget(1000, 3600.0, True)),
        ("off", None),
    ],
)
def test_the_setting_reads_as_documented(raw: str, budget: RateBudget | None) -> None:
    assert rate_budget(raw) == budget


@pytest.mark.parametrize("raw", ["", "60", "0/minute", "60/day", "sixty/minute", "60/minute+all"])
def test_a_rate_that_is_not_one_is_an_error_naming_the_setting(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIEFQA_RATE_LIMIT", raw)
    with pytest.raises(ValidationError, match="rate_limit"):
        Settings()


def test_a_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(RateBudget(2, 10.0, False), clock=lambda: now[0])
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(5.0)  # one token every 5 s
    assert buckets.take("b") == 0.0, "each client has its own"
    now[0] = 5.0
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0


def test_the_buckets_of_many_clients_stay_bounded() -> None:
    now = [0.0]
    buckets = TokenBuckets(RateBudget(1, 1.0, False), clock=lambda: now[0])
    for i in range(MAX_CLIENTS + 10):
        buckets.take(f"client-{i}")
    assert len(buckets._buckets) <= MAX_CLIENTS


@pytest.mark.slow
def test_a_client_past_its_budget_gets_429_with_retry_after(live: Any) -> None:
    app = create_app(Settings(index=live.root, rate_limit="3/minute"), live)
    with TestClient(app, client=REMOTE) as remote:
        codes = [remote.get("/api/search", params={"q": f"satellites {i}"}).status_code for i in range(3)]
        assert codes == [200, 200, 200]
        refused = remote.post("/api/ask", json={"question": "What about launch sites?"})
        assert refused.status_code == 429
        assert set(refused.json()) == {"detail"} and "try again" in refused.json()["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        # Pages, sources and health are not searches.
        assert remote.get("/healthz").status_code == 200
        assert remote.get("/api/sources").status_code == 200
        assert remote.get("/").status_code == 200
        assert remote.get("/", params={"question": "Why?"}).status_code == 429


@pytest.mark.slow
def test_loopback_clients_are_not_counted_unless_the_budget_says_so(live: Any) -> None:
    local = ("127.0.0.1", 40000)
    with TestClient(create_app(Settings(index=live.root, rate_limit="1/hour"), live), client=local) as client:
        assert {client.get("/api/search", params={"q": "satellites"}).status_code for _ in range(4)} == {200}
    with TestClient(create_app(Settings(index=live.root, rate_limit="1/hour+loopback"), live), client=local) as client:
        assert [client.get("/api/search", params={"q": "satellites"}).status_code for _ in range(2)] == [200, 429]
    with TestClient(create_app(Settings(index=live.root, rate_limit="off"), live), client=REMOTE) as client:
        assert {client.get("/api/search", params={"q": "satellites"}).status_code for _ in range(4)} == {200}
