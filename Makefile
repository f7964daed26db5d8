# One command per task. CI (.ci/run) calls `make test`.
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup run serve test lint typecheck unit bench screenshots clean compat

$(BIN)/headwater: pyproject.toml scripts/bootstrap
	./scripts/bootstrap
	@touch $@

setup: $(BIN)/headwater

## Quick start: set up and run the service on its embedded defaults, with the demo (a local Salesforce,
## dataflows for Account and Contact run once with progress); it keeps serving until Ctrl-C.
run: setup
	$(BIN)/headwater demo

## The service alone (API, UI, scheduler, workers), no demo data.
serve: setup
	$(BIN)/headwater serve

lint: setup
	$(BIN)/ruff check src tests bench examples compat
	$(BIN)/ruff format --check src tests bench examples compat
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest $(PYTEST_ARGS)

## Quick start: set up and run the whole test suite (lint, types, tests).
test: lint typecheck unit

bench: setup
	$(BIN)/python -m bench

## Regenerate docs/screenshots/ (every UI page; needs Chromium).
screenshots: setup
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .headwater .pytest_cache .mypy_cache .ruff_cache .compat

## The peers' unmodified Salesforce clients (simple-salesforce, Airbyte, tap-salesforce, dlt) against the
## emulator with 200k Accounts and Contacts, each in its own virtualenv under .compat/ (not in `make test`).
compat: setup
	$(BIN)/python compat/run.py $(COMPAT_ARGS)
