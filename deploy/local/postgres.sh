#!/usr/bin/env bash
# PostgreSQL from Debian's packages: a cluster of the project's own on 127.0.0.1:$PG_PORT, no Docker.
#   postgres.sh start    install PostgreSQL if missing, init the cluster if new, start, bootstrap schemas
#   postgres.sh stop | status
# The cluster lives in $PG_DATA_ROOT (default /var/tmp/medaid/pg-$PG_PORT): outside the work tree,
# because the server runs as the `postgres` user, who may not be able to enter the checkout.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PG_DATA_ROOT="${PG_DATA_ROOT:-/var/tmp/medaid/pg-$PG_PORT}"
PG_ADMIN_PASSWORD="${MEDAID_PG_ADMIN_PASSWORD:-medaid-admin}"
# each service role's own password (JSON, made by `tools.dbsetup secrets`, which infra.sh up runs first)
PG_SECRETS_FILE="${MEDAID_PG_SECRETS_FILE:-$MEDAID_STATE_DIR/secrets/postgres.json}"
PG_DATABASE="${MEDAID_PG_DATABASE:-medaid}"
SERVICES="wallet,relationship,payment,clearing,console"  # every login role and schema (shared/settings.py DATABASE_ROLES)
DATA="$PG_DATA_ROOT/data"
SOCK="$PG_DATA_ROOT/sock"
LOGFILE="$PG_DATA_ROOT/postgres.log"
# Statement counts per role (tools/bench_costs.py reads them): on the command line, so a cluster made before
# this gets them at its next start; the extension is created below, by the superuser, on every start.
PG_STATS_OPTIONS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"

pg_bindir() {
  local initdb
  initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)"
  [[ -n "$initdb" ]] && dirname "$initdb"
}

install_postgres() {
  [[ -n "$(pg_bindir)" ]] && return 0
  [[ "$(id -u)" == 0 ]] || die "PostgreSQL is not installed: run 'sudo apt-get install -y postgresql' (or set MEDAID_PG_HOST/PORT to an existing server)"
  log "installing PostgreSQL from apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  # Debian starts a 'main' cluster on 5432 where systemd runs; ours is separate and needs none of it.
}

as_pg() {  # run a command as the cluster's owner
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  install_postgres
  local bin; bin="$(pg_bindir)"
  mkdir -p "$PG_DATA_ROOT"
  [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$PG_DATA_ROOT"
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    local pwfile; pwfile="$(mktemp)"; printf '%s\n' "$PG_ADMIN_PASSWORD" > "$pwfile"
    [[ "$(id -u)" == 0 ]] && chown postgres "$pwfile"
    as_pg "$bin/initdb" -D "$DATA" -U postgres --pwfile="$pwfile" --auth-local=scram-sha-256 --auth-host=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 >> "$MEDAID_STATE_DIR/logs/postgres-init.log" 2>&1 \
      || { rm -f "$pwfile"; die "initdb failed: see $MEDAID_STATE_DIR/logs/postgres-init.log"; }
    rm -f "$pwfile"
  fi
  # No trust on the socket for any local user (issue 11): a cluster made before this asks for passwords too.
  if grep -qE '^local[[:space:]].*trust[[:space:]]*$' "$DATA/pg_hba.conf" 2>/dev/null; then
    as_pg sed -i -E 's/^(local[[:space:]].*)trust[[:space:]]*$/\1scram-sha-256/' "$DATA/pg_hba.conf"
    as_pg "$bin/pg_ctl" -D "$DATA" reload >/dev/null 2>&1 || true
  fi
  ln -sf "$LOGFILE" "$MEDAID_STATE_DIR/logs/postgres.log"
  if as_pg "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    as_pg mkdir -p "$SOCK"
    local started=$SECONDS
    as_pg "$bin/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 \
      -o "-p $PG_PORT -k $SOCK -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB $PG_STATS_OPTIONS" \
      start >/dev/null || { tail -20 "$LOGFILE" >&2; die "PostgreSQL did not start: see $LOGFILE"; }
    log "PostgreSQL $(basename "$(dirname "$bin")") ready on 127.0.0.1:$PG_PORT in $((SECONDS - started)) s (log: $LOGFILE)"
  fi
  local psql=(as_pg env PGPASSWORD="$PG_ADMIN_PASSWORD" psql -q -X -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PG_PORT" -U postgres)
  if [[ -z "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" ]]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE \"$PG_DATABASE\"" >&2
  fi
  [[ -f "$PG_SECRETS_FILE" ]] || die "no role passwords at $PG_SECRETS_FILE (python -m tools.dbsetup secrets makes them)"
  local passwords; passwords="$(tr -d '\n' < "$PG_SECRETS_FILE")"
  [[ "$passwords" != *"'"* ]] || die "$PG_SECRETS_FILE: a password must not contain a single quote"
  { echo "SET client_min_messages = warning; SET medaid.services = '$SERVICES'; SET medaid.passwords = '$passwords';"
    cat "$REPO_DIR/deploy/postgres/bootstrap.sql"; } | "${psql[@]}" -d "$PG_DATABASE" -f - >&2
  "${psql[@]}" -d "$PG_DATABASE" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >&2
}

stop() {
  local bin; bin="$(pg_bindir)"
  if [[ -n "$bin" && -f "$DATA/PG_VERSION" ]] && as_pg "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    log "PostgreSQL stopped"
  fi
}

wipe() { stop; rm -rf "$PG_DATA_ROOT"; log "PostgreSQL data removed ($PG_DATA_ROOT)"; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  wipe) wipe ;;
  status)
    bin="$(pg_bindir)"
    if [[ -n "$bin" && -f "$DATA/PG_VERSION" ]] && as_pg "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      echo "postgres: running on 127.0.0.1:$PG_PORT"; else echo "postgres: stopped"; fi ;;
  *) echo "usage: $0 start|stop|wipe|status" >&2; exit 2 ;;
esac
