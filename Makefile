# Two commands do all set-up on a machine with only Python and pip:
#   make demo   create .venv, install forge, run the main job end to end
#   make test   create .venv with the test extras, lint, run the whole suite
PYTHON ?= python3
VENV ?= .venv
# CI pins a local CPU build (torch==2.13.0); users get their platform's normal build.
TORCH_SPEC ?= torch
BIN := $(VENV)/bin

.PHONY: demo test lint format venv clean docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-all: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e ".[all]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-all
	$(BIN)/pip install -q -e ".[all,test]"
	touch $@

venv: $(VENV)/.installed-test

demo: $(VENV)/.installed-all
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/demo.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(VENV)/.installed-test
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# docs/config.md is generated from the forge.yaml schema (a test checks it is current).
docs: $(VENV)/.installed-all
	$(BIN)/forge config docs -o docs/config.md

test: lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache
