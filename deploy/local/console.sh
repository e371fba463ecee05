#!/usr/bin/env bash
# The operators' web console (issue 13, ADR 0019) of this stack: one process, on 127.0.0.1:$MEDAID_CONSOLE_PORT.
#   console.sh start | stop | status | url
# On first start it makes an operator `admin` (role operator) with a random password, kept in
# $MEDAID_STATE_DIR/secrets/console.json; more: python -m services.console.entrypoints.operators add NAME --role viewer
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PY="${MEDAID_PYTHON:-$REPO_DIR/.venv/bin/python}"
export MEDAID_CONSOLE_PORT="${MEDAID_CONSOLE_PORT:-8470}"
PIDFILE="$MEDAID_STATE_DIR/pids/console.pid"
LOGFILE="$MEDAID_STATE_DIR/logs/console.log"
PASSWORDS="$MEDAID_STATE_DIR/secrets/console.json"
URL="http://127.0.0.1:$MEDAID_CONSOLE_PORT/"

first_operator() {
  [[ -f "$PASSWORDS" ]] && return 0
  local password; password="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(18))')"
  (cd "$REPO_DIR" && MEDAID_CONSOLE_PASSWORD="$password" "$PY" -m services.console.entrypoints.operators add admin --role operator) \
    || die "could not make the console's first operator"
  (umask 077; mkdir -p "$(dirname "$PASSWORDS")"; printf '{"admin": "%s"}\n' "$password" > "$PASSWORDS")
}

start() {
  if pid_alive "$PIDFILE"; then log "console already running: $URL"; return 0; fi
  first_operator
  local offset; offset="$(cat "$MEDAID_STATE_DIR/clock-offset" 2>/dev/null || echo 0)"
  local from; from=$(($( { wc -l < "$LOGFILE"; } 2>/dev/null || echo 0) + 1))
  (cd "$REPO_DIR" && MEDAID_CLOCK_OFFSET_SECONDS="$offset" exec "$PY" -m services.console >> "$LOGFILE" 2>&1 < /dev/null) &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 120); do
    if tail -n "+$from" "$LOGFILE" | grep -q service_started; then
      log "console on $URL (log in as admin: password in $PASSWORDS)"
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
