# The project's vocabulary. `make run` and `make test` are all a new user needs (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
export MEDAID_STATE_DIR ?= $(CURDIR)/.run
# The local stack's business clock starts at 10:00 Shanghai time today, so `make run` shows transfers at
# any hour (no quiet hours). Set MEDAID_CLOCK_START (or MEDAID_CLOCK_OFFSET_SECONDS) to choose another.
export MEDAID_CLOCK_START ?= $(shell TZ=Asia/Shanghai date +%Y-%m-%d)T10:00:00+08:00

.PHONY: help setup up down run simulate test test-unit test-integration test-e2e lint typecheck format contracts logs status wipe bench bench-clearing clean books reconcile settlements clearing

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null || python3 -m pip install --quiet --disable-pip-version-check uv
	uv sync --frozen --quiet
	@touch $@

setup: .venv/.synced ## install the locked Python environment (.venv)

up: setup ## start Kafka, PostgreSQL and the four services in the background (harmless twice)
	deploy/local/infra.sh up
	deploy/local/services.sh start
	@echo "Kafka 127.0.0.1:$${KAFKA_PORT:-9092}  PostgreSQL 127.0.0.1:$${PG_PORT:-5433}  logs $(MEDAID_STATE_DIR)/logs  (make down stops)"

down: ## stop everything `make up` started
	-deploy/local/services.sh stop
	deploy/local/infra.sh down

run: up ## up + the province simulator driving traffic (a day, the night, the month's close), then a summary
	$(PY) -m tools.simulator --night --month-end

simulate: setup ## the province simulator alone, against a running platform
	$(PY) -m tools.simulator

test: setup ## every tier: unit, contract, integration and end-to-end on a real Kafka and PostgreSQL
	$(PY) -m pytest -q

test-unit: setup ## the fast tiers only (no servers)
	$(PY) -m pytest -q tests/unit tests/contract

test-integration: setup ## integration tier
	$(PY) -m pytest -q tests/integration

test-e2e: setup ## end-to-end tier
	$(PY) -m pytest -q tests/e2e

lint: setup ## ruff
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format: setup ## ruff format + autofix
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

typecheck: setup ## mypy --strict
	.venv/bin/mypy .

contracts: setup ## regenerate the committed JSON Schemas and AsyncAPI documents
	$(PY) -m tools.contracts

logs: ## follow the services' logs
	tail -n 50 -F $(MEDAID_STATE_DIR)/logs/{wallet,relationship,payment,clearing}.log

status: ## what runs
	@deploy/local/infra.sh status; deploy/local/services.sh status

wipe: down ## stop and delete all local data (Kafka log, PostgreSQL cluster)
	deploy/local/infra.sh wipe

clean: ## remove caches and the virtualenv
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache

bench: up ## ingress benchmark through the wallet service (see BENCHMARKS.md)
	$(PY) -m tools.bench --messages 2000
	$(PY) -m tools.bench --messages 1500 --rate 50
	$(PY) -m tools.bench_saga --families 300
	$(PY) -m tools.bench_settlements --families 300
	$(PY) -m tools.bench_settlements --families 300 --rate 40

bench-clearing: up ## close a month of 1M obligations through the broker (ITEMS=..., ARGS=--direct; see BENCHMARKS.md)
	$(PY) -m tools.bench_clearing --items $(or $(ITEMS),1000000) $(ARGS)

policy: setup ## regional policies: make policy ARGS="show 370100" | ARGS="set 430000 max_active_recipients_per_provider=8"
	$(PY) -m services.relationship.entrypoints.policy_cli $(ARGS)

books: setup ## the platform's books: each service's invariants and conservation across services
	$(PY) -m tools.books

reconcile: setup ## 3201-style reconciliation: make reconcile ARGS="--region 610100 --period 202611"
	$(PY) -m tools.reconcile $(ARGS)

clearing: setup ## clearing for operators: make clearing ARGS=months | ARGS="close 202611" | ARGS="statement 202611 610100" | ARGS=books
	$(PY) -m services.clearing.entrypoints.clearing_cli $(ARGS)

settlements: setup ## settlements for operators: make settlements ARGS="list --state debiting" | ARGS="show SETL_ID" | ARGS=books
	$(PY) -m services.payment.entrypoints.settlements_cli $(ARGS)

transfers: setup ## transfers for operators: make transfers ARGS="list --state pending --older-than 60" | ARGS="show ID" | ARGS=books
	$(PY) -m services.wallet.entrypoints.transfers_cli $(ARGS)
