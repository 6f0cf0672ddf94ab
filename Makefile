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
# The float path nbval checks on, different from the native one `make outputs` stores with:
# MKL's conditional-numerical-reproducibility mode and torch's portable (non-vectorised) CPU
# kernels. A stored output that depends on the last digits of a float fails here, on the
# author's machine, instead of on another CPU (see README, "Tests").
CHECK_FLOAT_PATH := MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=default
REPORTS := _build/reports
# The book to build (tests/test_stored_runs.py builds scratch books with the same recipe).
BOOK ?= .

.PHONY: help setup test-deps book test lint unit nbval site-test outputs clean bench float-paths probe mutants

help:
	@echo "make book    set up .venv if needed and build the site into _build/html"
	@echo "make test    set up .venv, data, browser if needed; lint, tests + nbval, strict build, site tests"
	@echo "make outputs NB=path/to/notebook.ipynb   re-execute notebooks and store their outputs"
	@echo "make bench   run the d2lutil benchmarks (JSON lines)"
	@echo "make float-paths   nbval on the native and two imitated float paths, RUNS=3 times each"
	@echo "make probe   call d2lutil the ways students get it wrong; a verdict per call and the counts"
	@echo "make mutants   mutation testing of d2lutil by its unit tests (mutmut; long, outside make test)"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=77"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

setup: $(STAMP)

# Fashion-MNIST and Chromium for the tests: reuse, download, or apt-get install (as root on
# Debian); otherwise stop with a message saying what to install.
test-deps: $(STAMP)
	$(BIN)/python scripts/test_deps.py

# The site is built from the notebooks' stored outputs (no code runs). A failed build removes
# Sphinx's saved environment and the HTML, so that repeating it fails again instead of reusing
# the pages of the failed run.
book: $(STAMP)
	$(BIN)/jupyter-book build -W --keep-going $(BOOK) || { \
	  rm -rf $(BOOK)/_build/.doctrees $(BOOK)/_build/html; \
	  echo "make book: the build failed; $(BOOK)/_build/html was removed" >&2; exit 1; }
	@echo
	@echo "Site built. Open: file://$(abspath $(BOOK))/_build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The tests that need the built site: they run after `make book`.
SITE_TESTS := tests/test_site_html.py tests/test_site_browser.py
NOT_SITE := $(foreach t,$(SITE_TESTS),--ignore=$(t))

NBVAL_ARGS = --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
  --nbval-cell-timeout $(NBVAL_TIMEOUT)

# Pieces of `make test`, for working on one part.
unit: $(STAMP)
	$(BIN)/pytest tests $(NOT_SITE) -n $(JOBS) -q

nbval: $(STAMP)
	$(CHECK_FLOAT_PATH) $(BIN)/pytest chapters $(NBVAL_ARGS) -n $(JOBS) --dist loadfile -q

site-test: $(STAMP)
	$(BIN)/pytest $(SITE_TESTS) -n $(JOBS) --dist loadfile -q

# Everything, strictly (CI=true: tests that need the site or the browser fail, never skip):
# lint; unit, hygiene and drift tests and nbval over every notebook in one run (each notebook
# executed once, on the check float path, report in _build/reports/nbval.xml); the site from
# stored outputs, whose status page shows that report; the browser test of the built site.
test: export CI = true
test: $(STAMP) test-deps
	$(MAKE) --no-print-directory lint
	@mkdir -p $(REPORTS)
	$(CHECK_FLOAT_PATH) $(BIN)/pytest tests chapters $(NOT_SITE) $(NBVAL_ARGS) \
	  -n $(JOBS) --dist loadfile --junitxml=$(REPORTS)/nbval.xml \
	  -o junit_suite_name="make test, $(CHECK_FLOAT_PATH)"
	$(MAKE) --no-print-directory book
	$(BIN)/pytest $(SITE_TESTS) -n $(JOBS) --dist loadfile

outputs: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make outputs NB=chapters/.../notebook.ipynb [...]"; exit 2; }
	$(BIN)/python scripts/execute_notebook.py $(NB)

# nbval on the native and two imitated float paths, RUNS times each (JSON lines; see README).
RUNS ?= 3
float-paths: $(STAMP) test-deps
	$(BIN)/python benchmarks/float_paths.py --runs $(RUNS)

bench: $(STAMP)
	env -u OMP_NUM_THREADS -u MKL_NUM_THREADS $(BIN)/python benchmarks/bench_d2lutil.py

# d2lutil's public API called with the mistakes students make (issue 23): one verdict per
# call (correct, clear, unclear, internal, silent) and the counts; --verbose shows messages.
probe: $(STAMP) test-deps
	$(BIN)/python benchmarks/probe_errors.py $(PROBE_ARGS)

# Mutation testing of d2lutil by its unit tests (mutmut; settings in pyproject.toml): each
# mutant of a function runs the tests that call it. Long (hours on 2 cores for about 2,400
# mutants), so outside `make test`; it resumes where it stopped. The score is printed at the end;
# `.venv/bin/mutmut browse` shows the survivors.
mutants: $(STAMP) test-deps
	$(BIN)/mutmut run --max-children $(JOBS) || true
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/python benchmarks/mutation_score.py mutants/mutmut-cicd-stats.json

clean:
	rm -rf _build .pytest_cache .ruff_cache
