# crossaccount.aws -- every target installs what it needs; only python3 and make are assumed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINK := .tmp/collections/ansible_collections/crossaccount/aws
AMAZON_AWS := .tmp/collections/ansible_collections/amazon/aws
AMAZON_AWS_FROM := ansible==12.3.0
PYTEST_WORKERS ?= 2

.PHONY: help venv collection-link demo test unit integration lint lint-ansible format build clean

help:
	@echo "make demo   - set up, run the plugin against a local AWS stand-in with a seeded fleet, show the result"
	@echo "make test   - lint (ruff, ansible-lint, antsibull-docs) and the whole test suite (unit + integration through the real CLIs)"
	@echo "make bench  - the benchmark (not part of make test); writes docs/benchmarks.md"
	@echo "make build  - build the collection tarball with ansible-galaxy"
	@echo "make sanity - ansible-test sanity on the built collection (temporary ansible_collections tree)"
	@echo "make test-newest - the whole suite on the newest ansible-core (Python 3.13, .venv-newest)"
	@echo "make sanity-newest - ansible-test sanity of the newest ansible-core on Python 3.13"
	@echo "make release-check - lint changelog fragments, check CHANGELOG.rst is current, build"

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(STAMP)

collection-link: $(AMAZON_AWS)/MANIFEST.json
	@mkdir -p $(dir $(LINK))
	@[ -L $(LINK) ] || ln -s ../../../.. $(LINK)

# amazon.aws beside the collection (tests run aws_ssm and aws_ec2 themselves): extracted from the
# `ansible` community wheel, which bundles it (no Galaxy server is assumed). Same pin as bench/.
$(AMAZON_AWS)/MANIFEST.json: | $(STAMP)
	$(BIN)/python -m pip download --quiet --no-deps --dest .tmp/wheels $(AMAZON_AWS_FROM)
	$(BIN)/python .ci/vendor_amazon_aws.py .tmp/wheels .tmp/collections

demo: venv collection-link
	$(BIN)/python demo/run_demo.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The ecosystem's linters, offline (no Galaxy server): ansible-lint's production profile on the
# playbooks and examples (.ansible-lint), and antsibull-docs on every plugin's documentation.
COLLECTIONS_ABS := $(abspath .tmp/collections)
lint-ansible: venv collection-link
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_ABS) $(BIN)/ansible-lint --offline -q playbooks/ examples/
	cd $(LINK) && PATH="$(abspath $(BIN)):$$PATH" ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_ABS) \
		$(abspath $(BIN))/antsibull-docs lint-collection-docs --plugin-docs .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

unit: venv collection-link
	$(BIN)/python -m pytest -q tests/unit

integration: venv collection-link
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) tests/integration

test: venv collection-link lint lint-ansible
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) tests

build: venv
	mkdir -p build
	$(BIN)/ansible-galaxy collection build --force --output-path build .

# -- the collection as the ecosystem sees it (issue 5) ------------------------------------------
# ansible-test sanity on the built collection, in a temporary ansible_collections/ tree (.ci/sanity.sh)
.PHONY: sanity sanity-newest test-newest venv-newest changelog release-check
sanity: venv collection-link
	.ci/sanity.sh

# Version matrix: `make test` is the oldest supported ansible-core (requirements-dev.txt, Python 3.11);
# `make test-newest` is the newest (requirements-newest.txt) on Python 3.13 in .venv-newest.
NEWEST_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python) $(shell command -v python3.13))
NEWEST_VENV ?= .venv-newest
NEWEST_STAMP := $(NEWEST_VENV)/.installed

$(NEWEST_STAMP): requirements-newest.txt
	@if [ -z "$(NEWEST_PYTHON)" ] || [ ! -x "$(NEWEST_PYTHON)" ]; then \
		echo "make test-newest: no Python 3.13 found (looked in ~/.pyenv/versions/3.13*/bin/python and on PATH);" \
			"install it (pyenv install 3.13) or run make test-newest NEWEST_PYTHON=/path/to/python3.13" >&2; exit 2; fi
	$(NEWEST_PYTHON) -m venv $(NEWEST_VENV)
	$(NEWEST_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(NEWEST_VENV)/bin/python -m pip install --quiet -r requirements-newest.txt
	touch $@

venv-newest: $(NEWEST_STAMP)

test-newest: venv-newest collection-link
	$(NEWEST_VENV)/bin/python -m pytest -q -n $(PYTEST_WORKERS) tests

# ansible-test sanity of the newest ansible-core (its own, newer checks) on Python 3.13
sanity-newest: venv-newest
	BIN=$(NEWEST_VENV)/bin SANITY_PYTHON=3.13 .ci/sanity.sh

# CHANGELOG.rst from changelogs/changelog.yaml and changelogs/fragments/ (antsibull-changelog)
changelog: venv
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/antsibull-changelog generate

# Before tagging a release: fragments and changelog.yaml lint clean, CHANGELOG.rst is current, it builds.
release-check: venv
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
	$(BIN)/python .ci/changelog_current.py
	$(MAKE) build

clean:
	rm -rf .tmp build .pytest_cache .ruff_cache

# The benchmark (not part of `make test`): its own virtualenv with the `ansible` package (bundled
# amazon.aws, for the side-by-side), matplotlib and pyinstrument. Knobs: see bench/bench.py
# (BENCH_QUICK=1 for a smoke run of about 10 minutes; the full run took 26 minutes on 2 cores).
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): bench/requirements.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements.txt
	touch $@

.PHONY: bench
bench: venv collection-link $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python bench/bench.py
