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
# What every stage shares: records, errors, settings, the embedder (the index builds with it,
# the answers stage encodes questions with it), the word tokenizer (BM25 cuts passages into
# terms with it, the answers cut questions the same way) and the reader (the answers read
# candidates with it; training fits it). The CLI package (its commands, serving, reports and
# terminal output) and the package's entry point sit at the edge and may import anything.
SHARED = {"records", "errors", "settings", "embed", "terms", "reader"}
EDGE = {"__init__"}
EDGE_PACKAGES = {"cli"}
MAX_TOP_LEVEL = 8
# A shared module that grew into a package: its modules, each with those of the package it may import.
SHARED_PACKAGES: dict[str, dict[str, set[str]]] = {
    "embed": {
        "encoded": set(),
        "model_folder": set(),
        "word_table": set(),
        "torch_encoder": {"encoded", "model_folder"},
        "onnx_encoder": {"encoded", "model_folder", "word_table"},
        # The cache only launches the export by its name, in a child process: it never imports it.
        "onnx_cache": {"model_folder", "word_table"},
        "onnx_export": {"model_folder", "onnx_cache", "onnx_encoder", "torch_encoder"},
        "coalescing": {"encoded"},
        "loading": {"coalescing", "encoded", "model_folder", "onnx_cache", "onnx_encoder", "torch_encoder"},
    },
    "reader": {
        "pairs": set(),
        "onnx_reader": {"pairs"},
        "loading": {"onnx_reader"},
        # torch: imported only by the export (a child process) and by training.
        "network": set(),
        "export": {"loading", "network", "onnx_reader", "pairs"},
    },
}

# Inside each stage: each module and the modules of its own stage it may import (read top to bottom).
WITHIN: dict[str, dict[str, set[str]]] = {
    "sources": {
        # Each format's parser hands back a ParsedSource; ingest finds the files and dispatches.
        "source_fields": set(),
        "library_noise": set(),
        "plain_text": {"source_fields"},
        "html_pages": {"source_fields"},
        "pdf_text": {"source_fields"},
        "ingest": {"html_pages", "library_noise", "pdf_text", "plain_text", "source_fields"},
        "long_sentences": set(),
        "segment": {"long_sentences"},
    },
    "index": {
        # The records and format every part shares, directly in index/.
        "lexical": set(),
        "manifest": set(),
        # The segment store: file format, codecs, word pieces, then the store that uses them.
        "segments.file": set(),
        "segments.codec": set(),
        "segments.pieces": {"segments.codec", "segments.file"},
        "segments.store": {"manifest", "segments.codec", "segments.file", "segments.pieces"},
        # What a loaded version searches with, and the read-only version itself.
        "vector_search": {"segments.pieces"},
        "loaded_version": {"lexical", "manifest", "segments.pieces", "vector_search"},
        # The one store interface; each backend supplies only its storage, never another's.
        "backends.interface": {"lexical", "loaded_version", "manifest"},
        "backends.local.integrity": set(),
        "backends.local.folder": {"backends.interface", "backends.local.integrity"},
        "backends.local.vectors": {"lexical", "segments.pieces", "vector_search"},
        "backends.local.files": {
            "backends.local.vectors",
            "lexical",
            "loaded_version",
            "manifest",
            "segments.file",
            "segments.store",
            "vector_search",
        },
        "backends.local.store": {
            "backends.interface",
            "backends.local.files",
            "backends.local.folder",
            "backends.local.integrity",
            "lexical",
            "loaded_version",
            "manifest",
            "segments.store",
        },
        "backends.qdrant.client": set(),
        "backends.qdrant.schema": {"backends.qdrant.client"},
        "backends.qdrant.search": {
            "backends.interface",
            "backends.qdrant.client",
            "backends.qdrant.schema",
            "segments.pieces",
            "vector_search",
        },
        "backends.qdrant.read": {
            "backends.qdrant.client",
            "backends.qdrant.schema",
            "backends.qdrant.search",
            "lexical",
            "loaded_version",
            "manifest",
            "segments.pieces",
        },
        "backends.qdrant.write": {
            "backends.qdrant.client",
            "backends.qdrant.schema",
            "lexical",
            "manifest",
            "segments.store",
        },
        # The deployment's build lease, one point in Qdrant: it knows only the client and the names.
        "backends.qdrant.lock": {"backends.qdrant.client", "backends.qdrant.schema"},
        "backends.qdrant.store": {
            "backends.interface",
            "backends.qdrant.client",
            "backends.qdrant.lock",
            "backends.qdrant.read",
            "backends.qdrant.schema",
            "backends.qdrant.write",
            "lexical",
            "loaded_version",
            "manifest",
        },
        # Which backend a setting names: the one module that knows both.
        "backends.choose": {"backends.interface", "backends.local.store", "backends.qdrant.store"},
        # The build: it talks to a backend only through the interface (``choose`` turns a folder
        # into the local store), and holds no algorithm of its own in ``pipeline``.
        "build.partial": {"segments.file"},
        "build.embedding": {"build.partial", "loaded_version", "manifest", "segments.codec", "segments.store"},
        "build.pipeline": {
            "backends.choose",
            "backends.interface",
            "build.embedding",
            "build.partial",
            "lexical",
            "manifest",
            "segments.codec",
            "segments.store",
        },
        "build.watch": {"backends.choose", "backends.interface", "build.embedding", "build.pipeline"},
    },
    "answers": {
        "questions": set(),
        "retrieve": set(),
        "names": set(),
        "answer_types": {"names"},
        "quotes": {"answer_types", "retrieve"},
        "abstain": {"answer_types", "names", "quotes"},
        "conversation": {"names"},
        "followups": {"questions", "quotes"},
        "notices": {"conversation"},
        "revisions": set(),
        # The stages after ranking: the reader reorders the first candidates, then the decision.
        "read": {"quotes"},
        "decide": {"read"},
        # The wiring of an answer: it puts the steps together and holds no policy of its own.
        "searcher": {
            "abstain",
            "conversation",
            "decide",
            "followups",
            "notices",
            "questions",
            "quotes",
            "read",
            "retrieve",
            "revisions",
        },
        "live": {"revisions", "searcher"},
    },
    "evaluation": {
        "squad": set(),
        "answer_spans": set(),
        # A SQuAD file is scored over a temporary index of its articles, built and loaded here.
        "evaluate": {"answer_spans", "squad"},
    },
}
# What the web layer may not touch: it asks the searcher (through live) and shows records. Of the
# index it may only open a store (``backends.choose``, ``backends.interface``): no build, no
# backend's own modules, nothing that reads or scores a version.
SCORING_ANSWERS = {
    "answers.quotes",
    "answers.retrieve",
    "answers.abstain",
    "answers.answer_types",
    "answers.conversation",
}
STORE_OPENERS = {"backends.choose", "backends.interface"}
SCORING = SCORING_ANSWERS | {f"index.{m}" for m in WITHIN["index"] if m not in STORE_OPENERS}
# Done-when limits of the package's shape (issue 25).
MAX_DIRECTLY_IN_INDEX = 6
MAX_LINES = 400


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
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    allowed = set(STAGES) | EDGE_PACKAGES | set(SHARED_PACKAGES)
    assert packages <= allowed, sorted(packages - allowed)


def _in_stage(stage: str, path: Path) -> str:
    """``backends.local.store`` for ``index/backends/local/store.py``: a module's name in its stage."""
    return ".".join(path.relative_to(PACKAGE / stage).with_suffix("").parts)


def test_every_module_of_a_stage_has_a_place_in_its_flow() -> None:
    for stage, allowed in WITHIN.items():
        modules = {_in_stage(stage, p) for p in (PACKAGE / stage).rglob("*.py") if p.name != "__init__.py"}
        assert modules == set(allowed), (stage, sorted(modules ^ set(allowed)))
    for package, allowed in SHARED_PACKAGES.items():
        modules = {p.stem for p in (PACKAGE / package).glob("*.py")} - {"__init__"}
        assert modules == set(allowed), (package, sorted(modules ^ set(allowed)))


def test_a_shared_package_imports_only_leftwards_and_the_other_shared_modules() -> None:
    for package, allowed in SHARED_PACKAGES.items():
        assert ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text())), package
        for module, may in allowed.items():
            used = _imports(PACKAGE / package / f"{module}.py")
            inside = {u.split(".", 1)[1] for u in used if _head(u) == package and "." in u}
            assert inside <= may, f"{package}.{module} imports {sorted(inside - may)}"
            assert {_head(u) for u in used} <= SHARED, f"{package}.{module} imports {sorted(used)}"


def test_every_stage_and_sub_package_opens_with_a_docstring_and_has_its_tests() -> None:
    for stage in STAGES:
        for init in sorted((PACKAGE / stage).rglob("__init__.py")):
            where = init.relative_to(PACKAGE)
            doc = ast.get_docstring(ast.parse(init.read_text()))
            assert doc and len(doc.split()) >= 20, f"{where} says too little of what it owns"
            assert "never" in doc.lower(), f"{where} does not say what it must never import"
            tests = TESTS / init.parent.relative_to(PACKAGE)
            assert any(tests.glob("test_*.py")), f"no tests/{init.parent.relative_to(PACKAGE)}/"


def _head(dotted: str) -> str:
    return dotted.split(".")[0]


def test_stages_import_only_the_stages_before_them() -> None:
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        stage = _stage(name)
        if not stage:
            if _head(name) in SHARED:
                outside = {u for u in _imports(path) if _head(u) not in SHARED}
                assert not outside, (name, sorted(outside))
            continue
        earlier = set(STAGES[: STAGES.index(stage) + 1])
        for used in _imports(path):
            assert used in SHARED or _stage(used) in earlier, f"{name} imports {used}, a later stage or the edge"


def test_inside_a_stage_modules_import_only_leftwards() -> None:
    for stage, allowed in WITHIN.items():
        for module, may in allowed.items():
            path = PACKAGE / stage / (module.replace(".", "/") + ".py")
            used = {u.split(".", 1)[1] for u in _imports(path) if _stage(u) == stage}
            used.discard(stage)
            assert used <= may, f"{stage}.{module} imports {sorted(used - may)}"


def test_the_allowed_imports_run_one_way() -> None:
    """No cycle inside a stage: each module leans only on modules that do not lean back on it."""
    for stage, allowed in {**WITHIN, **SHARED_PACKAGES}.items():
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
        assert not {u for u in used if u.split(".")[0] in EDGE_PACKAGES or _stage(u) == "evaluation"}, path.name
        assert not {u for u in used if u.startswith("index.build")}, path.name


def test_the_import_reader_sees_each_form() -> None:
    """The reader above must resolve every import form the package uses, or the rules check nothing."""
    local = PACKAGE / "index" / "backends" / "local" / "store.py"
    assert {"index.backends.local.integrity", "errors", "index.segments.store"} <= _imports(local)
    assert "index.segments.store" in _imports(PACKAGE / "index" / "build" / "pipeline.py")
    assert "answers.live" in _imports(PACKAGE / "api" / "deps.py")
    assert "answers.searcher" in _imports(PACKAGE / "__init__.py")
    assert {"cli.arguments", "cli.reports", "answers.searcher"} <= _imports(PACKAGE / "cli" / "commands.py")


def _top_packages(path: Path) -> set[str]:
    """The top-level packages ``path`` imports by absolute name (``qdrant_client`` for ``from
    qdrant_client.models import X``), wherever in the module the import stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add((node.module or "").split(".")[0])
    return found


def test_the_package_never_imports_its_training_scripts() -> None:
    for path in PACKAGE.rglob("*.py"):
        assert "training" not in _top_packages(path), path


def test_only_the_qdrant_backend_imports_its_client() -> None:
    qdrant = PACKAGE / "index" / "backends" / "qdrant"
    for path in PACKAGE.rglob("*.py"):
        if "qdrant_client" in _top_packages(path):
            assert path.is_relative_to(qdrant), f"{path.relative_to(PACKAGE)} imports qdrant_client"


def test_the_index_shows_its_jobs() -> None:
    """Few modules directly in ``index/``, none over ``MAX_LINES``, no two names a trailing "s" apart."""
    direct = sorted(p.stem for p in (PACKAGE / "index").glob("*.py") if p.name != "__init__.py")
    assert len(direct) <= MAX_DIRECTLY_IN_INDEX, direct
    for path in PACKAGE.rglob("*.py"):
        assert len(path.read_text().splitlines()) <= MAX_LINES, f"{path.relative_to(PACKAGE)} is over {MAX_LINES} lines"
    for folder in {p.parent for p in PACKAGE.rglob("*.py")}:
        stems = {p.stem for p in folder.glob("*.py")}
        twins = sorted(s for s in stems if f"{s}s" in stems)
        assert not twins, f"{folder.relative_to(PACKAGE)}: {twins} beside their plurals"
