# The two commands of the README: `make book` and `make test`. Each sets up what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
# The build-and-test environment (requirements.txt: torch, Jupyter, pytest, ...; d2lutil
# editable): `make test` and everything that runs notebooks or tests.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The site build's own small environment (requirements-site.txt: Jupyter Book and its
# extensions, no torch): `make book` and pages.yml. The build runs no notebook.
SITE_VENV := .venv-site
SITE_STAMP := $(SITE_VENV)/.installed
# Whose jupyter-book builds the site: the site venv for `make book`; `make test` builds with
# .venv, which holds the same pinned site packages (requirements.in is constrained by them).
BOOK_BIN ?= $(SITE_VENV)/bin
# What the site build needs besides its Python packages: KaTeX from npm (node_modules/, see
# below): `make book`, `make test` and `make linkcheck` make these first.
NODE_STAMP := node_modules/.installed
BOOK_PREREQS := $(NODE_STAMP)
JOBS ?= 2
NBVAL_TIMEOUT ?= 600
# One intra-op thread per process: with two pytest workers on two cores, torch's default of
# one thread per core oversubscribes the CPU (see README, "Tests").
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# The float path nbval checks on, different from the native one `make outputs` stores with:
# torch's portable (non-vectorised) CPU kernels, and MKL's AVX2 kernels on an Intel CPU with
# AVX-512, its conditional-numerical-reproducibility kernels on any other
# (course_infra.check_float_path). A stored output that depends on the last digits of a float
# fails here, on the author's machine, instead of on another CPU (see README, "Tests").
CHECK_FLOAT_PATH := $(shell $(PYTHON) scripts/course_infra.py check-float-path)
ifeq ($(CHECK_FLOAT_PATH),)
  $(error could not work out the check float path: `$(PYTHON) scripts/course_infra.py check-float-path` failed)
endif
# Longest work first (conftest.py orders it); xdist must keep that order, and hand out site
# tests one at a time (by default each worker starts with a quarter of its share in one
# chunk: all the long ones on one worker).
XDIST_FILES := --dist loadfile --no-loadscope-reorder
XDIST_TESTS := --dist load --maxschedchunk 1
REPORTS := _build/reports
# The book to build (tests/test_stored_runs.py builds scratch books with the same recipe).
BOOK ?= .

.PHONY: help setup test-deps book build-book test lint unit nbval site-test outputs clean \
  bench bench-suite bench-site float-paths floors newest linkcheck check-links probe mutants

help:
	@echo "make book    set up .venv-site if needed and build the site into _build/html"
	@echo "make test    set up .venv, data, browser if needed; lint, tests + nbval, strict build, site tests"
	@echo "make outputs NB=path/to/notebook.ipynb   re-execute notebooks and store their outputs"
	@echo "make bench   run the d2lutil benchmarks (JSON lines)"
	@echo "make bench-suite   time the parts of make test: lint, unit, nbval, build, site (JSON lines)"
	@echo "make bench-site   bytes, first paint and final math of every page, 1x and 4x CPU (JSON lines)"
	@echo "make float-paths   nbval on the native and three imitated float paths, RUNS=3 times each"
	@echo "make floors  d2lutil, its unit tests and every notebook at the stated floor versions"
	@echo "make newest  the same with the newest Python and the newest releases (downloads GBs)"
	@echo "make linkcheck     check the site's external links (needs the internet)"
	@echo "make probe   call d2lutil the ways students get it wrong; a verdict per call and the counts"
	@echo "make mutants   mutation testing of d2lutil by its unit tests (mutmut; long, outside make test)"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools>=77"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

setup: $(STAMP)

$(SITE_STAMP): requirements-site.txt
	@test -x $(SITE_VENV)/bin/python || $(PYTHON) -m venv $(SITE_VENV)
	$(SITE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SITE_VENV)/bin/python -m pip install --quiet -r requirements-site.txt
	@touch $@

# The site's math is rendered when the site is built, by KaTeX running in Node
# (_ext/katex_math.py): npm ci installs the KaTeX that package-lock.json pins into node_modules/.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "make book needs Node.js (18 or newer) and npm," \
	  "for KaTeX: e.g. apt-get install nodejs npm" >&2; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

# Fashion-MNIST and Chromium for the tests: reuse, download, or apt-get install (as root on
# Debian); otherwise stop with a message saying what to install.
test-deps: $(STAMP)
	$(BIN)/python scripts/ensure_test_deps.py

# The site is built from the notebooks' stored outputs (no code runs), in the site's own
# small environment.
book: $(SITE_STAMP) $(BOOK_PREREQS)
	@$(MAKE) --no-print-directory build-book

# The strict build alone, no set-up, with $(BOOK_BIN)/jupyter-book: `make book` and `make test`
# call it, and so does tests/test_stored_runs.py on scratch books (BOOK=..., BOOK_BIN=its own
# environment). A failed build removes Sphinx's saved environment and the HTML, so that
# repeating it fails again instead of reusing the pages of the failed run.
build-book:
	$(BOOK_BIN)/jupyter-book build -W --keep-going $(BOOK) || { \
	  rm -rf $(BOOK)/_build/.doctrees $(BOOK)/_build/html; \
	  echo "make book: the build failed; $(BOOK)/_build/html was removed" >&2; exit 1; }
	@echo
	@echo "Site built. Open: file://$(abspath $(BOOK))/_build/html/index.html"

# Every external link of the site, followed (Sphinx's linkcheck builder; needs the internet;
# .github/workflows/linkcheck.yml runs it weekly). A dead link fails it. `check-links` is the
# recipe alone, as build-book is for book (tests/test_stored_runs.py runs it on a scratch book).
LINKCHECK := $(BOOK)/_build/linkcheck
linkcheck: $(SITE_STAMP) $(BOOK_PREREQS)
	@$(MAKE) --no-print-directory check-links

check-links:
	$(BOOK_BIN)/jupyter-book build --builder linkcheck --path-output $(LINKCHECK) $(BOOK) || { \
	  echo "make linkcheck: broken links, see $(LINKCHECK)/_build/html/output.txt" >&2; exit 1; }
	@echo "make linkcheck: every link works ($(LINKCHECK)/_build/html/output.txt)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The tests that need the built site: they run after `make book`.
# (the browser tests first: they take longest, see conftest.py)
SITE_TESTS := tests/test_site_browser.py tests/test_site_html.py
NOT_SITE := $(foreach t,$(SITE_TESTS),--ignore=$(t))

NBVAL_ARGS = --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
  --nbval-cell-timeout $(NBVAL_TIMEOUT)

# Pieces of `make test`, for working on one part.
unit: $(STAMP)
	$(BIN)/pytest tests $(NOT_SITE) -n $(JOBS) -q

nbval: $(STAMP)
	$(CHECK_FLOAT_PATH) $(BIN)/pytest chapters $(NBVAL_ARGS) -n $(JOBS) $(XDIST_FILES) -q

# Site tests: one test per page in the browser, spread over the workers (--dist load).
site-test: $(STAMP)
	$(BIN)/pytest $(SITE_TESTS) -n $(JOBS) $(XDIST_TESTS) -q

# Everything, strictly (CI=true: tests that need the site or the browser fail, never skip):
# lint; unit, hygiene and drift tests and nbval over every notebook in one run (each notebook
# executed once, on the check float path, report in _build/reports/nbval.xml); the site from
# stored outputs, whose status page shows that report; the browser test of the built site.
# The site is built with .venv's jupyter-book (the same pinned site packages as .venv-site's).
test: export CI = true
test: $(STAMP) test-deps $(BOOK_PREREQS)
	$(MAKE) --no-print-directory lint
	@mkdir -p $(REPORTS)
	$(CHECK_FLOAT_PATH) $(BIN)/pytest tests chapters $(NOT_SITE) $(NBVAL_ARGS) \
	  -n $(JOBS) $(XDIST_FILES) --junitxml=$(REPORTS)/nbval.xml \
	  -o junit_suite_name="make test, $(CHECK_FLOAT_PATH)"
	$(MAKE) --no-print-directory build-book BOOK_BIN=$(BIN)
	$(BIN)/pytest $(SITE_TESTS) -n $(JOBS) $(XDIST_TESTS)

outputs: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make outputs NB=chapters/.../notebook.ipynb [...]"; exit 2; }
	$(BIN)/python scripts/execute_notebook.py $(NB)

# nbval on the native and three imitated float paths, RUNS times each (JSON lines; see README).
RUNS ?= 3
float-paths: $(STAMP) test-deps
	$(BIN)/python benchmarks/float_paths.py --runs $(RUNS)

bench: $(STAMP)
	env -u OMP_NUM_THREADS -u MKL_NUM_THREADS $(BIN)/python benchmarks/bench_d2lutil.py

# The parts of `make test` one after the other, each timed (lint, unit, nbval, build, site).
bench-suite: export CI = true
bench-suite: $(STAMP) test-deps $(BOOK_PREREQS)
	$(BIN)/python benchmarks/bench_suite.py --jobs $(JOBS)

# d2lutil, its unit tests and every notebook in a fresh venv (_build/envs/), installed from a
# wheel: at the floors pyproject.toml states, or at the newest Python and releases. They
# download several GB, so they are not part of `make test`; floors.yml and newest.yml run them.
# The result goes to chapters/tested_environments.json (the status page shows it): commit it.
# KEEP=1 keeps the venv (several GB); NEWEST_PYTHON=... picks the interpreter for `newest`.
floors:
	$(PYTHON) scripts/check_versions.py floors --jobs $(JOBS) $(if $(KEEP),--keep)

newest:
	$(PYTHON) scripts/check_versions.py newest --jobs $(JOBS) \
	  $(if $(NEWEST_PYTHON),--python $(NEWEST_PYTHON)) $(if $(KEEP),--keep)

# The site as readers get it: per page, bytes transferred, first contentful paint and time until
# the math is final, at 1x (1280 px) and 4x CPU throttling (390 px), as JSON lines (see README).
bench-site: book
	$(BIN)/python benchmarks/bench_site.py

# d2lutil's public API called with the mistakes students make (issue 23): one verdict per
# call (correct, clear, unclear, internal, silent) and the counts; --verbose shows messages.
probe: $(STAMP) test-deps
	$(BIN)/python benchmarks/probe_errors.py $(PROBE_ARGS)

# Mutation testing of d2lutil by its unit tests (mutmut; settings in pyproject.toml): each
# mutant of a function runs the tests that call it. Long (about 50 minutes on 2 cores for about
# 3,200 mutants), so outside `make test`; it resumes where it stopped. The score is printed at
# the end (an error if no mutant was tested); `.venv/bin/mutmut browse` shows the survivors.
mutants: $(STAMP) test-deps
	$(BIN)/mutmut run --max-children $(JOBS) || true
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/python benchmarks/mutation_score.py mutants/mutmut-cicd-stats.json

clean:
	rm -rf _build .pytest_cache .ruff_cache
