#!/usr/bin/env bash
# Prometheus from Debian's packages, scraping every service process of this stack (issue 13), no Docker.
#   prometheus.sh start    install it if missing (as root), write its config, start it on 127.0.0.1:$PROMETHEUS_PORT
#   prometheus.sh stop | status | config
# The config (deploy/prometheus/prometheus.yml is the docker-compose one) lists each service's /metrics:
# $MEDAID_METRICS_PORT_BASE + 1..4, and +10 per extra process (INSTANCES). Data in $MEDAID_STATE_DIR/prometheus.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DIR="$MEDAID_STATE_DIR/prometheus"
PIDFILE="$MEDAID_STATE_DIR/pids/prometheus.pid"
LOGFILE="$MEDAID_STATE_DIR/logs/prometheus.log"
CONFIG="$DIR/prometheus.yml"
RULES="$REPO_DIR/deploy/prometheus/rules.yml"
INSTANCES="${INSTANCES:-1}"
SERVICES=(wallet relationship payment clearing)

install_prometheus() {
  command -v prometheus >/dev/null && return 0
  if [[ "$(id -u)" != 0 ]]; then
    log "Prometheus is not installed ('sudo apt-get install -y prometheus'): the stack runs without it"
    exit 0
  fi
  log "installing Prometheus from apt"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >&2 \
    || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >&2; }
}

write_config() {
  mkdir -p "$DIR"
  {
    echo "# written by deploy/local/prometheus.sh for $MEDAID_STATE_DIR; do not edit (it is written again on start)"
    echo "global: {scrape_interval: 5s, evaluation_interval: 5s}"
    echo "rule_files: ['$RULES']"
    echo "scrape_configs:"
    echo "  - job_name: prometheus"
    echo "    static_configs: [{targets: ['127.0.0.1:$PROMETHEUS_PORT']}]"
    local s i n
    for n in "${!SERVICES[@]}"; do
      s="${SERVICES[$n]}"
      echo "  - job_name: $s"
      echo "    static_configs:"
      for ((i = 1; i <= INSTANCES; i++)); do
        echo "      - targets: ['127.0.0.1:$((MEDAID_METRICS_PORT_BASE + 1 + n + 10 * (i - 1)))']"
        echo "        labels: {service: $s, process: '$i'}"
      done
    done
  } > "$CONFIG.tmp"
  mv "$CONFIG.tmp" "$CONFIG"
}

start() {
  install_prometheus
  write_config
  if pid_alive "$PIDFILE"; then
    kill -HUP "$(cat "$PIDFILE")"  # the config again (INSTANCES may have changed)
    log "Prometheus already running on 127.0.0.1:$PROMETHEUS_PORT (config reloaded)"
    return 0
  fi
  (exec prometheus --config.file="$CONFIG" --storage.tsdb.path="$DIR/data" --storage.tsdb.retention.time=7d \
      --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle >> "$LOGFILE" 2>&1 < /dev/null) &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" >/dev/null 2>&1; then
      log "Prometheus on http://127.0.0.1:$PROMETHEUS_PORT (targets: /targets; log $LOGFILE)"
      return 0
    fi
    pid_alive "$PIDFILE" || break
    sleep 0.5
  done
  tail -20 "$LOGFILE" >&2
  die "Prometheus did not start: see $LOGFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid "$PIDFILE" Prometheus ;;
  status) if pid_alive "$PIDFILE"; then echo "prometheus: running on 127.0.0.1:$PROMETHEUS_PORT"; else echo "prometheus: stopped"; fi ;;
  config) write_config; cat "$CONFIG" ;;
  *) echo "usage: $0 start|stop|status|config" >&2; exit 2 ;;
esac
