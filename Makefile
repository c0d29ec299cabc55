# mentor-relay: `make run` serves on the embedded default, `make test` runs the suite.
# Both set up everything they need (virtual environment, package, store, keys).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install init run test test-fast bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "mentor-relay needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

init: install .env
	$(BIN)/relayctl init

# A first `make run` writes .env from the documented example: development
# settings (RELAY_SENDER_AUTH=none, so the walk-through's made-up addresses
# are believed). Edit .env for anything real; it is never overwritten.
.env:
	cp config/relay.env.example .env
	@echo "wrote .env from config/relay.env.example (development settings; edit it for production)"

run: init
	$(BIN)/relayctl serve

test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

bench: install
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

lint: install
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
