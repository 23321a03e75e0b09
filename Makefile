# OmoiTrade: `make run` starts the system, `make test` runs every check.
# Both first run `make install`, which sets everything up on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The hot modules compiled with mypyc (see docs/performance.md): the matching engine and
# the order path (order manager, its recorder, report handling, cancel-replace, risk engine, ledger,
# exchange and its funding checks, node and its order manager) and
# the message bus they all publish on.
# Rebuilt when they, or the model and core they read, change; `make clean` deletes them.
# Plain Python still runs if the .so files are removed, or if compiling fails.
SIM := src/omoitrade/venues/sim
NATIVE := $(SIM)/book.py $(SIM)/matching.py $(SIM)/exchange.py $(SIM)/accounts.py \
	$(SIM)/reports.py $(SIM)/validation.py $(SIM)/reservations.py $(SIM)/funding.py \
	src/omoitrade/execution/order_manager.py src/omoitrade/execution/report_handling.py \
	src/omoitrade/execution/cancel_replace.py src/omoitrade/execution/recorder.py \
	src/omoitrade/execution/registry.py src/omoitrade/execution/quality.py \
	src/omoitrade/risk/engine.py src/omoitrade/risk/checks.py src/omoitrade/risk/throttle.py \
	src/omoitrade/risk/state.py src/omoitrade/risk/limits.py \
	src/omoitrade/portfolio/ledger.py src/omoitrade/portfolio/books.py \
	src/omoitrade/portfolio/accounts.py \
	src/omoitrade/runtime/trading_node.py src/omoitrade/runtime/node_orders.py \
	src/omoitrade/core/fsm.py src/omoitrade/core/bus.py
NATIVE_STAMP := $(VENV)/.native-stamp

.PHONY: install run test lint bench clean native

install: $(STAMP) $(NATIVE_STAMP)

native: $(NATIVE_STAMP)

# One group: a shared library (src/*__mypyc*.so) and one small .so per module. A failed
# build (no C compiler, say) leaves no .so behind, warns, and the system runs as plain
# Python; the stamp is not touched, so the next make tries again.
$(NATIVE_STAMP): $(STAMP) $(NATIVE) $(wildcard src/omoitrade/model/*.py src/omoitrade/core/*.py \
		src/omoitrade/execution/*.py src/omoitrade/risk/*.py src/omoitrade/portfolio/*.py)
	@echo "compiling $(words $(NATIVE)) modules with mypyc (about a minute; log: $(VENV)/native-build.log)"
	@find src -name '*.so' -delete
	@cd src && ../$(BIN)/mypyc $(NATIVE:src/%=%) > ../$(VENV)/native-build.log 2>&1 \
		&& touch ../$(NATIVE_STAMP) \
		|| { tail -n 20 ../$(VENV)/native-build.log; find . -name '*.so' -delete; \
			echo "WARNING: mypyc failed (see $(VENV)/native-build.log): running as plain Python"; }
	@rm -rf src/build

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
