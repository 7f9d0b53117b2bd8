"""`briefqa index` as users run it: the console script, its exit codes, messages and progress."""

from __future__ import annotations

import fcntl
import os
import pty
import shutil
import signal
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path

import httpx
import pytest

from briefqa import store
from briefqa.api.app import create_app
from briefqa.build import build_index
from briefqa.cli import _Progress
from briefqa.live import LiveIndex
from briefqa.settings import Settings

from .conftest import CORPUS, REPO, CountingEmbedder, RunningServer, free_port

BRIEFQA = REPO / ".venv" / "bin" / "briefqa"


def run_cli(*args: str, stderr_tty: bool = False, **env: str) -> tuple[int, str, str]:
    """Run the console script; with ``stderr_tty`` its stderr is a terminal (where bars go)."""
    full_env = {**os.environ, **env}
    if not stderr_tty:
        done = subprocess.run([str(BRIEFQA), *args], capture_output=True, text=True, env=full_env, timeout=300)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    # A fresh terminal is 0 columns wide, which leaves a bar no room at all.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen([str(BRIEFQA), *args], stdout=subprocess.PIPE, stderr=slave, text=True, env=full_env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the terminal closes when the process exits
            break
        if not data:
            break
        chunks.append(data)
    out = proc.stdout.read() if proc.stdout else ""
    proc.wait(timeout=300)
    os.close(master)
    return proc.returncode, out, b"".join(chunks).decode(errors="replace")


@pytest.fixture
def brief_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder


@pytest.mark.slow
def test_unknown_model_is_named_without_a_traceback(tmp_path: Path) -> None:
    code, out, err = run_cli("index", "--corpus", str(CORPUS), BRIEFQA_MODEL="no-such-model-xyz",
                             BRIEFQA_INDEX=str(tmp_path / "index"))
    assert code != 0
    assert "'no-such-model-xyz'" in err and "BRIEFQA_MODEL" in err
    assert "Traceback" not in err + out
    assert store.current_version(tmp_path / "index") is None


@pytest.mark.slow
def test_model_mismatch_rebuilds_all_and_broken_source_is_named(
    brief_corpus: Path, tmp_path: Path
) -> None:
    root = tmp_path / "index"
    build_index(brief_corpus, root, CountingEmbedder())  # an index of another model
    (brief_corpus / "notes").mkdir()
    (brief_corpus / "notes" / "broken.md").write_text("---\ntitle: [unclosed\n---\nText.\n")

    code, out, err = run_cli("index", "--corpus", str(brief_corpus), "--index", str(root), stderr_tty=True)

    assert code == 1, out + err
    assert "built with model 'fake-embedder', not 'all-MiniLM-L6-v2': re-indexing every source" in out
    assert "failed: notes/broken.md: front matter is not valid YAML" in out
    assert "Traceback" not in out + err
    assert "sources" in err and "%|" in err, "a progress bar on a terminal"
    manifest = store.read_manifest(root)
    assert manifest is not None and manifest["model"] == "all-MiniLM-L6-v2" and manifest["dimension"] == 384
    assert manifest["sources"]["us-japan-space-alliance"]["error"] is None
    assert "YAML" in manifest["sources"]["notes-broken"]["error"]


def test_plain_progress_lines_when_not_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    progress = _Progress()
    for n in range(1, 101):
        progress("sources", n, 100)
    progress("embedding", 512, 1024)
    progress("embedding", 1024, 1024)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "sources: 10/100" and "sources: 100/100" in err
    assert len([line for line in err if line.startswith("sources")]) == 10, "every tenth, not every source"
    assert err[-2:] == ["embedding: 512/1024", "embedding: 1024/1024"]


@pytest.mark.slow
def test_watching_cli_publishes_what_a_running_server_picks_up_without_a_failed_request(
    brief_index: Path, embedder, brief_corpus: Path, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    root = tmp_path / "index"
    shutil.copytree(brief_index, root)
    live = LiveIndex(brief_corpus, root, embedder)
    live.refresh()
    before = store.current_version(root)
    app = create_app(Settings(corpus=brief_corpus, index=root), live)
    watcher = subprocess.Popen([str(BRIEFQA), "index", "--corpus", str(brief_corpus), "--index", str(root), "--watch"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read() -> None:
        assert watcher.stdout is not None
        for line in watcher.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    statuses: list[int] = []
    try:
        with RunningServer(app, free_port()) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            def ask() -> set[str]:
                reply = client.get("/api/search", params={"q": "What did the quokka rover map?"})
                statuses.append(reply.status_code)
                time.sleep(0.01)  # steady traffic, leaving the watcher's build a core on a small machine
                return {r["source"]["id"] for r in reply.json()["results"]} if reply.status_code == 200 else set()

            # Generous: loading the model and indexing take long on a busy machine; only the
            # swap itself is timed.
            deadline = time.monotonic() + 300
            while not any("watching" in line for line in lines):
                assert time.monotonic() < deadline and watcher.poll() is None, lines
                ask()
            (brief_corpus / "lunar.md").write_text(
                "---\ntitle: Lunar water\n---\nThe Shackleton crater survey found water ice in permanently "
                "shadowed regions. The quokka rover mapped the deposits over three months.\n"
            )
            deadline = time.monotonic() + 300
            while store.current_version(root) == before:  # the watcher rebuilds while readers ask
                assert time.monotonic() < deadline, lines
                ask()
            published = time.monotonic()
            while "lunar" not in ask():
                assert time.monotonic() - published < 3, "the server did not pick up the CLI's version"
                time.sleep(0.05)
            assert client.get("/healthz").json()["index_version"] == store.current_version(root)
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=30)
        reader.join(timeout=5)
    assert set(statuses) == {200}
    assert watcher.returncode == 0
    assert "added: lunar\n" in lines and "stopped watching\n" in lines
