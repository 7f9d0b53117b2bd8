"""`briefqa index` as users run it: the console script, its exit codes, messages and progress."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import httpx
import pytest

from briefqa.answers.live import LiveIndex
from briefqa.api.app import create_app
from briefqa.index.backends.local.store import LocalStore
from briefqa.index.build.pipeline import build_index
from briefqa.settings import Settings

from .conftest import CORPUS, REPO, CountingEmbedder, RunningServer, free_port

# The console script installed beside the interpreter running the tests (whatever venv that is).
BRIEFQA = Path(sys.executable).parent / "briefqa"


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


def _interruptible() -> None:
    """In the child: Ctrl-C (SIGINT) as a terminal delivers it. A shell starts background jobs with
    SIGINT ignored, and a child inherits that, so a suite run with ``&`` would see a CLI that
    ignores the tests' SIGINT and never stops."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(*args: str) -> tuple[subprocess.Popen[str], list[str], threading.Thread]:
    """The console script running in the background, its stdout lines gathered as they come."""
    proc = subprocess.Popen(
        [str(BRIEFQA), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        lines.extend(proc.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return proc, lines, reader


@pytest.fixture
def brief_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(CORPUS, folder)
    return folder


@pytest.mark.slow
def test_unknown_model_is_named_without_a_traceback(tmp_path: Path) -> None:
    code, out, err = run_cli(
        "index", "--corpus", str(CORPUS), BRIEFQA_MODEL="no-such-model-xyz", BRIEFQA_INDEX=str(tmp_path / "index")
    )
    assert code != 0
    assert "'no-such-model-xyz'" in err and "BRIEFQA_MODEL" in err
    assert "Traceback" not in err + out
    assert LocalStore(tmp_path / "index").current_version() is None


@pytest.mark.slow
def test_model_mismatch_rebuilds_all_and_broken_source_is_named(brief_corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    build_index(brief_corpus, root, CountingEmbedder())  # an index of another model
    (brief_corpus / "notes").mkdir()
    (brief_corpus / "notes" / "broken.md").write_text("---\ntitle: [unclosed\n---\nText.\n")

    began = time.monotonic()
    code, out, err = run_cli("index", "--corpus", str(brief_corpus), "--index", str(root), stderr_tty=True)
    waited = time.monotonic() - began

    assert code == 1, out + err
    # The time reported is the time the user waited, the model's load included (not the build's alone).
    took = re.search(r"chunks in ([0-9.]+)s \(([0-9.]+)s of it loading the model\)", out)
    assert took, out
    assert float(took[2]) > 0 and 0.6 * waited <= float(took[1]) <= waited
    assert "built with model 'fake-embedder', not 'all-MiniLM-L6-v2': re-indexing every source" in out
    assert "failed: notes/broken.md: front matter is not valid YAML" in out
    assert "Traceback" not in out + err
    assert "sources" in err and "%|" in err, "a progress bar on a terminal"
    manifest = LocalStore(root).intact_manifest()
    assert manifest is not None and manifest.model == "all-MiniLM-L6-v2" and manifest.dimension == 384
    assert manifest.sources["us-japan-space-alliance"].error is None
    assert "YAML" in (manifest.sources["notes-broken"].error or "")


def one_error_line(code: int, out: str, err: str) -> str:
    assert code != 0
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("briefqa: error: "), err
    return lines[0]


# Each with a model that does not exist: had the model been loaded first, the error would name it.
NO_MODEL = {"BRIEFQA_MODEL": "no-such-model-xyz"}


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["serve", "--port", "99999"], {}, "--port"),
        (["serve"], {"BRIEFQA_PORT": "abc"}, "BRIEFQA_PORT"),
        (["serve", "--workers", "0"], {}, "--workers"),
        (["serve", "--workers", "2"], {"BRIEFQA_QDRANT": "qdrant-folder"}, "one process at a time"),
        (["serve"], {"BRIEFQA_WORKERS": "many"}, "BRIEFQA_WORKERS"),
        (["ask", "anything"], {"BRIEFQA_PORT": "abc"}, "BRIEFQA_PORT"),
        (["index"], {"BRIEFQA_PORT": "0"}, "BRIEFQA_PORT"),
        (["index", "--index", "{file}"], {}, "is a file, not a folder"),
        (["index", "--index", "{file}/below"], {}, "cannot be written"),
        (["serve", "--index", "/proc/briefqa-index"], {}, "cannot be written"),
        (["index", "--corpus", "{file}"], {}, "--corpus"),
        (["ask", "anything", "--index", "{file}"], {}, "--index"),
        (["eval", "{file}", "--index", "{missing}"], {}, "no index in"),
        (["eval", "{file}", "--articles", "{file}"], {}, "--articles needs a SQuAD v2.0 JSON file"),
        (["eval", "{file}", "--articles", "{squad}", "--withhold", "3"], {}, "--withhold applies to SQuAD files"),
        (["eval", "{squad}", "--articles", "{squad}"], {}, "--articles applies to JSON lines only"),
        (["ask", "\u200b", "--index", "{index}"], {}, "question must not be empty"),
        (["serve", "--host", "no-such-host.invalid", "--port", "8123"], {}, "no-such-host.invalid"),
    ],
)
def test_bad_settings_and_paths_are_one_line_before_the_model_loads(
    tmp_path: Path, args: list[str], env: dict[str, str], named: str
) -> None:
    file = tmp_path / "a-file"
    file.write_text("{}")
    index = tmp_path / "built"
    (index / "versions" / "v1").mkdir(parents=True)
    (index / "versions" / "v1" / "manifest.json").write_text("{}")
    (index / "CURRENT").write_text("v1")
    squad = str(REPO / "eval" / "squad2-sample.json")
    paths = {"file": str(file), "missing": str(tmp_path / "missing"), "index": str(index), "squad": squad}
    line = one_error_line(*run_cli(*(a.format(**paths) for a in args), **{**NO_MODEL, **env}))
    assert named in line
    assert "no-such-model" not in line


def test_a_busy_port_fails_before_the_model_loads() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        line = one_error_line(*run_cli("serve", "--port", str(port), **NO_MODEL))
    assert f"127.0.0.1:{port}" in line and "in use" in line
    assert time.monotonic() - started < 30


def test_help_shows_flags_and_defaults() -> None:
    code, out, _ = run_cli("serve", "--help")
    assert code == 0
    assert "<bool>" not in out
    for flag in ("--host", "--port", "--corpus", "--index"):
        assert flag in out
    assert "8000" in out and "127.0.0.1" in out and "./corpus" in out
    code, out, _ = run_cli("index", "--help")
    assert "--full " in out and "<bool>" not in out
    code, out, _ = run_cli("ask", "--help")
    assert "--base-url" in out and "[default: 5]" in out


@pytest.mark.parametrize("command", ["", "index", "ask", "serve", "eval"])
def test_help_is_plain_text_with_conventional_usage(command: str) -> None:
    code, out, err = run_cli(*([command] if command else []), "--help")
    assert code == 0, err
    usage = out.splitlines()[0]
    assert usage.startswith("Usage: briefqa"), usage
    # Markup a reader would see as typed: reST literals, and typer's braces around an argument.
    for typed in ("``", "{", "}", "[bold", "[/"):
        assert typed not in out, (typed, out)
    if command in ("ask", "eval"):
        assert usage.endswith({"ask": " QUESTION", "eval": " FILE"}[command]), usage


@pytest.mark.slow
def test_ask_prints_full_links(brief_index: Path) -> None:
    code, out, err = run_cli(
        "ask",
        "How many satellites does the United States operate?",
        "--k",
        "2",
        "--index",
        str(brief_index),
        "--base-url",
        "http://briefs.example:9000/",
    )
    assert code == 0, err
    assert "http://briefs.example:9000/sources/us-japan-space-alliance?hl=" in out
    code, out, err = run_cli(
        "ask",
        "How many satellites does the United States operate?",
        "--k",
        "1",
        "--index",
        str(brief_index),
        BRIEFQA_PORT="8123",
    )
    assert "http://127.0.0.1:8123/sources/" in out


@pytest.mark.slow
def test_ask_json_prints_a_search_response_with_each_answer_span(brief_index: Path) -> None:
    code, out, err = run_cli("ask", "How many satellites does the United States operate?", "--k", "2", "--json",
                             "--index", str(brief_index))  # fmt: skip
    assert code == 0, err
    results = json.loads(out)["results"]
    assert len(results) == 2
    for r in results:  # the contract's span, or null where none is marked
        span = r["answer"]
        assert span is None or r["quote"][span["start"] - r["start"] : span["end"] - r["start"]] == span["text"]


@pytest.mark.slow
def test_ask_says_why_it_does_not_answer(brief_index: Path) -> None:
    from briefqa.answers.notices import NOT_ENGLISH, NOTHING_SEARCHABLE

    code, out, err = run_cli("ask", "🚀", "--index", str(brief_index))
    assert code == 0, err
    assert out.strip() == f"The sources do not answer this. {NOTHING_SEARCHABLE}"
    code, out, err = run_cli("ask", "Warum beherbergt Japan amerikanische Nutzlasten?", "--index", str(brief_index))
    assert out.startswith(f"The sources do not answer this. {NOT_ENGLISH}\nClosest passages, not an answer:")


@pytest.mark.slow
def test_eval_lines_have_a_legend_and_the_question(brief_index: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"id": "x1", "question": "Who won the 2024 World Series?", "evidence": [], "type": "unanswerable"}\n'
        '{"id": "x2", "question": "What colour is the moon base?", "evidence": ["no such words here"],'
        ' "type": "factoid"}\n'
    )
    code, out, err = run_cli("eval", str(questions), "--index", str(brief_index))
    assert "first_hit: rank of the first quote holding the evidence" in out
    assert "x2 (factoid): answered=" in out and "What colour is the moon base?" in out
    # x2's evidence is in no source: hit@1 is missed, and CI must see it.
    assert "MISSED" in out
    assert code == 1, err
    code, out, err = run_cli("eval", str(questions), "--index", str(brief_index), "--json")
    assert code == 1, err
    assert json.loads(out)["metrics"]["hit@1"] == 0.0


@pytest.mark.slow
def test_eval_exits_0_when_every_target_is_met(brief_index: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        (REPO / "eval" / "brief_qa_dev.jsonl").read_text().splitlines()[0] + "\n"
        '{"id": "x1", "question": "Who won the 2024 World Series?", "evidence": [], "type": "unanswerable"}\n'
    )
    code, out, err = run_cli("eval", str(questions), "--index", str(brief_index), "--corpus", str(CORPUS))
    assert "MISSED" not in out, out
    assert code == 0, err


@pytest.mark.slow
def test_serve_with_a_missing_corpus_serves_the_index_and_says_why(brief_index: Path, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [str(BRIEFQA), "serve", "--corpus", str(tmp_path / "gone"), "--index", str(brief_index), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert httpx.head(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert f"corpus folder {tmp_path / 'gone'} does not exist; serving the index as it is" in err
    assert "stale" not in out + err
    assert "faiss.loader" not in err and "AVX512" not in err


@pytest.mark.slow
def test_watching_cli_publishes_what_a_running_server_picks_up_without_a_failed_request(
    brief_index: Path,
    embedder,
    brief_corpus: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    root = tmp_path / "index"
    shutil.copytree(brief_index, root)
    live = LiveIndex(brief_corpus, root, embedder)
    live.refresh()
    before = LocalStore(root).current_version()
    app = create_app(Settings(corpus=brief_corpus, index=root), live)
    watcher, lines, reader = start_cli("index", "--corpus", str(brief_corpus), "--index", str(root), "--watch")
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
            while LocalStore(root).current_version() == before:  # the watcher rebuilds while readers ask
                assert time.monotonic() < deadline, lines
                ask()
            published = time.monotonic()
            while "lunar" not in ask():
                assert time.monotonic() - published < 3, "the server did not pick up the CLI's version"
                time.sleep(0.05)
            assert client.get("/healthz").json()["index_version"] == LocalStore(root).current_version()
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=30)
        reader.join(timeout=5)
    assert set(statuses) == {200}
    assert watcher.returncode == 0
    assert "added: lunar\n" in lines and "stopped watching\n" in lines


@pytest.mark.slow
def test_serve_says_where_it_listens_once_ready_and_ask_links_there(brief_corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    port = free_port()  # not the default 8000: `ask` must find the real one
    proc, lines, reader = start_cli("serve", "--corpus", str(brief_corpus), "--index", str(root), "--port", str(port))
    question = "What share of the world's active satellites does the United States operate?"
    try:
        deadline = time.monotonic() + 300
        while not any(line.startswith("briefqa: serving") for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            time.sleep(0.1)
        # Ready means ready: the address it prints answers at once.
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        code, out, err = run_cli("ask", question, "--k", "1", "--index", str(root))
        assert code == 0, err
        link = re.search(r"(http://\S+/sources/\S+)", out)
        assert link and link[1].startswith(f"http://127.0.0.1:{port}/sources/"), out
        page = httpx.get(link[1], timeout=10)
        assert page.status_code == 200 and '<mark id="q">' in page.text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(timeout=5)
    version = LocalStore(root).current_version()
    summary = next(i for i, line in enumerate(lines) if line.startswith(f"index {version}:"))
    serving = next(i for i, line in enumerate(lines) if line.startswith("briefqa: serving"))
    assert summary < serving, "the address comes after the build summary"
    assert lines[serving].strip() == f"briefqa: serving http://127.0.0.1:{port}/ (index {version}, 1 source)"
    # Once the server has stopped, links go where the settings say again.
    assert not (root / "serving.json").exists()
    code, out, _ = run_cli("ask", question, "--k", "1", "--index", str(root), BRIEFQA_PORT="8123")
    assert "http://127.0.0.1:8123/sources/" in out


@pytest.mark.slow
def test_serve_with_two_workers_answers_a_rebuild_from_every_worker_at_once(brief_corpus: Path, tmp_path: Path) -> None:
    root = tmp_path / "index"
    port = free_port()
    proc = subprocess.Popen(
        [str(BRIEFQA), "serve", "--corpus", str(brief_corpus), "--index", str(root), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BRIEFQA_WORKERS": "2", "BRIEFQA_ADMIN_TOKEN": "s3cret"},
        preexec_fn=_interruptible,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while not any(line.startswith("briefqa: serving") for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            time.sleep(0.1)
        serving = next(line for line in lines if line.startswith("briefqa: serving"))
        assert serving.startswith(f"briefqa: serving {url}/ with 2 workers (index ")
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        # Beside the workers, multiprocessing runs a resource tracker.
        workers = [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(workers) == 2, children
        before = httpx.get(f"{url}/healthz", timeout=10).json()["index_version"]

        (brief_corpus / "lunar.md").write_text(
            "# Lunar gateway\n\nThe lunar gateway will orbit the Moon from 2028 onward.\n", encoding="utf-8"
        )
        rebuilt = httpx.post(f"{url}/api/index/rebuild", headers={"Authorization": "Bearer s3cret"}, timeout=300).json()
        assert rebuilt["added"] == ["lunar"]
        # A fresh connection each time, so the kernel hands requests to both workers: every one of
        # them, from the first, answers from the rebuilt version.
        versions = {httpx.get(f"{url}/healthz", timeout=60).json()["index_version"] for _ in range(16)}
        assert len(versions) == 1 and before not in versions
        found = httpx.get(f"{url}/api/search", params={"q": "When will the lunar gateway orbit the Moon?"}, timeout=60)
        assert found.json()["results"][0]["source"]["id"] == "lunar"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=5)
    assert proc.returncode == 0
    assert not (root / "serving.json").exists()


def test_the_default_index_folder_of_a_fresh_clone_is_no_index_yet(tmp_path: Path) -> None:
    from briefqa.index.build.pipeline import is_stale

    # As a fresh clone has it: the folder, holding only its committed README (the checkout's own
    # index/ may hold a built index beside it).
    index = tmp_path / "index"
    index.mkdir()
    shutil.copy(REPO / "index" / "README.md", index / "README.md")
    line = one_error_line(*run_cli("ask", "anything", "--index", str(index), **NO_MODEL))
    assert "no index in" in line and "briefqa index" in line
    assert is_stale(CORPUS, index, CountingEmbedder.name)
    live = LiveIndex(CORPUS, index, CountingEmbedder())
    assert not live.refresh() and not live.ready and live.load_error is None  # missing, not damaged
    report = build_index(CORPUS, index, CountingEmbedder())
    assert report.documents >= 1 and not report.errors
    assert (index / "README.md").read_text() == (REPO / "index" / "README.md").read_text()
    assert not is_stale(CORPUS, index, CountingEmbedder.name)
    assert live.refresh() and live.ready
