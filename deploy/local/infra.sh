#!/usr/bin/env bash
# Kafka + PostgreSQL + topics for one state folder.
#   infra.sh up       start both (installing what is missing), create the topics; harmless twice
#   infra.sh down     stop both
#   infra.sh wipe     stop both and delete their data
#   infra.sh status
#   infra.sh env      print the MEDAID_* settings that point at this stack
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
HERE="$(dirname "${BASH_SOURCE[0]}")"
PY="${MEDAID_PYTHON:-$REPO_DIR/.venv/bin/python}"

print_env() {
  echo "export MEDAID_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT"
  echo "export MEDAID_PG_HOST=127.0.0.1 MEDAID_PG_PORT=$PG_PORT MEDAID_PG_DATABASE=${MEDAID_PG_DATABASE:-medaid}"
}

case "${1:-}" in
  up)
    "$HERE/kafka.sh" start
    "$HERE/postgres.sh" start
    (cd "$REPO_DIR" && "$PY" -m tools.topics --bootstrap "127.0.0.1:$KAFKA_PORT")
    log "Kafka: 127.0.0.1:$KAFKA_PORT   PostgreSQL: 127.0.0.1:$PG_PORT (database ${MEDAID_PG_DATABASE:-medaid})   logs: $MEDAID_STATE_DIR/logs"
    ;;
  down) "$HERE/kafka.sh" stop; "$HERE/postgres.sh" stop ;;
  wipe) "$HERE/kafka.sh" stop; "$HERE/postgres.sh" wipe; rm -rf "$MEDAID_STATE_DIR/kafka"; rm -f "$MEDAID_STATE_DIR/clock-offset"; log "Kafka data and the business clock removed (the next start runs on real time)" ;;
  status) "$HERE/kafka.sh" status; "$HERE/postgres.sh" status ;;
  env) print_env ;;
  *) echo "usage: $0 up|down|wipe|status|env" >&2; exit 2 ;;
esac
