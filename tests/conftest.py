"""Shared fixtures: the real model once per session, the brief's index, an app, a real server."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
EVAL_FILE = REPO / "eval" / "brief_qa_dev.jsonl"
SQUAD_SAMPLE = REPO / "eval" / "squad2-sample.json"


def _clear_settings() -> None:
    """Drop every ``BRIEFQA_*`` variable: a developer's exported ``BRIEFQA_QDRANT`` would otherwise
    have the suite build into, and collect the versions of, a real deployment."""
    for name in [n for n in os.environ if n.upper().startswith("BRIEFQA_")]:
        del os.environ[name]


# At import, before any fixture: session fixtures (the brief's index, the app) are set up before
# the per-test fixture below runs, and read settings too.
_clear_settings()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's BRIEFQA_* settings or writes ./index."""
    for name in [n for n in os.environ if n.upper().startswith("BRIEFQA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BRIEFQA_INDEX", str(tmp_path / "index"))


PARAGRAPH = (
    "The {topic} programme was launched in {year} by the ministry. It funds {topic} research across "
    "twelve regions and reports to parliament every year. Critics argue that the {topic} budget is too "
    "small for its goals. Supporters reply that the {topic} results so far justify a larger share."
)


def write_source(corpus: Path, name: str, topic: str, year: int = 2020) -> Path:
    path = corpus / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# The {topic} brief\n\n{PARAGRAPH.format(topic=topic, year=year)}\n")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Three small sources in a temporary folder (index plumbing tests)."""
    folder = tmp_path / "corpus"
    for topic in ("fisheries", "railways", "glaciers"):
        write_source(folder, f"{topic}.md", topic)
    return folder


def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")


class FakeEmbedder:
    """Deterministic bag-of-words vectors: for plumbing tests where the model is beside the point."""

    name = "fake-embedder"
    dimension = 64
    max_tokens = 256  # as all-MiniLM-L6-v2: a chunk budget of 200 "word pieces" (words here)

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, _word_hash(word) % self.dimension] += 1.0
            norm = np.linalg.norm(out[i]) or 1.0
            out[i] /= norm
        return out

    def encode(self, texts: Sequence[str], progress=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        out = self._vectors(texts)
        if progress:
            progress(len(texts))
        return out

    def encode_full(self, texts: Sequence[str], progress=None, spans: bool = False):  # type: ignore[no-untyped-def]
        """Each white-space word is one "word piece", its vector the word's own bag of one."""
        from briefqa.embed import Encoded

        tokens, ids, where = [], [], []
        for text in texts:
            found = list(re.finditer(r"\S+", text))
            pieces = [m.group(0).lower() for m in found]
            tokens.append(self._vectors(pieces) if pieces else np.zeros((0, self.dimension), np.float32))
            ids.append(np.array([_word_hash(p) % 1000 for p in pieces], dtype=np.int32))
            where.append(np.array([m.span() for m in found], dtype=np.int64).reshape(-1, 2))
        vectors = self._vectors(texts)
        if progress:
            progress(len(texts))
        if not spans:
            return Encoded(vectors, tokens, ids)
        # Every word is a token the model reads: its row to pool is its own vector.
        return Encoded(vectors, tokens, ids, where, tokens, where)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def pieces(self) -> list[str]:
        return []


class CountingEmbedder(FakeEmbedder):
    """The fake embedder, counting the texts it was asked to embed (what incremental saves).

    Passages (``encode_full``) and sentences (``encode``) both count; the word pieces and the
    sentence vectors of a passage are part of its one pass and do not.
    """

    def __init__(self, name: str = "fake-embedder") -> None:
        self.name = name
        self.embedded: list[str] = []

    def encode(self, texts: Sequence[str], progress=None) -> np.ndarray:  # type: ignore[no-untyped-def]
        self.embedded.extend(texts)
        return super().encode(texts, progress)

    def encode_full(self, texts: Sequence[str], progress=None, spans: bool = False):  # type: ignore[no-untyped-def]
        self.embedded.extend(texts)
        return super().encode_full(texts, progress, spans)

    def sources_embedded(self) -> set[str]:
        """Topics whose opening sentence was embedded (in a passage, or alone)."""
        pattern = re.compile(r"The (\w+) programme was launched in \d+ by the ministry\.")
        return {m.group(1) for t in self.embedded for m in pattern.finditer(t)}


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from briefqa.embed import load_embedder
    from briefqa.settings import DEFAULT_MODEL

    return load_embedder(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def brief_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:  # type: ignore[no-untyped-def]
    """The default corpus indexed with the real model, once per session (read-only for tests)."""
    from briefqa.index.build.pipeline import build_index

    root = tmp_path_factory.mktemp("brief-index")
    build_index(CORPUS, root, embedder)
    return root


@pytest.fixture(scope="session")
def live(brief_index: Path, embedder):  # type: ignore[no-untyped-def]
    from briefqa.answers.live import LiveIndex

    index = LiveIndex(CORPUS, brief_index, embedder)
    index.refresh()
    return index


@pytest.fixture(scope="session")
def searcher(live):  # type: ignore[no-untyped-def]
    return live.searcher


@pytest.fixture(scope="session")
def client(live):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from briefqa.api.app import create_app
    from briefqa.settings import Settings

    app = create_app(Settings(corpus=CORPUS, index=live.root), live)
    with TestClient(app) as test_client:
        yield test_client


def built_app(root: Path, files: dict[str, str], embedder: Any) -> Any:
    """The app over a corpus of ``files`` (name -> text) under ``root``, built and loaded."""
    from briefqa.answers.live import LiveIndex
    from briefqa.api.app import create_app
    from briefqa.index.build.pipeline import build_index
    from briefqa.settings import Settings

    corpus, index = root / "corpus", root / "index"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    report = build_index(corpus, index, embedder)
    assert not report.errors, report.errors
    live = LiveIndex(corpus, index, embedder)
    live.refresh()
    return create_app(Settings(corpus=corpus, index=index), live)


@pytest.fixture
def qdrant(tmp_path: Path) -> Iterator[Any]:
    """A Qdrant store in the embedded mode, in a folder of the test's own; closed after it."""
    from briefqa.index.backends.choose import open_store
    from briefqa.index.backends.qdrant.store import QdrantStore

    store = open_store(tmp_path / "index", str(tmp_path / "qdrant"))
    assert isinstance(store, QdrantStore)
    yield store
    store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningServer:
    """A real uvicorn server on loopback, in a thread of the test process."""

    def __init__(self, app, port: int) -> None:  # type: ignore[no-untyped-def]
        import uvicorn

        from briefqa.api.protocol import JsonErrorsProtocol

        self.url = f"http://127.0.0.1:{port}"
        # The protocol `briefqa serve` runs, so the server's own replies are tested too.
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", http=JsonErrorsProtocol)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> RunningServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def server(live) -> Iterator[RunningServer]:  # type: ignore[no-untyped-def]
    """The brief served over real HTTP; ``server.url`` is its base address."""
    from briefqa.api.app import create_app
    from briefqa.settings import Settings

    app = create_app(Settings(corpus=CORPUS, index=live.root), live)
    with RunningServer(app, free_port()) as running:
        yield running


@pytest.fixture
def locked_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Folders named "locked" cannot be listed, as without read permission (root, who runs CI,
    can read any folder, so the permission itself cannot be taken away in a test)."""
    import os

    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
