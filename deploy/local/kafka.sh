#!/usr/bin/env bash
# Apache Kafka from Maven Central jars: a single-node KRaft broker on loopback, no Docker.
#   kafka.sh fetch    resolve the broker's jars into the cache (once per version)
#   kafka.sh start    format storage if new, start the broker, wait until it is ready
#   kafka.sh stop     stop the broker started from this state folder
#   kafka.sh status   print whether it runs
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

POM="$REPO_DIR/deploy/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")"
LIBS="$MEDAID_CACHE_DIR/kafka-$KAFKA_VERSION/libs"
DATA="$MEDAID_STATE_DIR/kafka"
PIDFILE="$MEDAID_STATE_DIR/pids/kafka.pid"
LOGFILE="$MEDAID_STATE_DIR/logs/kafka.log"
SECRETS="$MEDAID_SECRETS_FILE"

secret() {  # secret NAME: a password of the secrets file (JSON: principal -> password)
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$SECRETS" "$1"
}

fetch() {
  [[ -f "$LIBS/.complete" ]] && return 0
  command -v java >/dev/null || die "java (17+) is needed: apt-get install -y openjdk-17-jre-headless"
  command -v mvn >/dev/null || die "maven is needed: apt-get install -y maven"
  log "resolving Apache Kafka $KAFKA_VERSION from Maven Central into $LIBS"
  local tmp; tmp="$(mktemp -d "$MEDAID_CACHE_DIR.XXXX" 2>/dev/null || { mkdir -p "$(dirname "$MEDAID_CACHE_DIR")"; mktemp -d "$MEDAID_CACHE_DIR.XXXX"; })"
  mvn -q -B -f "$POM" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp/libs" >&2
  mkdir -p "$(dirname "$LIBS")"; rm -rf "$LIBS"; mv "$tmp/libs" "$LIBS"; rmdir "$tmp"
  touch "$LIBS/.complete"
}

# The JVM flags of Kafka's own start scripts.
JAVA_ARGS=(-Xms"$KAFKA_HEAP" -Xmx"$KAFKA_HEAP" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15
  -Djava.awt.headless=true -Dlog4j2.configurationFile="$REPO_DIR/deploy/kafka/log4j2.yaml" -cp "$LIBS/*")

start() {
  if pid_alive "$PIDFILE"; then log "Kafka already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  fetch
  mkdir -p "$DATA"
  [[ -f "$SECRETS" ]] || die "no secrets file $SECRETS: run infra.sh up (it writes it with tools.acls secrets)"
  local admin_pw controller_pw
  admin_pw="$(secret admin)"; controller_pw="$(secret controller)"
  if [[ -f "$DATA/log/meta.properties" && ! -f "$DATA/sasl" ]]; then
    die "the Kafka data in $DATA was made before authentication was on (issue 11): wipe it (make wipe, or infra.sh wipe)"
  fi
  (umask 077; sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
      -e "s#@DATA_DIR@#$DATA#g" -e "s#@ADMIN_PASSWORD@#$admin_pw#g" -e "s#@CONTROLLER_PASSWORD@#$controller_pw#g" \
      "$REPO_DIR/deploy/kafka/server.properties.in" > "$DATA/server.properties")
  if [[ ! -f "$DATA/log/meta.properties" ]]; then
    local cluster_id
    cluster_id="$(python3 -c 'import base64,uuid
while True:
    c = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not c.startswith("-"): print(c); break')"
    # the super user's SCRAM credentials go in with the format (KRaft keeps them in the metadata log);
    # every other principal's are made by tools.acls, as admin
    java "${JAVA_ARGS[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$DATA/server.properties" \
      --add-scram "SCRAM-SHA-512=[name=admin,password=$admin_pw]" \
      >> "$LOGFILE" 2>&1 || die "formatting Kafka storage failed: see $LOGFILE"
    touch "$DATA/sasl"
  fi
  local started=$SECONDS
  nohup java "${JAVA_ARGS[@]}" kafka.Kafka "$DATA/server.properties" > "$LOGFILE" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 240); do
    if grep -q "Kafka Server started" "$LOGFILE" 2>/dev/null; then
      log "Kafka $KAFKA_VERSION ready on 127.0.0.1:$KAFKA_PORT in $((SECONDS - started)) s (log: $LOGFILE)"
      return 0
    fi
    pid_alive "$PIDFILE" || { tail -30 "$LOGFILE" >&2; die "Kafka exited during start: see $LOGFILE"; }
    sleep 0.25
  done
  tail -30 "$LOGFILE" >&2; die "Kafka was not ready after 60 s: see $LOGFILE"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop_pid "$PIDFILE" Kafka ;;
  status) if pid_alive "$PIDFILE"; then echo "kafka: running on 127.0.0.1:$KAFKA_PORT"; else echo "kafka: stopped"; fi ;;
  *) echo "usage: $0 fetch|start|stop|status" >&2; exit 2 ;;
esac
