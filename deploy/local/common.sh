# Sourced by the local infrastructure scripts. Every setting has an environment override.
# shellcheck shell=bash
set -euo pipefail
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Where a stack keeps its data, logs and pids. `make up` uses .run/; the tests use .run/test.
MEDAID_STATE_DIR="${MEDAID_STATE_DIR:-$REPO_DIR/.run}"
# Downloads that outlive a checkout (Kafka jars) go here, outside the work tree.
MEDAID_CACHE_DIR="${MEDAID_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/medaid}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HEAP="${KAFKA_HEAP:-1g}"
# How many Kafka nodes (each broker and controller): 1, or 3 for a real cluster (`make up BROKERS=3`). Node i listens
# on KAFKA_PORT + 2(i-1) and its controller on KAFKA_CONTROLLER_PORT + 2(i-1). Topics then get 3 replicas and
# min.insync.replicas 2, as in production (MEDAID_KAFKA_REPLICATION_FACTOR, MEDAID_KAFKA_MIN_INSYNC_REPLICAS).
KAFKA_BROKERS="${KAFKA_BROKERS:-${BROKERS:-$(cat "$MEDAID_STATE_DIR/kafka/brokers" 2>/dev/null || echo 1)}}"  # a made cluster keeps its size
[[ "$KAFKA_BROKERS" == 1 || "$KAFKA_BROKERS" == 3 ]] || { echo "BROKERS must be 1 or 3, not $KAFKA_BROKERS" >&2; exit 2; }
if [[ "$KAFKA_BROKERS" == 3 ]]; then
  export MEDAID_KAFKA_REPLICATION_FACTOR="${MEDAID_KAFKA_REPLICATION_FACTOR:-3}"
  export MEDAID_KAFKA_MIN_INSYNC_REPLICAS="${MEDAID_KAFKA_MIN_INSYNC_REPLICAS:-2}"
fi
kafka_bootstrap() {  # every node's client address, comma separated
  local i out=""
  for ((i = 0; i < KAFKA_BROKERS; i++)); do out+="${out:+,}127.0.0.1:$((KAFKA_PORT + 2 * i))"; done
  echo "$out"
}
PG_PORT="${PG_PORT:-5433}"
# each service process's Prometheus /metrics: base + 1..4 (wallet, relationship, payment, clearing), +10 per extra
# process (INSTANCES); Prometheus itself on PROMETHEUS_PORT
export MEDAID_METRICS_PORT_BASE="${MEDAID_METRICS_PORT_BASE:-9410}"
PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
# Every principal's Kafka password (JSON), made by `tools.acls secrets`; kept out of the repository.
export MEDAID_SECRETS_FILE="${MEDAID_SECRETS_FILE:-$MEDAID_STATE_DIR/secrets/kafka.json}"
# Signed envelopes (docs/signing.md): the public key registry the services verify against, and the private
# keys of this stack's simulated provinces and of the platform (made by `tools.keys ensure`).
export MEDAID_KEY_REGISTRY_FILE="${MEDAID_KEY_REGISTRY_FILE:-$MEDAID_STATE_DIR/keys/registry.json}"
export MEDAID_SIGNING_KEYS_FILE="${MEDAID_SIGNING_KEYS_FILE:-$MEDAID_STATE_DIR/secrets/signing.json}"
export MEDAID_PLATFORM_SIGNING_KEY_FILE="${MEDAID_PLATFORM_SIGNING_KEY_FILE:-$MEDAID_STATE_DIR/secrets/platform-signing.json}"
# Each PostgreSQL service role's own password (JSON), made by `tools.dbsetup secrets`.
export MEDAID_PG_SECRETS_FILE="${MEDAID_PG_SECRETS_FILE:-$MEDAID_STATE_DIR/secrets/postgres.json}"
# A developer's machine: the services accept the repository's local identity key (never elsewhere).
export MEDAID_ENVIRONMENT="${MEDAID_ENVIRONMENT:-local}"
# The national operator's sender code (only it closes a clearing month); tools/keys.py makes its key.
export MEDAID_NATIONAL_OPERATORS="${MEDAID_NATIONAL_OPERATORS:-110102}"
mkdir -p "$MEDAID_STATE_DIR/logs" "$MEDAID_STATE_DIR/pids"

log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "$(basename "$0" .sh)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

pid_alive() {  # pid_alive FILE -> 0 when the pid in FILE is a running process (a zombie is not)
  [[ -f "$1" ]] || return 1
  local pid; pid="$(cat "$1")"
  kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null)" != "Z" ]]
}

stop_pid() {  # stop_pid FILE NAME: TERM, wait up to 30 s, then KILL
  local file=$1 name=$2 pid
  if ! pid_alive "$file"; then rm -f "$file"; return 0; fi
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do pid_alive "$file" || break; sleep 0.5; done
  if pid_alive "$file"; then log "$name did not stop in 30 s: killing"; kill -9 "$pid" || true; fi
  rm -f "$file"
  log "$name stopped"
}
