"""Data flows one way: a module imports only what stands to its left (plus shared records)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "briefqa"

# Each module of the package, and the modules it may import. records, errors and settings are open
# to all. Read top to bottom: corpus -> ingest -> segment -> embed -> index store -> retrieve ->
# quotes -> abstain -> searcher, then the wiring (build, live, watch, evaluate) and the CLI.
ALLOWED: dict[str, set[str]] = {
    "ingest": set(),
    "long_sentences": set(),
    "segment": {"long_sentences"},
    "lexical": set(),
    "embed": set(),
    "squad": set(),
    "integrity": set(),
    "token_store": set(),
    "versions": {"integrity"},
    "manifest": set(),
    "index_version": {"lexical", "manifest", "token_store"},
    "index_format": {"index_version", "lexical", "manifest", "token_store"},
    "caches": {"index_format"},
    "store": {"caches", "index_format", "integrity", "manifest", "token_store", "versions"},
    "embed_batches": {"embed", "ingest", "segment", "store", "token_store"},
    "retrieve": {"store"},
    "answer_types": set(),
    "quotes": {"answer_types", "lexical", "retrieve", "store", "token_store"},
    "abstain": {"answer_types", "lexical", "quotes"},
    "conversation": {"lexical"},
    "searcher": {"abstain", "conversation", "embed", "lexical", "quotes", "retrieve", "store"},
    # The wiring: it puts the steps together and holds no algorithm of its own.
    "build": {"embed", "embed_batches", "ingest", "lexical", "segment", "store", "token_store"},
    "live": {"build", "embed", "searcher", "store"},
    "watch": {"build", "embed", "ingest"},
    # A SQuAD file is scored over a temporary index of its articles, built and loaded here.
    "evaluate": {"build", "embed", "searcher", "squad", "store"},
    "terminal": set(),
    "cli": {"api", "build", "embed", "evaluate", "live", "searcher", "squad", "store", "terminal", "watch"},
}
SHARED = {"records", "errors", "settings"}
# What the web layer may not touch: it asks the searcher (through live) and shows records.
SCORING = {
    "quotes",
    "retrieve",
    "abstain",
    "answer_types",
    "lexical",
    "store",
    "token_store",
    "conversation",
    "index_version",
    "index_format",
    "manifest",
}


def _imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports (relative or as ``briefqa.x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "briefqa":
            parts = node.module.split(".")
            found.update([parts[1]] if len(parts) > 1 else [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("briefqa."))
    return found


def test_every_module_has_a_place_in_the_flow() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")} - SHARED - {"__init__"}
    assert modules == set(ALLOWED), (
        f"not placed: {sorted(modules - set(ALLOWED))}; gone: {sorted(set(ALLOWED) - modules)}"
    )


def test_core_steps_import_only_leftwards() -> None:
    for name, allowed in ALLOWED.items():
        used = _imports(PACKAGE / f"{name}.py") - SHARED
        assert used <= allowed, f"{name} imports {sorted(used - allowed)}"


def test_the_allowed_imports_run_one_way() -> None:
    """No cycle: each module may only lean on modules that do not lean back on it."""
    placed: set[str] = set()
    remaining = dict(ALLOWED)
    while remaining:
        ready = [name for name, deps in remaining.items() if deps - {"api"} <= placed]
        assert ready, f"a cycle among {sorted(remaining)}"
        placed.update(ready)
        for name in ready:
            del remaining[name]


def test_the_web_layer_never_scores() -> None:
    for path in (PACKAGE / "api").glob("*.py"):
        used = _imports(path)
        assert not used & SCORING, (path.name, sorted(used & SCORING))
        assert not used & {"cli", "build", "evaluate"}, path.name


def test_the_package_never_imports_its_training_scripts() -> None:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            )
            assert not any(n.split(".")[0] == "training" for n in names), path
