# The two README commands: `make demo` (the main job, embedded defaults) and `make test`.
PYTHON ?= python3

.PHONY: demo test install install-dev lint typecheck pytest bench

install:
	$(PYTHON) -m pip install -q -e .

install-dev:
	scripts/install-test-deps.sh
	$(PYTHON) -m pip install -q -e '.[dev]'

demo: install
	$(PYTHON) -m yuqing demo

test: install-dev lint typecheck pytest

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

typecheck:
	$(PYTHON) -m mypy

pytest:
	$(PYTHON) -m pytest -q

bench:
	$(PYTHON) -m bench
