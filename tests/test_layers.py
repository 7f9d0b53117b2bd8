"""Data flows one way: sources -> index -> answers -> evaluation -> api, then the CLI.

A stage imports only the stages before it and the shared modules; inside a stage, each module
imports only what stands to its left. The import graph is read with ``ast``, so moving a module or
adding an import against the flow fails here.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "briefqa"
TESTS = Path(__file__).resolve().parent

# The stages, in the order data flows. Each may import the stages before it.
STAGES = ["sources", "index", "answers", "evaluation", "api"]
# What every stage shares: records, errors, settings and the embedder (the index builds with it,
# the answers stage encodes questions with it). The CLI, its terminal output and the package's
# entry point sit at the edge and may import anything.
SHARED = {"records", "errors", "settings", "embed"}
EDGE = {"cli", "terminal", "__init__"}
MAX_TOP_LEVEL = 8

# Inside each stage: each module and the modules of its own stage it may import (read top to bottom).
WITHIN: dict[str, dict[str, set[str]]] = {
    "sources": {
        "ingest": set(),
        "long_sentences": set(),
        "segment": {"long_sentences"},
    },
    "index": {
        "lexical": set(),
        "integrity": set(),
        "segment_file": set(),
        "piece_codec": set(),
        "segments": {"piece_codec", "segment_file"},
        "token_store": {"piece_codec", "segment_file"},
        "vector_search": {"lexical", "token_store"},
        "versions": {"integrity"},
        "manifest": {"segments"},
        "index_version": {"lexical", "manifest", "token_store", "vector_search"},
        "index_format": {
            "index_version",
            "lexical",
            "manifest",
            "piece_codec",
            "segments",
            "token_store",
            "vector_search",
        },
        "caches": {"index_format"},
        "store": {"caches", "index_format", "integrity", "manifest", "segments", "versions"},
        # A version in Qdrant (its collections), then the Qdrant store (aliases, publishing).
        "qdrant_version": {"index_format", "index_version", "lexical", "manifest", "token_store", "vector_search"},
        "qdrant_store": {"lexical", "manifest", "qdrant_version", "store", "versions"},
        # The one interface to a store, and the choice between the local folder and Qdrant.
        "stores": {"lexical", "manifest", "qdrant_store", "store"},
        "embed_batches": {"lexical", "piece_codec", "segments", "store"},
        # The wiring of a build: it puts the steps together and holds no algorithm of its own.
        "build": {"embed_batches", "lexical", "piece_codec", "segments", "store", "stores"},
        "watch": {"build", "stores"},
    },
    "answers": {
        "retrieve": set(),
        "names": set(),
        "answer_types": {"names"},
        "quotes": {"answer_types", "retrieve"},
        "abstain": {"answer_types", "names", "quotes"},
        "conversation": {"names"},
        "notices": {"conversation"},
        "revisions": set(),
        "searcher": {"abstain", "conversation", "notices", "quotes", "retrieve", "revisions"},
        "live": {"revisions", "searcher"},
    },
    "evaluation": {
        "squad": set(),
        # A SQuAD file is scored over a temporary index of its articles, built and loaded here.
        "evaluate": {"squad"},
    },
}
# What the web layer may not touch: it asks the searcher (through live) and shows records.
SCORING = {
    "answers.quotes",
    "answers.retrieve",
    "answers.abstain",
    "answers.answer_types",
    "answers.conversation",
    "index.lexical",
    "index.store",
    "index.token_store",
    "index.segments",
    "index.segment_file",
    "index.index_version",
    "index.index_format",
    "index.manifest",
    "index.vector_search",
    "index.qdrant_version",
    "index.qdrant_store",
}


def _module_name(path: Path) -> str:
    """``index.store`` for ``src/briefqa/index/store.py``; ``records`` for a top-level module."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__") or "__init__"


def _is_module(dotted: str) -> bool:
    return (PACKAGE / (dotted.replace(".", "/") + ".py")).exists()


def _imports(path: Path) -> set[str]:
    """Modules of the package that ``path`` imports, as dotted names relative to ``briefqa``."""
    here = path.relative_to(PACKAGE).parent.parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[: len(here) - (node.level - 1)]) if node.level > 1 else list(here)
            elif node.module and node.module.split(".")[0] == "briefqa":
                base = []
            else:
                continue
            module = node.module or ""
            if not node.level:
                module = module.removeprefix("briefqa").removeprefix(".")
            prefix = ".".join([*base, *([module] if module else [])])
            for alias in node.names:
                candidate = f"{prefix}.{alias.name}" if prefix else alias.name
                found.add(candidate if _is_module(candidate) else prefix)
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("briefqa.") for a in node.names if a.name.startswith("briefqa."))
    found.discard("")
    return found


def _stage(dotted: str) -> str:
    head = dotted.split(".")[0]
    return head if head in STAGES else ""


def test_at_most_eight_modules_stand_at_the_top() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, top
    assert set(top) <= SHARED | EDGE, f"not in a stage: {sorted(set(top) - SHARED - EDGE)}"


def test_every_module_of_a_stage_has_a_place_in_its_flow() -> None:
    for stage, allowed in WITHIN.items():
        modules = {p.stem for p in (PACKAGE / stage).glob("*.py")} - {"__init__"}
        assert modules == set(allowed), (stage, sorted(modules ^ set(allowed)))


def test_every_stage_opens_with_a_docstring_and_has_its_tests() -> None:
    for stage in STAGES:
        doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text()))
        assert doc and len(doc.split()) >= 20, f"{stage}/__init__.py says too little of what it owns"
        assert "never" in doc.lower(), f"{stage}/__init__.py does not say what it must never import"
        assert any((TESTS / stage).glob("test_*.py")), f"no tests/{stage}/"


def test_stages_import_only_the_stages_before_them() -> None:
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        stage = _stage(name)
        if not stage:
            if name in SHARED:
                assert _imports(path) <= SHARED, (name, sorted(_imports(path) - SHARED))
            continue
        earlier = set(STAGES[: STAGES.index(stage) + 1])
        for used in _imports(path):
            assert used in SHARED or _stage(used) in earlier, f"{name} imports {used}, a later stage or the edge"


def test_inside_a_stage_modules_import_only_leftwards() -> None:
    for stage, allowed in WITHIN.items():
        for module, may in allowed.items():
            used = {u.split(".", 1)[1] for u in _imports(PACKAGE / stage / f"{module}.py") if _stage(u) == stage}
            used.discard(stage)
            assert used <= may, f"{stage}.{module} imports {sorted(used - may)}"


def test_the_allowed_imports_run_one_way() -> None:
    """No cycle inside a stage: each module leans only on modules that do not lean back on it."""
    for stage, allowed in WITHIN.items():
        placed: set[str] = set()
        remaining = dict(allowed)
        while remaining:
            ready = [name for name, deps in remaining.items() if deps <= placed]
            assert ready, f"a cycle among {stage}: {sorted(remaining)}"
            placed.update(ready)
            for name in ready:
                del remaining[name]


def test_the_web_layer_never_scores() -> None:
    for path in (PACKAGE / "api").glob("*.py"):
        used = _imports(path)
        assert not used & SCORING, (path.name, sorted(used & SCORING))
        assert not {u for u in used if u == "cli" or _stage(u) == "evaluation" or u == "index.build"}, path.name


def test_the_import_reader_sees_each_form() -> None:
    """The reader above must resolve every import form the package uses, or the rules check nothing."""
    assert {"index.caches", "errors", "index.integrity"} <= _imports(PACKAGE / "index" / "store.py")
    assert "answers.live" in _imports(PACKAGE / "api" / "deps.py")
    assert "answers.searcher" in _imports(PACKAGE / "__init__.py") or "answers.searcher" in _imports(PACKAGE / "cli.py")


def test_the_package_never_imports_its_training_scripts() -> None:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            )
            assert not any(n.split(".")[0] == "training" for n in names), path
