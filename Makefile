# Invoices and Contracts: every task a user or operator needs is a target here.
SHELL := /bin/bash
UV ?= python3 -m uv
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: help setup run up test test-fast lint bench sim events-doc clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.venv/.synced: uv.lock pyproject.toml */pyproject.toml */*/pyproject.toml
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --all-groups
	@# The invoice PDF font (a static instance of Noto Sans SC, ~15 s once per machine).
	$(UV) run --frozen python -c "from invoice_svc.documents.fonts import register_fonts; register_fonts()"
	@touch $@

setup: .venv/.synced ## install everything from the lock file into .venv

run: setup ## the whole system in one process (embedded mode) on :$(PORT)
	$(UV) run --frozen python -m gateway.embedded --port $(PORT)

up: setup ## distributed mode: each service its own process, PostgreSQL + RabbitMQ
	@scripts/ensure-services.sh
	$(UV) run --frozen python deploy/local/up.py

test: setup ## the whole suite against real PostgreSQL and RabbitMQ
	@scripts/ensure-services.sh
	$(UV) run --frozen pytest $(PYTEST_ARGS)

test-fast: setup ## the suite without the slow reliability tests
	@scripts/ensure-services.sh
	$(UV) run --frozen pytest -m "not reliability" $(PYTEST_ARGS)

lint: setup ## ruff
	$(UV) run --frozen ruff check .

bench: setup ## benchmarks; figures printed and stored in bench/results/
	@scripts/ensure-services.sh
	$(UV) run --frozen python bench/run.py

sim: setup ## publish a simulated billing-core event stream to RabbitMQ (after `make up`; SIM_ARGS=...)
	$(UV) run --frozen python -m sim publish --seed $${SEED:-42} --accounts $${ACCOUNTS:-10} --months $${MONTHS:-3} $(SIM_ARGS)

events-doc: setup ## regenerate docs/events/ (JSON Schemas + catalogue) from the event models
	$(UV) run --frozen python -m sim schema --out docs/events/
	$(UV) run --frozen python -m invoice_svc.events_doc --out docs/published-events/invoice-svc/

clean: ## remove the embedded-mode data under var/
	rm -rf var
