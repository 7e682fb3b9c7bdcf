# The two README commands: `make demo` (the main job, embedded defaults) and `make test`.
# Everything installs into a project virtual environment (.venv): a stock Debian refuses
# `pip install` into the system interpreter (PEP 668).
SYSTEM_PYTHON ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: demo test install install-dev lint typecheck importlint pytest bench venv

venv: $(VENV)/bin/python

$(VENV)/bin/python:
	@$(SYSTEM_PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "yuqing needs Python 3.11 or newer ($(SYSTEM_PYTHON) is older); set SYSTEM_PYTHON=python3.11"; exit 1; }
	@$(SYSTEM_PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "could not create $(VENV): on Debian, apt-get install python3-venv"; exit 1; }

install: venv
	$(PYTHON) -m pip install -q -e .

install-dev: venv
	scripts/install-test-deps.sh
	$(PYTHON) -m pip install -q -e '.[dev]'

demo: install
	$(PYTHON) -m yuqing demo

test: install-dev lint importlint typecheck pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

importlint:
	$(VENV)/bin/lint-imports

typecheck:
	$(PYTHON) -m mypy

# Two workers, one test file each at a time (fixtures such as the tansu broker are per file).
# PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
pytest:
	$(PYTHON) -m pytest -q $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

bench: install-dev
	$(PYTHON) -m bench
