# techtransfer: the two commands are `make run` (demo on http://127.0.0.1:8000) and `make test`.
# Every target creates the virtual environment and installs the package first if needed.

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
TT := $(BIN)/techtransfer
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
# The gates of `make test` run one after the other, in the order written, even under -j.
.NOTPARALLEL:
.PHONY: help install run demo migrate test lint format check test-sqlite test-postgres bench

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "需要 Python 3.11（$(PYTHON)）；可用 make PYTHON=/path/to/python3.11 指定" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the pinned dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

install: $(VENV)/.installed ## create .venv and install the package with its pinned dev dependencies
	@mkdir -p "$${TECHTRANSFER_VAR_DIR:-var}"

migrate: install
	$(TT) migrate --noinput --verbosity 0

demo: migrate ## migrate the SQLite database under var/, load the code lists and the demo data, build the matching index
	$(TT) load_codes
	$(TT) load_demo
	$(TT) index rebuild --with-vectors

# The vector worker (e5 for records published later) runs beside the server, at low priority, and stops with it.
run: demo ## demo: install, migrate, load demo data, print the demo logins, serve on http://127.0.0.1:8000 (HOST=, PORT= to change)
	@echo "打开 http://$(HOST):$(PORT)/ （Ctrl-C 停止）"
	@nice -n 10 $(TT) index worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	echo "$(TT) runserver $(HOST):$(PORT)"; $(TT) runserver $(HOST):$(PORT)

lint: install ## ruff lint and format check
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet .

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --quiet --fix .
	$(BIN)/ruff format --quiet .

check: install ## Django system checks and the missing-migrations check
	$(TT) check --fail-level WARNING
	$(TT) makemigrations --check --dry-run

test-sqlite: install ## the test suite on SQLite
	env -u DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install ## the test suite on a throwaway PostgreSQL cluster (skipped without initdb unless REQUIRE_POSTGRES=1)
	$(BIN)/python -m techtransfer.devtools.pgtest -- $(PYTEST_ARGS)

# The gates in order; make stops at the first that fails.
test: lint check test-sqlite test-postgres ## all gates: ruff, checks, migrations, pytest on SQLite then PostgreSQL

bench: install ## latency and throughput of the portal (see `techtransfer bench --help`)
	$(TT) bench portal --records 100000
