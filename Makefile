# labkit: two commands matter.
#   make lab   set up (once) and open the workbook in JupyterLab
#   make test  set up (once) and run every test, browser tests included
# Both create or reuse ./.venv and are safe to run again.  For developers:
#   make check the fast subset (no browser, slow or kernel tests), for the edit-test loop
#   make lint  ruff and mypy alone (make test and make check run them too, as tests)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.labkit-installed
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup lab test check lint browser-deps bench release clean

# Tests run on this many pytest-xdist workers (auto: one per core); tests that share a
# module-scoped fixture are kept on one worker and the longest modules start first
# (tests/conftest.py).  WORKERS=0 runs them in this process, one after another.
WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup --no-loadscope-reorder

# The runtime dependencies are installed at exactly the versions pinned for Binder
# (binder/requirements.txt), so every machine tests the environment learners get.  pip
# installs uv, and uv installs the rest (the same pinned versions, from PyPI, in seconds
# rather than minutes); UV_NATIVE_TLS trusts the system's certificates, as pip does.
# --compile-bytecode writes every installed module's .pyc once, at install: without it each
# new interpreter (every test worker, Jupyter kernel and nbgrader run) compiles numpy, plotly,
# nbgrader and the rest again wherever PYTHONDONTWRITEBYTECODE is set, about 3 CPU seconds
# per process.
$(STAMP): pyproject.toml binder/requirements.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv
	grep -v '^-e ' binder/requirements.txt > $(VENV)/constraints.txt
	UV_NATIVE_TLS=1 $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python \
	  -c $(VENV)/constraints.txt -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

lab: setup
	$(BIN)/python -m labkit.launch $(ROOT_FLAG)

# Debian's Chromium for the browser tests; never a downloaded browser.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

# The tests keep the .pyc files of labkit and of the test modules (git-ignored __pycache__
# folders) even where the environment sets PYTHONDONTWRITEBYTECODE, so a worker, kernel or
# nbgrader run does not compile them again (the sandboxed grader still writes none).
test check: export PYTHONDONTWRITEBYTECODE :=

test: setup browser-deps
	$(PYTEST)

# The fast subset for the edit-test loop: no browser, kernel or slow test, and of each
# per-variant sweep only its first variant (SWEEPS in tests/conftest.py).
check: setup
	$(PYTEST) -m "not browser and not slow and not kernel"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/bench_sim.py

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache .mypy_cache .ruff_cache
