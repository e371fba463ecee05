#!/usr/bin/env bash
# The operators' web console (issue 13, ADR 0019) of this stack: one process, on 127.0.0.1:$MEDAID_CONSOLE_PORT.
#   console.sh start | stop | status | url
# Whenever the console has no operator (a new or wiped database), it makes `admin` (role operator) at start, with
# the password in $MEDAID_STATE_DIR/secrets/console.json (made with a random one if missing; ADR 0024);
# more: python -m services.console.entrypoints.operators add NAME --role viewer
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PY="${MEDAID_PYTHON:-$REPO_DIR/.venv/bin/python}"
export MEDAID_CONSOLE_PORT="${MEDAID_CONSOLE_PORT:-8470}"
PIDFILE="$MEDAID_STATE_DIR/pids/console.pid"
LOGFILE="$MEDAID_STATE_DIR/logs/console.log"
PASSWORDS="${MEDAID_CONSOLE_PASSWORD_FILE:-$MEDAID_STATE_DIR/secrets/console.json}"
URL="http://127.0.0.1:$MEDAID_CONSOLE_PORT/"

start() {
  if pid_alive "$PIDFILE"; then log "console already running: $URL"; return 0; fi
  local offset; offset="$(cat "$MEDAID_STATE_DIR/clock-offset" 2>/dev/null || echo 0)"
  local from; from=$(($( { wc -l < "$LOGFILE"; } 2>/dev/null || echo 0) + 1))
  (cd "$REPO_DIR" && MEDAID_CLOCK_OFFSET_SECONDS="$offset" exec "$PY" -m services.console >> "$LOGFILE" 2>&1 < /dev/null) &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 120); do
    if tail -n "+$from" "$LOGFILE" | grep -q service_started; then
      if tail -n "+$from" "$LOGFILE" | grep -q console_first_operator_made; then
        log "console on $URL: first operator admin made (password in $PASSWORDS)"
      else
        log "console on $URL (log in as admin: password in $PASSWORDS, unless it was changed since)"
      fi
      return 0
    fi
    pid_alive "$PIDFILE" || break
    sleep 0.25
  done
  tail -n "+$from" "$LOGFILE" | tail -20 >&2
  die "the console did not start: see $LOGFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop_pid "$PIDFILE" console ;;
  status) if pid_alive "$PIDFILE"; then echo "console: running on $URL"; else echo "console: stopped"; fi ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
