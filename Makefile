# The two commands a newcomer needs: `make demo` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_BIN := node_modules/.bin

.PHONY: demo test lint proto buf-lint install clean bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_BIN)/buf: package.json
	npm install --no-audit --no-fund --silent
	touch $(NODE_BIN)/buf

install: $(STAMP) $(NODE_BIN)/buf

demo: $(STAMP)
	$(BIN)/partner-gateway demo --once

test: install
	$(BIN)/python -m pytest

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
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
