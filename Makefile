# The project's vocabulary. `make run` and `make test` are all a new user needs (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
export MEDAID_STATE_DIR ?= $(CURDIR)/.run
# One business clock for the local stack (ADR 0011): real time plus the offset in $(MEDAID_STATE_DIR)/clock-offset,
# which the first `make up` writes (0, or MEDAID_CLOCK_OFFSET_SECONDS if set) and only `make clock` moves, forward.
# Once the file exists it wins over the environment; it is read again for every target, so the simulator and
# the CLIs run on the services' clock.
CLOCK_OFFSET_FROM_ENV := $(MEDAID_CLOCK_OFFSET_SECONDS)
export MEDAID_CLOCK_OFFSET_SECONDS = $(or $(shell cat "$(MEDAID_STATE_DIR)/clock-offset" 2>/dev/null),$(CLOCK_OFFSET_FROM_ENV),0)
# The instants at which `make test-any-day` runs the time-sensitive tests again (the platform's business time).
# The month-end test (first) closes the month of each: December 2026, April 2027, February 2028.
ANY_DAY ?= 2026-12-31T23:59:30+08:00 2027-04-30T23:59:30+08:00 2028-02-29T05:59:30+08:00

.PHONY: help setup up down run simulate test test-any-day test-unit test-integration test-e2e lint typecheck format contracts logs status wipe bench bench-scale bench-clearing bench-queries clean bench-catch-up crash torture books reconcile settlements clearing clock transfers policy up-daytime dlq bench-costs bench-waits

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
	deploy/local/prometheus.sh start
	deploy/local/console.sh start
	@echo "Kafka 127.0.0.1:$${KAFKA_PORT:-9092}  PostgreSQL 127.0.0.1:$${PG_PORT:-5433}  logs $(MEDAID_STATE_DIR)/logs  (make down stops)"
	@echo "metrics: each service on 127.0.0.1:$${MEDAID_METRICS_PORT_BASE:-9410}+1..4/metrics; Prometheus http://127.0.0.1:$${PROMETHEUS_PORT:-9090}"
	@echo "business clock: real time $$(cat "$(MEDAID_STATE_DIR)/clock-offset") s  (make clock shows it; make clock ARGS='advance --hours 8' moves the platform forward)"

down: ## stop everything `make up` started
	-deploy/local/console.sh stop
	-deploy/local/prometheus.sh stop
	-deploy/local/services.sh stop
	deploy/local/infra.sh down

run: up ## up + the province simulator driving traffic (a day, the night, the month's close), then a summary
	$(PY) -m tools.simulator --daytime --night --month-end
	@echo "operators' console: $$(deploy/local/console.sh url)  (log in as admin; the password is in $(MEDAID_STATE_DIR)/secrets/console.json)"

simulate: setup ## the province simulator alone, against a running platform (at night, it moves the stack's clock on to 10:00)
	$(PY) -m tools.simulator --daytime

# What the tests need from Debian beyond `make run` (installed by `needs` as root or with sudo, else named).
TEST_NEEDS ?= java:openjdk-17-jre-headless mvn:maven /usr/lib/postgresql/*/bin/initdb:postgresql \
  prometheus:prometheus chromium:chromium chromedriver:chromium-driver kcat:kcat jq:jq openssl:openssl

test: setup ## every tier: unit, contract, integration and end-to-end on a real Kafka and PostgreSQL
	deploy/local/needs.sh $(TEST_NEEDS)
	$(PY) -m pytest -q

test-any-day: setup ## the time-sensitive tests again at each ANY_DAY instant, and the fast tiers on a faked machine date
	@deploy/local/needs.sh $(TEST_NEEDS) faketime:faketime
	@for at in $(ANY_DAY); do \
	  echo "== business time $$at: transfers, the 06:00 return, quiet hours, paying, the month close, the simulator"; \
	  MEDAID_TEST_CLOCK_AT=$$at $(PY) -m pytest -q -p no:cacheprovider tests/e2e/test_clearing.py \
	    tests/e2e/test_transfers.py tests/e2e/test_payments.py \
	    tests/e2e/test_platform.py::test_the_province_simulator_gets_every_answer_it_expects || exit 1; \
	done
	@echo "== the machine's date faked to 2028-02-29 23:59:30 Shanghai (libfaketime): the unit and contract tiers"
	TZ=UTC FAKETIME_DONT_FAKE_MONOTONIC=1 faketime '2028-02-29 15:59:30' $(PY) -m pytest -q -p no:cacheprovider -m "not integration" tests/unit tests/contract tests/ports

test-unit: setup ## the fast tiers only (no servers): the domain, every use case on the in-memory ports, the contracts
	$(PY) -m pytest -q -m "not integration" tests/unit tests/contract tests/ports

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

status: ## what runs, and the business clock
	@deploy/local/infra.sh status; deploy/local/services.sh status; deploy/local/prometheus.sh status; deploy/local/console.sh status
	@[ ! -x $(PY) ] || $(PY) -m tools.clock show || true

clock: setup ## the one business clock: make clock | ARGS="advance --hours 8" | ARGS="advance-to 2026-12-31T23:59:30+08:00" | ARGS=daytime
	$(PY) -m tools.clock $(or $(ARGS),show)

wipe: down ## stop and delete all local data (Kafka log, PostgreSQL cluster)
	deploy/local/infra.sh wipe

clean: ## remove caches and the virtualenv
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache

up-daytime: up ## up, then outside 06:00-21:00 business time the stack's clock moves on to 10:00
	$(PY) -m tools.clock daytime

bench: up-daytime ## throughput, latency, CPU and memory through the platform, with the monolith baseline and ratio (BENCHMARKS.md); outside 06:00-21:00 business time the stack's clock first moves on to 10:00
	$(PY) -m tools.bench_resources -- $(PY) -m tools.bench --messages 4000
	$(PY) -m tools.bench --messages 2000 --rate 100
	$(PY) -m tools.bench_resources --after "setup of" --until "transfer saga x" -- $(PY) -m tools.bench_saga --families 1000
	$(PY) -m tools.bench_resources --after "setup of" -- $(PY) -m tools.bench_settlements --families 1000
	$(PY) -m tools.bench_settlements --families 600 --rate 40

# What one operation costs, counted (BENCHMARKS.md, first section): SAGAS transfer sagas, SETTLEMENTS settlements (and
# their cancellations, counted but without CPU), CREDITS account credits, each after its own set-up. CPU counts this
# checkout's stack only (--stack), so other stacks on the machine do not add to it; they do slow it.
# A measured part includes about 15 s of the stack going quiet: the first line is the idle stack's CPU over 30 s.
bench-costs: up-daytime ## what one transfer saga, settlement and account credit cost, counted: Kafka records produced and consumed, PostgreSQL transactions and statements, catch-up waits, CPU (SAGAS=300 SETTLEMENTS=300 CREDITS=1000)
	$(PY) -m tools.bench_resources --stack $(CURDIR) -- sleep 30
	$(PY) -m tools.bench_resources --stack $(CURDIR) --per $(or $(SAGAS),300) --after "costs: measuring" --until "costs: measured" -- \
	  $(PY) -m tools.bench_costs --op saga -n $(or $(SAGAS),300)
	$(PY) -m tools.bench_resources --stack $(CURDIR) --per $(or $(SETTLEMENTS),300) --after "costs: measuring" --until "costs: measured" -- \
	  $(PY) -m tools.bench_costs --op settlement -n $(or $(SETTLEMENTS),300)
	$(PY) -m tools.bench_resources --stack $(CURDIR) --per $(or $(CREDITS),1000) --after "costs: measuring" --until "costs: measured" -- \
	  $(PY) -m tools.bench_costs --op credit -n $(or $(CREDITS),1000)

bench-waits: up-daytime ## what the services' database sessions wait for during a burst of 4,000 credits (their service's process, another transaction's lock, the WAL)
	$(PY) -m tools.bench_waits -- $(PY) -m tools.bench --messages 4000

bench-scale: up-daytime ## the same stack with 1, 2 and 3 processes of each service (INSTANCES), one after another
	@for n in 1 2 3; do \
	  deploy/local/services.sh stop >/dev/null 2>&1; INSTANCES=$$n deploy/local/services.sh start >/dev/null 2>&1 || exit 1; \
	  echo "== $$n process(es) of each service"; \
	  $(PY) -m tools.bench_resources -- $(PY) -m tools.bench --messages 4000 && \
	  $(PY) -m tools.bench_resources --after "setup of" -- $(PY) -m tools.bench_saga --families 1000 --baseline-connections 0 || exit 1; \
	done
	deploy/local/services.sh stop >/dev/null 2>&1; deploy/local/services.sh start >/dev/null 2>&1

bench-catch-up: up-daytime ## what read-your-writes costs (ADR 0012): the same benchmarks with MEDAID_CATCH_UP=false, then on, in one run
	@for mode in false true; do \
	  deploy/local/services.sh stop >/dev/null && MEDAID_CATCH_UP=$$mode deploy/local/services.sh start >/dev/null || exit 1; \
	  echo "== MEDAID_CATCH_UP=$$mode"; \
	  $(PY) -m tools.bench --messages 1500 --rate 50 && $(PY) -m tools.bench --messages 2000 && \
	    $(PY) -m tools.bench_saga --families 200 && $(PY) -m tools.bench_settlements --families 200 --rate 40 || exit 1; \
	done
	$(PY) -m tools.bench_catch_up --waits 1000

crash: up-daytime ## transfer sagas while PostgreSQL restarts, the wallet is SIGKILLed twice and Kafka restarts; every answer once, every transfer completed, books balanced (FAMILIES=300)
	$(PY) -m tools.crash_run --families $(or $(FAMILIES),300)

torture: up ## the adversarial workload (issue 28): families racing, faults, invariants outside and inside: make torture DURATION=600 SEED=42 FAULTS=kill,broker,postgres FAMILIES=40 (no SEED: drawn and printed)
	$(PY) -m tools.torture --duration $(or $(DURATION),600) $(if $(SEED),--seed $(SEED)) --faults "$(or $(FAULTS),none)" --families $(or $(FAMILIES),40)

bench-poison: up-daytime ## how long a poisoned partition takes to resume (issue 10): an ordinary record right behind each hostile one, against ordinary records alone
	$(PY) -m tools.bench_poison --pairs 70

bench-signing: setup ## what signing and verifying an envelope costs (Ed25519, one core), against json.loads of the same records
	$(PY) -m tools.bench_signing --messages 20000

bench-queries: up ## a registry.listing page (650k institutions loaded) and a wallet.statement page (a member with 20k movements) through the broker, against their SQL alone
	$(PY) -m tools.bench_queries $(ARGS)

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

settlements: setup ## settlements for operators: make settlements ARGS="list --state debiting" | ARGS="show SETL_ID" | ARGS=books | ARGS="standards show 440300 --year 2027" | ARGS="standards set 440000 390 2027 420.00 --source ..."
	$(PY) -m services.payment.entrypoints.settlements_cli $(ARGS)

dlq: setup ## dead letters: make dlq ARGS="list ingress.settlement.v1.dlq" | ARGS="replay ingress.settlement.v1.dlq --offset 17" (--from/--to, --reason, --dry-run)
	$(PY) -m tools.dlq $(ARGS)

transfers: setup ## transfers for operators: make transfers ARGS="list --state pending --older-than 60" | ARGS="show ID" | ARGS=books
	$(PY) -m services.wallet.entrypoints.transfers_cli $(ARGS)
