# Quick start: `make demo` runs the Englewood plan, `make test` runs lint, types and tests.
# Both create .venv and install the package with its dev extras first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m safepassage.demo

lint: $(STAMP)
	$(BIN)/ruff check safepassage tests bench
	$(BIN)/ruff format --check safepassage tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/network.py

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
