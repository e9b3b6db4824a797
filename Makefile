# Two commands set everything up on a fresh machine:
#   make demo   create/reuse .venv, install stasn, run the end-to-end demo
#   make test   create/reuse .venv, install stasn with dev extras, run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# --no-cache-dir: torch's CUDA wheels are several GB; a cached copy beside the install can fill a CI disk.
PIP := $(PY) -m pip --no-cache-dir
PYTEST_ARGS ?=

.PHONY: demo test lint bench clean-venv

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Stamp files keep re-runs fast; they are rebuilt when pyproject.toml changes.
$(VENV)/.stamp-base: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e ".[deploy,serve]"
	touch $@

$(VENV)/.stamp-dev: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --quiet -e ".[dev]"
	touch $@ $(VENV)/.stamp-base

demo: $(VENV)/.stamp-base
	$(VENV)/bin/stasn demo

test: $(VENV)/.stamp-dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools

clean-venv:
	rm -rf $(VENV)
