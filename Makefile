# Phản hồi Widget — the two commands of the quick start:
#   make demo   set up and run the whole loop (relay + worker + reference central system)
#   make test   set up and run the whole test suite (SQLite, then the database tests on PostgreSQL)
#   make lint   ruff, mypy (--strict on the SDK) and ESLint
# and, for the widget's browser code (Node.js ≥ 20.19 and npm):
#   make widget   rebuild static/widget/build/ from the sources (commit the result)
#   make lint-js  ESLint on static/widget

PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 5000
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-sqlite test-postgres setup setup-test lint lint-js widget bench clean

$(STAMP): pyproject.toml sdk/pyproject.toml examples/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The SDK and the reference central system are distributions of their own; the relay depends on the SDK.
	$(BIN)/pip install --quiet -e ./sdk -e ./examples -e ".[dev]"
	touch $(STAMP)

# esbuild and ESLint, exactly as package-lock.json pins them.
NODE_STAMP := node_modules/.package-lock.json

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

node_modules: $(NODE_STAMP)

widget: $(NODE_STAMP)
	node static/widget/build.mjs

lint-js: $(NODE_STAMP)
	npx --no-install eslint static/widget

setup: $(STAMP) $(NODE_STAMP)

demo: $(STAMP)
	$(BIN)/phanhoi-widget demo --port $(PORT)

setup-test: $(STAMP) $(NODE_STAMP)
	scripts/test-services

PG_TEST_URL = $${PHANHOI_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}

# Every test runs on SQLite; the tests that use the relay's database (marked `db` at
# collection, see tests/conftest.py) run again on PostgreSQL.
test: test-sqlite test-postgres

test-sqlite: setup-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: setup-test
	PHANHOI_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -m db $(PYTEST_ARGS)

lint: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check widget_server sdk examples tests bench
	$(BIN)/mypy --strict sdk/phanhoi
	# bench/ too: a benchmark that calls into the relay breaks with it, and is run by hand.
	$(BIN)/mypy widget_server examples/central_system bench
	npx --no-install eslint static/widget

bench: $(STAMP)
	# wrk drives the load (Debian's package, installed by bench/setup when missing).
	bench/setup
	$(BIN)/python bench/widget_size.py
	$(BIN)/python bench/throughput.py --database-url sqlite --database-url $(PG_TEST_URL)
	$(BIN)/python bench/results.py
	$(BIN)/python bench/beacons.py

clean:
	rm -rf $(VENV) dist build .pytest_cache node_modules
