#!/usr/bin/env bash
# Kafka + PostgreSQL + topics for one state folder.
#   infra.sh up       start both (installing what is missing), create the topics; harmless twice
#   infra.sh down     stop both
#   infra.sh wipe     stop both and delete their data
#   infra.sh status
#   infra.sh env      print the MEDAID_* settings that point at this stack
#   infra.sh connect-help   how an outside client connects (also printed by `up`)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
HERE="$(dirname "${BASH_SOURCE[0]}")"
PY="${MEDAID_PYTHON:-$REPO_DIR/.venv/bin/python}"

print_env() {
  echo "export MEDAID_KAFKA_BOOTSTRAP=$(kafka_bootstrap) MEDAID_SECRETS_FILE=${MEDAID_SECRETS_FILE:-$MEDAID_STATE_DIR/secrets/kafka.json}"
  [[ "$KAFKA_BROKERS" == 1 ]] || echo "export MEDAID_KAFKA_REPLICATION_FACTOR=$MEDAID_KAFKA_REPLICATION_FACTOR MEDAID_KAFKA_MIN_INSYNC_REPLICAS=$MEDAID_KAFKA_MIN_INSYNC_REPLICAS"
  echo "export MEDAID_PG_HOST=127.0.0.1 MEDAID_PG_PORT=$PG_PORT MEDAID_PG_DATABASE=${MEDAID_PG_DATABASE:-medaid}"
}

connect_help() {  # how an outside client connects (printed by `infra.sh up`, so by `make up`; run by tests/e2e/test_integrators.py)
  local pw="python3 -c 'import json; print(json.load(open(\"$MEDAID_SECRETS_FILE\"))[\"province-440000\"])'"
  cat >&2 <<HELP
Kafka clients authenticate: SASL_PLAINTEXT, SCRAM-SHA-512, one principal each (deploy/acls.toml, docs/security.md);
the passwords are in $MEDAID_SECRETS_FILE. Guangdong's system reading its notifications, for example:
  aiokafka: AIOKafkaConsumer("province.440000.notifications.v1", bootstrap_servers="127.0.0.1:$KAFKA_PORT",
                security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                sasl_plain_username="province-440000", sasl_plain_password=<its password>)
  kcat (on librdkafka 2.6.1 or later, see \`kcat -V\`: Kafka 4 refuses older ones' SCRAM, such as Debian 12's 2.0.2):
            kcat -b 127.0.0.1:$KAFKA_PORT -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=SCRAM-SHA-512 \\
                -X sasl.username=province-440000 -X sasl.password="\$($pw)" -C -t province.440000.notifications.v1 -e
Writing a provincial system's client (connect, sign, sent_at, read the answers; Debian 12's kcat): docs/integrators.md
HELP
}

case "${1:-}" in
  up)
    # every principal's password (made once, kept in the state folder; MEDAID_SECRETS_FILE points elsewhere)
    (cd "$REPO_DIR" && "$PY" -m tools.acls secrets --local >/dev/null)
    (cd "$REPO_DIR" && "$PY" -m tools.keys ensure)
    (cd "$REPO_DIR" && "$PY" -m tools.dbsetup secrets)  # each PostgreSQL role's own password
    "$HERE/kafka.sh" start
    "$HERE/postgres.sh" start
    (cd "$REPO_DIR" && "$PY" -m tools.topics --bootstrap "$(kafka_bootstrap)")
    (cd "$REPO_DIR" && MEDAID_KAFKA_BOOTSTRAP="$(kafka_bootstrap)" "$PY" -m tools.acls apply --local)
    log "Kafka: $(kafka_bootstrap) ($KAFKA_BROKERS node(s))   PostgreSQL: 127.0.0.1:$PG_PORT (database ${MEDAID_PG_DATABASE:-medaid})   logs: $MEDAID_STATE_DIR/logs"
    connect_help
    ;;
  down) "$HERE/kafka.sh" stop; "$HERE/postgres.sh" stop ;;
  wipe) "$HERE/kafka.sh" stop; "$HERE/postgres.sh" wipe; rm -rf "$MEDAID_STATE_DIR/prometheus" "$MEDAID_STATE_DIR/kafka" "$MEDAID_STATE_DIR"/kafka-[0-9]; rm -f "$MEDAID_STATE_DIR/clock-offset"; log "Kafka data and the business clock removed (the next start runs on real time)" ;;
  status) "$HERE/kafka.sh" status; "$HERE/postgres.sh" status ;;
  connect-help) connect_help ;;
  env) print_env ;;
  *) echo "usage: $0 up|down|wipe|status|env|connect-help" >&2; exit 2 ;;
esac
