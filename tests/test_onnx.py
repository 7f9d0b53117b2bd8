"""The model on ONNX Runtime: the same vectors as sentence-transformers, and serving that never loads torch."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from briefqa.embed import OnnxEmbedder, SentenceTransformerEmbedder, resolve_model
from briefqa.embed.model_folder import content_print, read_spec, stat_print
from briefqa.embed.onnx_cache import FORMAT, cache_folder, valid_record
from briefqa.settings import DEFAULT_MODEL

from .conftest import CORPUS, free_port

BRIEFQA = Path(sys.executable).parent / "briefqa"
MODEL = Path(resolve_model(DEFAULT_MODEL))
# Texts of very different lengths in one batch, so that every short one is padded; phrasings of
# no brief in the corpus, one of them past the model's 256 word pieces.
BATCH = [
    "Why do cats purr?",
    "Ok",
    "The bridge across the estuary, finished in 1998 after six years of work, carries four lanes and a railway.",
    "   Spaces before and after   ",
    "Der schnelle braune Fuchs springt über den faulen Hund; naïve café owners say “bonjour”.",
    " ".join(f"Clause {n} of the long contract restates the obligations of both parties once more." for n in range(40)),
    "What is 12.5% of 3,400 kg?",
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


@pytest.fixture(scope="module")
def torch_embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(DEFAULT_MODEL)


@pytest.mark.slow
def test_the_shipped_model_runs_on_onnx_runtime(embedder) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(embedder, OnnxEmbedder)
    assert (embedder.dimension, embedder.max_tokens) == (384, 256)


@pytest.mark.slow
def test_onnx_gives_sentence_transformers_vectors_on_padded_batches(embedder, torch_embedder) -> None:  # type: ignore[no-untyped-def]
    assert embedder.pieces() == torch_embedder.pieces()
    assert embedder.count_tokens(BATCH) == torch_embedder.count_tokens(BATCH)
    assert embedder.count_tokens(BATCH)[5] > 256  # the long one is cut at the model's length
    assert cosines(embedder.encode(BATCH), torch_embedder.encode(BATCH)).min() >= 0.9999
    onnx = embedder.encode_full(BATCH, spans=True)
    torch = torch_embedder.encode_full(BATCH, spans=True)
    assert cosines(onnx.vectors, torch.vectors).min() >= 0.9999
    for i in range(len(BATCH)):
        # The same word pieces at the same characters, each piece's vector as torch's.
        assert np.array_equal(onnx.ids[i], torch.ids[i]), BATCH[i]
        assert np.array_equal(onnx.spans[i], torch.spans[i]), BATCH[i]  # type: ignore[index]
        assert len(onnx.tokens[i]) == len(torch.tokens[i]) > 0
        assert cosines(onnx.tokens[i], torch.tokens[i]).min() >= 0.9999, BATCH[i]
        assert cosines(onnx.raw[i], torch.raw[i]).min() >= 0.9999, BATCH[i]  # type: ignore[index]
    stretches = [(0, 20), (30, 60)]
    assert cosines(onnx.pooled(2, stretches), torch.pooled(2, stretches)).min() >= 0.9999
    # One text alone (no padding at all) gives what it gives in the padded batch.
    alone = embedder.encode_full([BATCH[1]])
    assert float(alone.vectors[0] @ onnx.vectors[1]) >= 0.9999


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\0" * 64)
    (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}')
    return folder


def _record_for(folder: Path, where: Path) -> None:
    where.mkdir(parents=True)
    (where / "model.onnx").write_bytes(b"graph")
    record = {"format": FORMAT, "folder": str(folder), "content": content_print(folder), "files": stat_print(folder)}
    (where / "export.json").write_text(json.dumps({**record, "onnx_bytes": 5, "dimension": 4}))


def test_the_onnx_file_is_kept_while_the_weights_are_the_same_bytes(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    where = cache_folder(tmp_path / "cache", folder)
    _record_for(folder, where)
    assert valid_record(where, folder) is not None
    # Copied or reinstalled: new times, the same bytes.
    os.utime(folder / "weights.bin", ns=(1, 1))
    assert valid_record(where, folder) is not None
    assert json.loads((where / "export.json").read_text())["files"] == stat_print(folder)


def test_other_weights_or_a_cut_onnx_file_make_the_export_again(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    where = cache_folder(tmp_path / "cache", folder)
    _record_for(folder, where)
    (folder / "weights.bin").write_bytes(b"\1" * 64)  # same size, other bytes
    os.utime(folder / "weights.bin", ns=(1, 1))
    assert valid_record(where, folder) is None
    _record_for(folder, tmp_path / "again")
    (tmp_path / "again" / "model.onnx").write_bytes(b"gra")
    assert valid_record(tmp_path / "again", folder) is None


def test_the_model_folder_says_how_it_pools_and_how_long_it_reads(tmp_path: Path) -> None:
    spec, why = read_spec(MODEL)
    assert spec is not None, why
    assert (spec.pooling, spec.normalize, spec.max_tokens, spec.lowercase) == ("mean", True, 256, False)
    # A module the ONNX encoder does not run leaves the model to sentence-transformers.
    other = tmp_path / "dense"
    shutil.copytree(MODEL, other, ignore=shutil.ignore_patterns("*.safetensors"))
    modules = json.loads((other / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (other / "modules.json").write_text(json.dumps(modules))
    spec, why = read_spec(other)
    assert spec is None and "Dense" in why


def _maps_torch(pid: int) -> bool:
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.slow
def test_briefqa_ask_never_imports_torch(brief_index: Path) -> None:
    script = (
        "import sys\nfrom briefqa.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('loaded:', sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    question = "How many moons does Jupiter have?"
    done = subprocess.run(
        [sys.executable, "-c", script, "ask", question, "--k", "1", "--index", str(brief_index)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("loaded: []"), done.stdout


@pytest.mark.slow
def test_serve_makes_the_onnx_file_once_and_never_maps_torch(tmp_path: Path, torch_embedder) -> None:  # type: ignore[no-untyped-def]
    from briefqa.answers.searcher import open_searcher

    corpus, root, cache = tmp_path / "corpus", tmp_path / "index", tmp_path / "onnx"
    shutil.copytree(CORPUS, corpus)
    port = free_port()
    proc = subprocess.Popen(
        [str(BRIEFQA), "serve", "--corpus", str(corpus), "--index", str(root), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "BRIEFQA_ONNX_CACHE": str(cache)},
    )
    question = "What share of the world's active satellites does the United States operate?"
    try:
        deadline = time.monotonic() + 400
        while True:
            assert time.monotonic() < deadline and proc.poll() is None, "serve did not start"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        # Built and serving on the file it made, in a process that never loaded torch.
        assert (cache_folder(cache, MODEL) / "model.onnx").is_file()
        assert not _maps_torch(proc.pid)
        got = httpx.get(f"http://127.0.0.1:{port}/api/search", params={"q": question, "k": 3}, timeout=30).json()
        assert not _maps_torch(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    # The same answer as sentence-transformers on torch gives over the index the server built.
    expected = open_searcher(root, torch_embedder).search(question, (), 3)
    assert got["answered"] == expected.answered
    assert [r["quote"] for r in got["results"]] == [q.quote for q in expected.results]
    assert [r["source"]["url"] for r in got["results"]] == [q.url for q in expected.results]
