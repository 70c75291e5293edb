# Two entry points (see README): `make serve` and `make test`. Both install from the committed
# lock files (requirements.txt, requirements-dev.txt: exact versions and hashes) and never
# resolve afresh; a second run reinstalls nothing. `make lock` is the only command that resolves versions.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
HOST ?= 127.0.0.1
PORT ?= 8000
# CPU-only torch: from the local wheel folder named by PIP_FIND_LINKS where the machine has one,
# otherwise from the PyTorch CPU index. The lock pins torch==2.13.0+cpu with its hash either way;
# a plain `torch` from PyPI is a multi-GB CUDA build.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_SOURCE := $(if $(PIP_FIND_LINKS),--find-links "$(PIP_FIND_LINKS)",--extra-index-url $(TORCH_INDEX) --index-strategy unsafe-best-match)
# Where PYTHONDONTWRITEBYTECODE is set, no .pyc is ever written and every `qa` command compiles
# what it imports, every time: install with UV_COMPILE_BYTECODE=1 there (docs/benchmarks.md).
SYNC = $(UV) pip sync -q -p $(PY) --require-hashes $(TORCH_SOURCE)
EDITABLE = $(UV) pip install -q -p $(PY) --no-deps -e .
COMPILE = $(UV) pip compile -q pyproject.toml --python-version 3.11 --generate-hashes --no-header $(TORCH_SOURCE) $(UPGRADE)

.PHONY: setup setup-dev serve ingest test test-fast lint lock bench-ingest bench-cli smoke docs-screenshots
setup: $(VENV)/.base
setup-dev: $(VENV)/.dev

$(UV):
	python3 -m pip install -q --user uv

$(PY): | $(UV)
	$(UV) venv -q --python 3.11 $(VENV)

# The base install alone (what `make serve` and the Dockerfile run): no dev or llama.cpp extras.
$(VENV)/.base: requirements.txt pyproject.toml | $(PY)
	@if [ -f $(VENV)/.dev ] && [ $(VENV)/.dev -nt requirements-dev.txt ]; then \
		echo "dev install present and current: it includes the base lock"; \
	else $(SYNC) requirements.txt && $(EDITABLE) && rm -f $(VENV)/.dev; fi
	touch $@

$(VENV)/.dev: requirements-dev.txt pyproject.toml | $(PY)
	$(SYNC) requirements-dev.txt
	$(EDITABLE)
	touch $@ $(VENV)/.base

ingest: setup
	$(VENV)/bin/qa ingest

serve: setup ingest
	$(VENV)/bin/qa serve --host $(HOST) --port $(PORT)

test: setup-dev
	$(VENV)/bin/ruff check qa tests bench training
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Tests that need no model, server or browser (under a minute).
test-fast: setup-dev
	$(VENV)/bin/python -m pytest -m "not slow" -q $(PYTEST_ARGS)

lint: setup-dev
	$(VENV)/bin/ruff check qa tests bench training
	$(VENV)/bin/ruff format --check qa tests bench training
	$(VENV)/bin/mypy

# Re-resolve on purpose: keeps the current pins unless told otherwise.
#   make lock                                  # after editing pyproject.toml's dependencies
#   make lock UPGRADE="--upgrade-package X"    # upgrade one package
#   make lock UPGRADE=--upgrade                # upgrade everything
# Then run `make test` and commit pyproject.toml and both requirements files together.
lock: | $(UV)
	$(COMPILE) --extra dev --extra llamacpp -o requirements-dev.txt
	$(COMPILE) --constraints requirements-dev.txt -o requirements.txt

bench-ingest: setup-dev
	$(PY) bench/ingest.py

# `qa --help`, `qa stats`, `qa ask` wall times against `python -c pass` and `import torch`.
bench-cli: setup-dev
	$(PY) bench/cli_start.py

# The docs' screenshots, from a real run: a real `qa serve` on the seeds in Chromium (the
# README's First run at desktop and phone width, and a timeline answer), copied into docs/.
SHOTS := test-results/browser
docs-screenshots: setup-dev
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/test_browser_first_run.py \
		"tests/test_browser.py::test_a_timeline_question_is_drawn_as_dated_events_oldest_first"
	cp $(SHOTS)/chat-empty.png $(SHOTS)/chat-answer.png $(SHOTS)/timeline.png \
		$(SHOTS)/chat-empty-phone.png $(SHOTS)/chat-answer-phone.png $(SHOTS)/timeline-phone.png docs/
