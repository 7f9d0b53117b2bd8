"""Hot swap: a serving process picks up new versions whole, without a failed request."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from briefqa.answers.live import LiveIndex
from briefqa.api.app import create_app
from briefqa.errors import IndexMissingError
from briefqa.index.backends.local.store import LocalStore
from briefqa.index.build.pipeline import build_index
from briefqa.settings import Settings

from ..conftest import CountingEmbedder, RunningServer, free_port

TOKEN = "test-admin-token"
TOPICS = ("fisheries", "railways", "glaciers")
QUESTIONS = (
    "What does the ministry fund?",
    "Who argues the budget is too small?",
    "When was it launched?",
    "What do supporters reply?",
    "Which regions get research money?",
)


def write_marked(corpus: Path, topic: str, marker: str) -> None:
    """A source every sentence of which names ``marker``, so any quote tells its version."""
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / f"{topic}.md").write_text(
        f"# {topic.title()}\n\nThe {topic} programme of the {marker} plan was launched in 2020 by the ministry. "
        f"The {marker} plan funds {topic} research across twelve regions. Critics of the {marker} plan argue "
        f"that the {topic} budget is too small. Supporters of the {marker} plan reply that the results "
        f"justify a larger share.\n"
    )


def marked_corpus(folder: Path) -> Path:
    """``folder`` with one source per topic, each of version "alpha"."""
    for topic in TOPICS:
        write_marked(folder, topic, "alpha")
    return folder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return marked_corpus(tmp_path / "corpus")


@pytest.fixture
def live(corpus: Path, tmp_path: Path) -> LiveIndex:
    index = LiveIndex(corpus, tmp_path / "index", CountingEmbedder())
    index.rebuild()
    return index


@pytest.fixture
def server(live: LiveIndex) -> Iterator[RunningServer]:
    settings = Settings(corpus=live.corpus, index=live.root, admin_token=TOKEN)
    with RunningServer(create_app(settings, live), free_port()) as running:
        yield running


def _markers(body: dict) -> set[str]:  # type: ignore[type-arg]
    return {m for r in body["results"] for m in ("alpha", "omega") if f"{m} plan" in r["quote"]}


class Hammer:
    """Threads asking questions until stopped (or ``max_seconds`` pass), recording every reply."""

    def __init__(self, url: str, workers: int = 4, max_seconds: float = 120.0) -> None:
        self.url = url
        self.deadline = time.monotonic() + max_seconds
        self.replies: list[tuple[int, frozenset[str]]] = []
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(workers)
        self._futures = [self._pool.submit(self._run, i) for i in range(workers)]

    def _run(self, worker: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            n = 0
            while not self._stop.is_set() and time.monotonic() < self.deadline:
                r = client.get("/api/search", params={"q": QUESTIONS[(worker + n) % len(QUESTIONS)], "k": 5})
                self.replies.append(
                    (r.status_code, frozenset(_markers(r.json())) if r.status_code == 200 else frozenset({r.text}))
                )
                n += 1

    def keep_on(self, seconds: float, timeout: float = 30) -> None:
        """Go on asking for ``seconds`` from now, and until at least one more reply has come."""
        start, before = time.monotonic(), len(self.replies)
        while time.monotonic() - start < seconds or len(self.replies) == before:
            assert time.monotonic() - start < timeout, "no reply came"
            time.sleep(0.01)

    def wait_for(self, n: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.replies) < n and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> list[tuple[int, frozenset[str]]]:
        self._stop.set()
        for f in self._futures:
            f.result()
        self._pool.shutdown()
        return self.replies


def _assert_whole_versions(replies: list[tuple[int, frozenset[str]]]) -> None:
    failed = [r for r in replies if r[0] != 200]
    assert failed == [], f"{len(failed)} failed requests, e.g. {failed[:3]}"
    mixed = [m for _, m in replies if len(m) != 1]
    assert mixed == [], "every reply quotes one version only"
    seen = {next(iter(m)) for _, m in replies}
    assert seen == {"alpha", "omega"}, "the replies spanned the swap"


def _new_version(corpus: Path) -> None:
    for topic in TOPICS:
        write_marked(corpus, topic, "omega")
    write_marked(corpus, "pensions", "omega")


def test_http_rebuild_swaps_under_load_without_a_failed_or_mixed_reply(server: RunningServer, corpus: Path) -> None:
    hammer = Hammer(server.url)
    try:
        hammer.wait_for(40)
        _new_version(corpus)
        reply = httpx.post(f"{server.url}/api/index/rebuild", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert (body["added"], body["updated"], body["removed"]) == (["pensions"], sorted(TOPICS), [])
        # It replied once the new version is the one answering.
        after = httpx.get(f"{server.url}/api/search", params={"q": QUESTIONS[0]}).json()
        assert _markers(after) == {"omega"}
        done = len(hammer.replies)
        hammer.wait_for(done + 40)
    finally:
        replies = hammer.stop()
    _assert_whole_versions(replies)


BUILDER = """
import sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from tests.conftest import CountingEmbedder
from briefqa.index.build import pipeline
pipeline.build_index(Path(sys.argv[1]), Path(sys.argv[2]), CountingEmbedder())
"""


def test_version_built_by_another_process_is_served_within_seconds(
    server: RunningServer, corpus: Path, live: LiveIndex
) -> None:
    hammer = Hammer(server.url)
    try:
        hammer.wait_for(40)
        _new_version(corpus)
        repo = str(Path(__file__).resolve().parents[2])
        subprocess.run([sys.executable, "-c", BUILDER.format(repo=repo), str(corpus), str(live.root)], check=True)
        published = time.monotonic()
        version = LocalStore(live.root).current_version()
        while httpx.get(f"{server.url}/healthz").json()["index_version"] != version:
            assert time.monotonic() - published < 3, "the server did not pick up the new version"
            time.sleep(0.05)
        # Bounded by time after the swap, not by a count of requests that may run out before it.
        hammer.keep_on(1.0)
    finally:
        replies = hammer.stop()
    _assert_whole_versions(replies)


def test_rebuild_reply_names_failed_sources_and_needs_the_token(server: RunningServer, corpus: Path) -> None:
    (corpus / "broken.md").write_bytes(b"\x00\x01 binary")
    url = f"{server.url}/api/index/rebuild"
    assert httpx.post(url).status_code == 401
    assert httpx.post(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    reply = httpx.post(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert reply.status_code == 200
    assert reply.json()["errors"] == [{"path": "broken.md", "error": "binary content (NUL bytes) in a text file"}]
    assert reply.json()["documents"] == 3


def test_rebuild_of_an_emptied_corpus_fails_and_keeps_serving(server: RunningServer, corpus: Path) -> None:
    for path in corpus.iterdir():
        path.unlink()
    reply = httpx.post(f"{server.url}/api/index/rebuild", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert reply.status_code == 503 and "no sources" in reply.json()["detail"]
    search = httpx.get(f"{server.url}/api/search", params={"q": QUESTIONS[0]})
    assert search.status_code == 200 and _markers(search.json()) == {"alpha"}


def test_refresh_swaps_only_for_a_new_version(live: LiveIndex, corpus: Path) -> None:
    served = live.searcher
    assert live.refresh() is False and live.searcher is served
    write_marked(corpus, "pensions", "alpha")
    build_index(corpus, live.root, CountingEmbedder())
    assert live.refresh() is True
    assert live.searcher is not served and live.searcher.version == LocalStore(live.root).current_version()
    assert served.search(QUESTIONS[0]).results, "a request holding the old searcher still completes"


def test_version_of_another_model_is_not_served(
    live: LiveIndex, corpus: Path, caplog: pytest.LogCaptureFixture
) -> None:
    served = live.searcher
    build_index(corpus, live.root, CountingEmbedder(name="other-model"))
    for _ in range(3):
        assert live.refresh() is False
    assert live.searcher is served
    assert live.load_error is not None and "other-model" in live.load_error
    assert sum("not loaded" in r.message for r in caplog.records) == 1, "logged once, not every second"


def test_a_bug_while_loading_surfaces_instead_of_reading_as_not_loaded(
    live: LiveIndex, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only what a damaged or incompatible version raises keeps the old one serving quietly."""
    from briefqa.answers import live as live_module

    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a programming error")

    write_marked(corpus, "pensions", "alpha")
    build_index(corpus, live.root, CountingEmbedder())
    monkeypatch.setattr(live_module, "open_searcher", broken)
    with pytest.raises(TypeError, match="a programming error"):
        live.refresh()


def test_no_index_yet_is_a_clear_error(corpus: Path, tmp_path: Path) -> None:
    live = LiveIndex(corpus, tmp_path / "empty-index", CountingEmbedder())
    assert live.refresh() is False and not live.ready
    with pytest.raises(IndexMissingError, match="briefqa index"):
        _ = live.searcher


def test_healthz_says_which_version_serves_and_whether_it_is_the_newest(live: LiveIndex, corpus: Path) -> None:
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(corpus=corpus, index=live.root), live)) as client:
        health = client.get("/healthz").json()
        assert health["status"] == "ok" and health["newest"] is True
        assert health["index_version"] == health["newest_version"] == live.searcher.version
        served = health["index_version"]
        # A newer version that this server cannot load: the old one keeps serving, and says so.
        build_index(corpus, live.root, CountingEmbedder(name="other-model"))
        response = client.get("/healthz")
        assert response.status_code == 200, "a usable version still serves"
        health = response.json()
        assert health["index_version"] == served
        assert health["newest_version"] == LocalStore(live.root).current_version() != served
        assert health["status"] == "stale" and health["newest"] is False
        assert "other-model" in health["reason"]


def test_the_no_script_page_answers_from_a_version_another_worker_just_published(live: LiveIndex, corpus: Path) -> None:
    """As /api/* does: once a rebuild replied (on any worker), the next page is drawn from its version."""
    from fastapi.testclient import TestClient

    settings = Settings(corpus=corpus, index=live.root, reload_interval=3600)  # no periodic look in time
    with TestClient(create_app(settings, live)) as client:
        assert "alpha plan" in client.get("/", params={"question": QUESTIONS[0]}).text
        for topic in TOPICS:
            write_marked(corpus, topic, "omega")
        other_worker = LiveIndex(corpus, live.root, CountingEmbedder())
        other_worker.rebuild()
        page = client.get("/", params={"question": QUESTIONS[0]}).text
        assert "omega plan" in page and "alpha plan" not in page
