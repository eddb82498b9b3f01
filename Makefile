# crossaccount.aws -- every target installs what it needs; only python3 and make are assumed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINK := .tmp/collections/ansible_collections/crossaccount/aws
PYTEST_WORKERS ?= 2

.PHONY: help venv collection-link demo test unit integration lint format build clean

help:
	@echo "make demo   - set up, run the plugin against a local AWS stand-in with a seeded fleet, show the result"
	@echo "make test   - lint and the whole test suite (unit + integration through the real CLIs)"
	@echo "make bench  - the benchmark (not part of make test); writes docs/benchmarks.md"
	@echo "make build  - build the collection tarball with ansible-galaxy"

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(STAMP)

collection-link:
	@mkdir -p $(dir $(LINK))
	@[ -L $(LINK) ] || ln -s ../../../.. $(LINK)

demo: venv
	$(BIN)/python demo/run_demo.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

unit: venv collection-link
	$(BIN)/python -m pytest -q tests/unit

integration: venv collection-link
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) tests/integration

test: venv collection-link lint
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) tests

build: venv
	mkdir -p build
	$(BIN)/ansible-galaxy collection build --force --output-path build .

clean:
	rm -rf .tmp build .pytest_cache .ruff_cache
