# OmoiTrade: `make run` starts the system, `make test` runs every check.
# Both first run `make install`, which sets everything up on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The hot modules compiled with mypyc (see docs/performance.md); rebuilt when they, or the
# model they read, change. Plain Python still runs if the .so files are removed.
NATIVE := src/omoitrade/venues/sim/book.py src/omoitrade/venues/sim/matching.py
NATIVE_STAMP := $(VENV)/.native-stamp

.PHONY: install run test lint bench clean native

install: $(STAMP) $(NATIVE_STAMP)

native: $(NATIVE_STAMP)

$(NATIVE_STAMP): $(STAMP) $(NATIVE) $(wildcard src/omoitrade/model/*.py src/omoitrade/core/*.py)
	@echo "compiling $(NATIVE) with mypyc"
	@cd src && ../$(BIN)/mypyc $(NATIVE:src/%=%) > ../$(VENV)/native-build.log 2>&1 \
		|| { cat ../$(VENV)/native-build.log; exit 1; }
	@rm -rf src/build
	@touch $(NATIVE_STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "OmoiTrade needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: install
	$(BIN)/omoitrade run

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: install
	@for script in bench/*.py; do \
		case $$script in bench/harness.py) continue;; esac; \
		echo "== $$script"; $(BIN)/python $$script $(BENCH_ARGS) || exit 1; \
	done

clean:  # keeps var/, where the embedded database holds your orders
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis src/build
	find src -name '*.so' -delete
