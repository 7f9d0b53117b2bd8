"""Data flows one way: a module imports only what stands to its left (plus shared records)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "briefqa"

# Each step, and the steps it may import. records, errors and settings are open to all.
ALLOWED: dict[str, set[str]] = {
    "ingest": set(),
    "segment": set(),
    "lexical": set(),
    "embed": set(),
    "integrity": set(),
    "versions": {"integrity"},
    "index_format": {"lexical"},
    "caches": {"index_format"},
    "store": {"caches", "index_format", "integrity", "lexical", "versions"},
    "retrieve": {"store"},
    "answer_types": set(),
    "quotes": {"lexical", "retrieve", "segment", "store"},
    "abstain": {"answer_types", "lexical", "quotes", "retrieve"},
    "conversation": {"lexical"},
    "searcher": {"abstain", "conversation", "embed", "lexical", "quotes", "retrieve", "store"},
    "probes": {"answer_types", "lexical", "store"},
    "calibrate": {"abstain", "embed", "probes", "searcher", "store"},
}
SHARED = {"records", "errors", "settings"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_core_steps_import_only_leftwards() -> None:
    for name, allowed in ALLOWED.items():
        used = _imports(PACKAGE / f"{name}.py") - SHARED
        assert used <= allowed, f"{name} imports {sorted(used - allowed)}"


def test_the_web_layer_never_scores() -> None:
    for path in (PACKAGE / "api").glob("*.py"):
        used = _imports(path)
        assert not used & {"quotes", "retrieve", "abstain", "lexical", "store", "probes"}, path.name
