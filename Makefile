# Two entry points for a fresh machine: `make demo` and `make test`. Everything else is plumbing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OAV    := .tools/oav/node_modules/.bin/oav
OAV_VERSION := 4.0.3
# The Azure CLI for `make test-az` (about 700 MB, so a venv of its own under .tools and never in CI).
AZ_CLI_VERSION := 2.91.0
AZ     := .tools/azure-cli/bin/az

.PHONY: help venv tools demo up test test-az lint typecheck pytest bench mutate screenshot clean

help:
	@echo "make demo   - run a real migration end to end on the local emulator and devhost"
	@echo "make test   - ruff, mypy and the whole pytest suite (unit, conformance, end to end)"
	@echo "make bench  - benchmarks (ARM-call economy, history size, scale, console, shared ARM budget)"
	@echo "make mutate - mutation testing of the safety-critical code with the fast tests (not in CI; 12-17 min)"
	@echo "make up     - a local cloud (emulator + devhost) for az, the SDKs and curl, until Ctrl-C"
	@echo "make test-az - the README's az-only walk-through against a live local cloud (installs the Azure CLI)"
	@echo "make screenshot - refresh docs/console.png from the console's browser test"

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

# Microsoft's OpenAPI traffic validator, used by the emulator conformance tests.
$(OAV):
	@command -v npm >/dev/null || { echo "npm is required for the oav conformance checks"; exit 1; }
	mkdir -p .tools/oav
	cd .tools/oav && { test -f package.json || npm init -y >/dev/null; } && npm install --silent --no-audit --no-fund oav@$(OAV_VERSION)

tools: $(OAV)

demo: $(STAMP)
	$(BIN)/python -m localrun demo $(ARGS)

up: $(STAMP)
	$(BIN)/python -m localrun up $(ARGS)

$(AZ):
	$(PYTHON) -m venv .tools/azure-cli
	.tools/azure-cli/bin/python -m pip install --quiet --disable-pip-version-check azure-cli==$(AZ_CLI_VERSION)

test-az: $(STAMP) $(AZ)
	AZ_CLI=$(CURDIR)/$(AZ) $(BIN)/python -m pytest tests/az $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(OAV)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest
	@echo "make test: ruff, mypy and pytest all passed"

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)
	$(BIN)/python -m bench.console
	$(BIN)/python -m bench.budget

# Mutation testing (mutmut, configured in pyproject.toml [tool.mutmut]): every mutant of the safety-critical modules
# against the fast tests, then the score per module (docs/reliability.md). Not part of `make test`: it takes long.
mutate: $(STAMP)
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 || true
	$(BIN)/python -m tests.mutation_report

# The README's console screenshot, taken by the browser test during a real local migration.
screenshot: $(STAMP)
	rm -f docs/console.png
	CONSOLE_SCREENSHOT=docs/console.png $(BIN)/python -m pytest -q \
		tests/console/test_live.py::test_a_tagged_image_appears_and_its_region_bars_reach_100
	@test -f docs/console.png && echo "docs/console.png refreshed"

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache .hypothesis
