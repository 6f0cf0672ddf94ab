# The two commands of the README: `make book` and `make test`. Both set up .venv when needed.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2
NBVAL_TIMEOUT ?= 600
# One intra-op thread per process: with two pytest workers on two cores, torch's default of
# one thread per core oversubscribes the CPU (see README, "Tests").
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help setup book test lint unit nbval site-test outputs clean bench

help:
	@echo "make book    set up .venv if needed and build the site into _build/html"
	@echo "make test    set up .venv if needed; lint, strict build, unit tests, nbval, browser test"
	@echo "make outputs NB=path/to/notebook.ipynb   re-execute a notebook and store its outputs"
	@echo "make bench   run the d2lutil benchmarks (JSON lines)"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

setup: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build -W --keep-going .
	@echo
	@echo "Site built. Open: file://$(CURDIR)/_build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check d2lutil tests benchmarks scripts chapters
	$(BIN)/ruff format --check d2lutil tests benchmarks scripts chapters

# Unit, hygiene and drift tests, then every notebook under nbval (one worker per core, one
# notebook per worker), then the browser test against the freshly built site.
unit: $(STAMP)
	$(BIN)/pytest tests --ignore=tests/test_site.py -n $(JOBS) -q

nbval: $(STAMP)
	$(BIN)/pytest --nbval chapters -n $(JOBS) --dist loadfile \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout $(NBVAL_TIMEOUT) -q

site-test: $(STAMP)
	$(BIN)/pytest tests/test_site.py -q

test: $(STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory book
	$(BIN)/pytest tests chapters --nbval -n $(JOBS) --dist loadfile \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout $(NBVAL_TIMEOUT)
	@cat _build/site-test-summary.txt 2>/dev/null || true

outputs: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make outputs NB=chapters/.../notebook.ipynb"; exit 2; }
	$(BIN)/python scripts/execute_notebook.py $(NB)

bench: $(STAMP)
	env -u OMP_NUM_THREADS -u MKL_NUM_THREADS $(BIN)/python benchmarks/bench_d2lutil.py

clean:
	rm -rf _build .pytest_cache .ruff_cache
