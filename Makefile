# `make run` and `make test` set everything up on a fresh machine (Python 3.11+ as python3).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test test-fast lint typecheck install clean

# Some machines' images set this; then every process the tests start (each CLI command, each
# server) compiles our modules from source again.
unexport PYTHONDONTWRITEBYTECODE

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/smsbridge run

# Test processes (pytest-xdist): one per core of the machines we test on (2); each has its own
# PostgreSQL database beside DATABASE_URL's. TEST_WORKERS=0 runs in this one process.
# PYTEST_ARGS: more for pytest, e.g. `--database-only` (CI's PostgreSQL pass) or `-k walkthrough`.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=

test: $(STAMP) lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=30 $(PYTEST_ARGS)

# The inner loop: lint (seconds, once its caches are warm) and every test not marked slow, i.e.
# without the scenario suites and the Prefect server. CI runs `make test`, which runs them all.
test-fast: $(STAMP) lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache smsbridge.db smsbridge.db-*
