# Two commands do all set-up on a fresh Debian machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SOURCES := evidencekit tests benchmarks

.PHONY: demo test lint setup system-deps bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

system-deps:
	@bash .ci/system-deps

setup: system-deps $(STAMP)

lint: setup
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

demo: setup
	$(BIN)/python -m evidencekit.demo.walkthrough

bench: setup
	$(BIN)/python benchmarks/bench_hashing.py
	$(BIN)/python benchmarks/bench_ledger.py
	$(BIN)/python benchmarks/bench_timestamps.py
	$(BIN)/python benchmarks/bench_photos_capture.py
	$(BIN)/python benchmarks/bench_links_index.py
	$(BIN)/python benchmarks/bench_links_crop.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
