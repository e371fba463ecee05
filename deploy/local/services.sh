#!/usr/bin/env bash
# The four services as background processes of this machine (logs: $MEDAID_STATE_DIR/logs/<service>.log).
#   services.sh start|stop|kill|status [service ...]   (default: all four)
# INSTANCES=N starts N processes of each (the same consumer groups share the partitions; issue 12's scale-out):
# instance 1 is <service> (pids/<service>.pid, logs/<service>.log), the others <service>-<i>.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PY="${MEDAID_PYTHON:-$REPO_DIR/.venv/bin/python}"
ALL_SERVICES=(wallet relationship payment clearing)
SERVICES=("${@:2}")
[[ ${#SERVICES[@]} -gt 0 ]] || SERVICES=("${ALL_SERVICES[@]}")
export MEDAID_KAFKA_BOOTSTRAP="${MEDAID_KAFKA_BOOTSTRAP:-$(kafka_bootstrap)}"
export MEDAID_PG_PORT="${MEDAID_PG_PORT:-$PG_PORT}"
export MEDAID_LOG_FORMAT="${MEDAID_LOG_FORMAT:-json}"
CLOCK_FILE="$MEDAID_STATE_DIR/clock-offset"
INSTANCES="${INSTANCES:-1}"
[[ "$INSTANCES" =~ ^[1-9][0-9]*$ ]] || die "INSTANCES=$INSTANCES is not a number of processes"

instances_of() {  # the process names of a service this stack starts, or has running
  local s=$1 i f
  echo "$s"
  for ((i = 2; i <= INSTANCES; i++)); do echo "$s-$i"; done
  for f in "$MEDAID_STATE_DIR/pids/$s"-[0-9]*.pid; do  # more left running by an earlier start
    [[ -e "$f" ]] || continue
    i="${f##*/$s-}"; i="${i%.pid}"; ((i > INSTANCES)) && echo "$s-$i"
  done
  return 0
}

platform_clock() {  # one business clock for this stack: the offset in $CLOCK_FILE, written once (ADR 0011)
  [[ -z "${MEDAID_CLOCK_START:-}" ]] || die "MEDAID_CLOCK_START is gone: the business clock is real time plus MEDAID_CLOCK_OFFSET_SECONDS (make clock moves it)"
  if [[ ! -f "$CLOCK_FILE" ]]; then
    [[ "${MEDAID_CLOCK_OFFSET_SECONDS:-0}" =~ ^[+-]?[0-9]+([.][0-9]+)?$ ]] || die "MEDAID_CLOCK_OFFSET_SECONDS=$MEDAID_CLOCK_OFFSET_SECONDS is not a number of seconds"
    echo "${MEDAID_CLOCK_OFFSET_SECONDS:-0}" > "$CLOCK_FILE.$$" && mv "$CLOCK_FILE.$$" "$CLOCK_FILE"
  fi
  local offset; offset="$(cat "$CLOCK_FILE")"
  if [[ -n "${MEDAID_CLOCK_OFFSET_SECONDS:-}" ]] &&
    ! awk -v a="$offset" -v b="$MEDAID_CLOCK_OFFSET_SECONDS" 'BEGIN { exit !(a + 0 == b + 0) }'; then
    die "this stack's business clock is real time ${offset} s ($CLOCK_FILE); MEDAID_CLOCK_OFFSET_SECONDS=$MEDAID_CLOCK_OFFSET_SECONDS would start a service on another clock. Move the whole platform forward with: make clock ARGS='advance-to ...'"
  fi
  export MEDAID_CLOCK_OFFSET_SECONDS="$offset"
}

start() {
  local s started=()
  local -A from=()
  platform_clock
  local name i
  for s in "${SERVICES[@]}"; do
    for ((i = 1; i <= INSTANCES; i++)); do
      name="$s"; ((i == 1)) || name="$s-$i"
      local pidfile="$MEDAID_STATE_DIR/pids/$name.pid" logfile="$MEDAID_STATE_DIR/logs/$name.log"
      if pid_alive "$pidfile"; then log "$name already running (pid $(cat "$pidfile"))"; continue; fi
      # exec: the pid written is the service's own, and no shell lingers holding the caller's output
      # only this start's lines count: the log keeps the earlier ones, with their own service_started
      from[$name]=$(($( { wc -l < "$logfile"; } 2>/dev/null || echo 0) + 1))
      local metrics_base=$((MEDAID_METRICS_PORT_BASE + 10 * (i - 1)))
      (cd "$REPO_DIR" && MEDAID_METRICS_PORT_BASE=$metrics_base exec "$PY" -m "services.$s" >> "$logfile" 2>&1 < /dev/null) &
      echo $! > "$pidfile"
      started+=("$name")
    done
  done
  for s in "${started[@]}"; do
    local logfile="$MEDAID_STATE_DIR/logs/$s.log" pidfile="$MEDAID_STATE_DIR/pids/$s.pid" ok=""
    for _ in $(seq 1 120); do
      if tail -n "+${from[$s]}" "$logfile" | grep -q service_started; then ok=1; break; fi
      pid_alive "$pidfile" || break
      sleep 0.25
    done
    if [[ -z "$ok" ]]; then
      tail -n "+${from[$s]}" "$logfile" | tail -20 >&2
      if tail -n "+${from[$s]}" "$logfile" | grep -q business_clock_behind; then
        die "$s refused to start: its business clock would move backwards (see $logfile). The stack's offset is in $CLOCK_FILE; make clock shows what each service reached"
      fi
      if tail -n "+${from[$s]}" "$logfile" | grep -q start_refused; then
        die "$s refused to start on its settings or its key registry (the lines above name each problem; $logfile)"
      fi
      die "$s did not start: see $logfile"
    fi
    log "$s started (pid $(cat "$pidfile"), business clock real time ${MEDAID_CLOCK_OFFSET_SECONDS} s, log $logfile)"
  done
}

stop() {  # all at once: each drains its current message and stops its relay
  local s name
  for s in "${SERVICES[@]}"; do
    for name in $(instances_of "$s"); do stop_pid "$MEDAID_STATE_DIR/pids/$name.pid" "$name" & done
  done
  wait
}

status() {
  local s name
  for s in "${SERVICES[@]}"; do
    for name in $(instances_of "$s"); do
      if pid_alive "$MEDAID_STATE_DIR/pids/$name.pid"; then echo "$name: running (pid $(cat "$MEDAID_STATE_DIR/pids/$name.pid"))"
      elif [[ "$name" == "$s" ]]; then echo "$name: stopped"; fi
    done
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) for s in "${SERVICES[@]}"; do for name in $(instances_of "$s"); do pid_alive "$MEDAID_STATE_DIR/pids/$name.pid" && kill -9 "$(cat "$MEDAID_STATE_DIR/pids/$name.pid")"; rm -f "$MEDAID_STATE_DIR/pids/$name.pid"; done; done ;;
  status) status ;;
  *) echo "usage: $0 start|stop|kill|status [service ...]" >&2; exit 2 ;;
esac
