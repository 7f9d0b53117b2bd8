# The two commands a new user needs: `make serve` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TORCH   := torch==2.13.0
HOST    ?= 127.0.0.1
PORT    ?= 8000
# Where torch comes from: PyTorch's CPU-only wheels, since briefqa runs on the CPU and PyPI's
# torch is the CUDA build (with about 20 nvidia-* packages, several GB). Left empty where pip
# already finds torch==2.13.0 without any index (a find-links folder in pip's own config, as on
# machines that keep the CPU wheel on disk): pip then takes that file and asks no other host.
# Evaluated only when torch is installed. Override with TORCH_INDEX=URL, or TORCH_INDEX= for PyPI.
TORCH_INDEX ?= $(shell $(BIN)/pip install --dry-run --no-index --no-deps --ignore-installed --quiet $(TORCH) \
                 >/dev/null 2>&1 || echo https://download.pytorch.org/whl/cpu)

.PHONY: serve test bench lint setup browser poppler axe clean eval fit

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned and CPU-only (see TORCH_INDEX); the project's own dependencies then find
# it installed and pull no other build. Then the model's ONNX file, made from its weights by torch
# into BRIEFQA_ONNX_CACHE (about a minute, once), and the reader's from its shipped weights
# (briefqa/models/reader/): serving runs both on ONNX Runtime, without torch.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX) )$(TORCH)
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/python -c 'from briefqa.embed import load_embedder; from briefqa.settings import Settings; \
	  s = Settings(); print("model:", type(load_embedder(s.model, s.onnx_cache)).__name__)'
	$(BIN)/python -c 'from briefqa.reader import load_reader; from briefqa.settings import Settings; \
	  print("reader:", type(load_reader(Settings().onnx_cache)).__name__)'
	touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium for the browser tests (Playwright's own browser download does not work here).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Debian's chromium (sudo apt-get install chromium)"; exit 1; fi; }

# Debian's poppler-utils for pdftotext, the independent reader the PDF fidelity tests compare
# briefqa's reading of each PDF with (tests/sources/test_fidelity.py).
poppler:
	@test -x /usr/bin/pdftotext || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; \
	  else echo "install Debian's poppler-utils (sudo apt-get install poppler-utils)"; exit 1; fi; }

# axe-core from npm, pinned by its lock file, for the accessibility checks of the browser tests.
AXE := tests/web/node_modules/axe-core/axe.min.js
$(AXE): tests/web/package.json tests/web/package-lock.json
	npm ci --prefix tests/web --no-audit --no-fund --loglevel=error
	touch $(AXE)

axe: $(AXE)

serve: $(STAMP)
	$(BIN)/briefqa serve --host $(HOST) --port $(PORT)

# Lint, format and types over everything (mypy's files are in pyproject.toml: src/briefqa and
# benchmarks), then the whole suite.
LINTED := src tests benchmarks training

test: $(STAMP) browser poppler axe lint
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

# Benchmarks (issues 5 and 16): prints the tables and writes benchmarks/RESULTS.md; see
# docs/benchmarks.md for how long it takes. BENCH_FLAGS=--full adds a real 100,000-passage build
# (an hour or more); BENCH_FLAGS=--scale-only runs only the scale tiers (the brief, 3,000 real
# paragraphs, 1,000,000 projected; about 20 minutes).
BENCH_FLAGS ?=
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks.run $(BENCH_FLAGS)

# The full evaluation of the README: SQuAD 2.0's 8 articles (scored by offsets over a temporary
# index), as they are (near misses) and with every third paragraph withheld (both kinds of
# unanswerable question), the brief's two question sets, and the follow-up threads written over
# the SQuAD sample's articles. SQuAD comes from ../shared; without it, it says so. Each `briefqa
# eval` exits 1 when a target it prints is missed: all five run all the same, and make eval fails
# at the end if any missed.
SQUAD ?= ../shared/data/squad2/dev-odd-8-articles.json
EVALS := "$(SQUAD)" "$(SQUAD) --withhold 3" eval/brief_qa_dev.jsonl eval/brief_qa_heldout.jsonl \
  "eval/followups_squad.jsonl --articles eval/squad2-sample.json"
eval: $(STAMP)
	@test -f $(SQUAD) || { echo "make eval: $(SQUAD) not found: the full SQuAD evaluation needs the shared data"; exit 1; }
	$(BIN)/briefqa index >/dev/null
	@missed=0; for args in $(EVALS); do \
	  echo "$(BIN)/briefqa eval $$args"; $(BIN)/briefqa eval $$args || missed=1; \
	done; exit $$missed

# Refit what ships: the word pieces' codebook (training/fit_codebook.py), then the ranker and the
# abstainer (training/fit_models.py): 96 articles of SQuAD 1.1's
# training set, with every third paragraph withheld, and the same SQuAD 2.0 file. Seeded and
# resumable (each group's index and questions are kept under training/.work/); measured: 15 minutes
# on 2 cores from nothing (33 with the cores shared), 3 once the questions are collected. Then the
# reader (training/fit_reader.py, over the same groups and SQuAD 2.0's other 19 dev articles):
# 56 minutes of training on 2 cores and 16 of reading the held-out questions, resumable from its
# checkpoints. The language threshold of the notices is fitted apart: python -m training.fit_notices.
TRAIN ?= ../shared/data/squad11-train/train-v1.1.json.gz
fit: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,fit]'
	$(BIN)/python -m training.fit_codebook --squad $(TRAIN) --write
	$(BIN)/python -m training.fit_models --train $(TRAIN) --squad $(SQUAD) --write
	$(BIN)/python -m training.fit_reader --write

# The index's contents go; its README (committed) stays.
clean:
	rm -rf $(VENV) tests/web/node_modules
	if [ -d index ]; then find index -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +; fi
