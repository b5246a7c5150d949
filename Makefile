# Every target sets itself up: a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LINTED := $(wildcard src codegen tests examples benchmarks)

.PHONY: setup demo demo-gateway demo-cluster test lint typecheck unit regenerate docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## The demo: a central system and two charge points, a full charging session over WebSocket and over SOAP.
demo: $(STAMP)
	$(BIN)/python examples/demo.py

## A 1.5 SOAP charge point's charging session on a 1.6 OCPP-J central system, through the protocol gateway.
demo-gateway: $(STAMP)
	$(BIN)/python examples/demo_gateway.py

## Two simulator central systems sharing an embedded NATS: a reset typed on one reaches a charge point on the other.
demo-cluster: $(STAMP)
	$(BIN)/python examples/demo_cluster.py

## The whole test suite: lint, strict typing (mypy and basedpyright, no plugins), then every test.
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(STAMP)
	$(BIN)/mypy src examples tests codegen
	$(BIN)/basedpyright src examples tests codegen

unit: $(STAMP)
	$(BIN)/python -m pytest

## Regenerate src/ocpprpc/messages from ../shared/ocpp-wsdl (1.x) and ../shared/ocpp-json (2.x) (or WSDL_DIR=..., JSON_DIR=...).
regenerate: $(STAMP)
	$(BIN)/python -m codegen $(if $(WSDL_DIR),--wsdl-dir $(WSDL_DIR)) $(if $(JSON_DIR),--json-dir $(JSON_DIR))

## Side-by-side benchmarks, not tests: about 21 minutes on 2 cores. BENCH_ARGS="--only codec,codec201" or "--quick".
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

## Regenerate the message reference under docs/messages from the models, then build the user guide into site/.
docs: $(STAMP)
	$(BIN)/python -m codegen.reference
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
