# Phản hồi Widget — the two commands of the quick start:
#   make demo   set up and run the whole loop (relay + worker + reference central system)
#   make test   set up and run the whole test suite (SQLite, then the database tests on PostgreSQL)
#   make lint   ruff, and mypy (--strict on the SDK)

PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 5000
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-sqlite test-postgres setup setup-test lint bench clean

$(STAMP): pyproject.toml sdk/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/phanhoi-widget demo --port $(PORT)

setup-test: $(STAMP)
	scripts/test-services

PG_TEST_URL = $${PHANHOI_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}

# Every test runs on SQLite; the tests that use the relay's database (marked `db` at
# collection, see tests/conftest.py) run again on PostgreSQL.
test: test-sqlite test-postgres

test-sqlite: setup-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: setup-test
	PHANHOI_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -m db $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check widget_server sdk examples tests bench
	$(BIN)/mypy --strict sdk/phanhoi
	$(BIN)/mypy widget_server examples/central_system

bench: $(STAMP)
	$(BIN)/python bench/widget_size.py
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) dist build .pytest_cache
