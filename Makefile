# The two commands a newcomer needs: `make demo` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Installed from the hash-checked locks (requirements/, compiled from pyproject.toml by
# `make lock`): the demo's dependencies alone, then the development tools on top.
RUNTIME_LOCK := requirements/runtime.lock
DEV_LOCK := requirements/dev.lock
RUNTIME_STAMP := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed-dev
PIP_INSTALL := $(BIN)/python -m pip install --disable-pip-version-check --require-hashes
NODE_BIN := node_modules/.bin

.PHONY: demo test test-fast lint lock proto buf-lint install clean bench

$(RUNTIME_STAMP): $(RUNTIME_LOCK) pyproject.toml
	@echo "==> Creating $(VENV) with $(PYTHON)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> Installing the gateway's dependencies from $(RUNTIME_LOCK) (hash-checked)"
	$(PIP_INSTALL) --progress-bar on -r $(RUNTIME_LOCK)
	@echo "==> Installing the gateway itself (editable)"
	$(BIN)/python -m pip install --disable-pip-version-check --quiet --no-deps --no-build-isolation -e .
	touch $@

$(STAMP): $(RUNTIME_STAMP) $(DEV_LOCK)
	@echo "==> Adding the development tools from $(DEV_LOCK) (tests, lint; hash-checked)"
	$(PIP_INSTALL) --progress-bar on -r $(DEV_LOCK)
	touch $@

$(NODE_BIN)/buf: package.json
	npm install --no-audit --no-fund --silent
	touch $(NODE_BIN)/buf

install: $(STAMP) $(NODE_BIN)/buf

demo: $(RUNTIME_STAMP)
	@echo "==> Running the demo"
	$(BIN)/partner-gateway demo --once

# The whole suite, with line coverage of our packages against the floor in pyproject.toml
# ([tool.coverage.report] fail_under); `.venv/bin/coverage report` shows it per file after.
test: install
	$(BIN)/python -m pytest --cov --cov-report=

# After editing dependencies in pyproject.toml (the source of truth): recompile both locks,
# keeping every pin that still fits; `make lock UPGRADE=1` moves everything to the newest.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml requirements/build.in $(LOCK_FLAGS) -o $(RUNTIME_LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -c $(RUNTIME_LOCK) -o $(DEV_LOCK)

LOCK_FLAGS = --universal --python-version 3.11 --generate-hashes --quiet $(if $(UPGRADE),--upgrade)

# Only the tests marked `unit` (in memory: no server, no subprocess, no sandbox): seconds.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m unit -q

# The gateway's cost per composition against a bare scatter-gather (docs/performance.md).
bench: $(STAMP)
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(NODE_BIN)/buf lint

# Regenerate the Python code from proto/ (committed; tests/test_contract.py fails when stale).
proto: $(STAMP)
	$(BIN)/python -m tools.protogen

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
