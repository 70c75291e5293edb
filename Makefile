# Two entry points (see README): `make serve` and `make test`. Both are idempotent:
# the venv is only (re)installed when pyproject.toml changes.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FIND_LINKS := $(or $(PIP_FIND_LINKS),/opt/wheels)
# CPU-only torch from the local wheel folder; a plain `torch` from the index is a CUDA build.
UV_INSTALL = uv pip install --compile-bytecode -p $(PY) --find-links "$(FIND_LINKS)" "torch==2.13.0+cpu"
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup setup-dev serve ingest test lint bench-ingest
setup: $(VENV)/.base
setup-dev: $(VENV)/.dev

$(VENV)/bin/python:
	command -v uv >/dev/null || python3 -m pip install -q uv
	uv venv -q --python 3.11 $(VENV)

$(VENV)/.base: pyproject.toml | $(VENV)/bin/python
	$(UV_INSTALL) -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(VENV)/bin/python
	$(UV_INSTALL) -e ".[dev,llamacpp]"
	touch $(VENV)/.base $@

ingest: setup
	$(VENV)/bin/qa ingest

serve: setup ingest
	$(VENV)/bin/qa serve --host $(HOST) --port $(PORT)

test: setup-dev
	$(VENV)/bin/ruff check qa tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: setup-dev
	$(VENV)/bin/ruff check qa tests bench
	$(VENV)/bin/ruff format --check qa tests bench
	$(VENV)/bin/mypy

bench-ingest: setup-dev
	$(PY) bench/ingest.py
