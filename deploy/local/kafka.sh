#!/usr/bin/env bash
# Apache Kafka from Maven Central jars: KRaft on loopback, no Docker; one node, or three with BROKERS=3.
#   kafka.sh fetch        resolve the broker's jars into the cache (once per version)
#   kafka.sh start        format storage if new, start the node(s) not running, wait until they are ready
#   kafka.sh stop         stop the nodes started from this state folder
#   kafka.sh kill-node N  SIGKILL node N (the broker-loss test); `start` brings it back
#   kafka.sh status       print whether each runs
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

node_dir() { if [[ $1 == 1 ]]; then echo "$DATA"; else echo "$MEDAID_STATE_DIR/kafka-$1"; fi; }
node_pidfile() { if [[ $1 == 1 ]]; then echo "$PIDFILE"; else echo "$MEDAID_STATE_DIR/pids/kafka-$1.pid"; fi; }
node_logfile() { if [[ $1 == 1 ]]; then echo "$LOGFILE"; else echo "$MEDAID_STATE_DIR/logs/kafka-$1.log"; fi; }

start() {
  fetch
  [[ -f "$SECRETS" ]] || die "no secrets file $SECRETS: run infra.sh up (it writes it with tools.acls secrets)"
  mkdir -p "$DATA"
  local n=$KAFKA_BROKERS i
  if [[ -f "$DATA/log/meta.properties" && "$(cat "$DATA/brokers" 2>/dev/null || echo 1)" != "$n" ]]; then
    die "the Kafka data in $DATA is of a $(cat "$DATA/brokers" 2>/dev/null || echo 1)-node cluster, not $n: wipe it first (make wipe)"
  fi
  local admin_pw controller_pw quorum voters="" replication=1 min_isr=1 cluster_id
  admin_pw="$(secret admin)"; controller_pw="$(secret controller)"
  for ((i = 1; i <= n; i++)); do voters+="${voters:+,}$i@127.0.0.1:$((KAFKA_CONTROLLER_PORT + 2 * (i - 1)))"; done
  if [[ $n == 1 ]]; then quorum="controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT"
  else quorum="controller.quorum.voters=$voters"; replication=3; min_isr=2; fi
  cluster_id="$(cat "$DATA/cluster-id" 2>/dev/null || python3 -c 'import base64,uuid
while True:
    c = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not c.startswith("-"): print(c); break')"
  echo "$cluster_id" > "$DATA/cluster-id"
  echo "$n" > "$DATA/brokers"  # before any node is formatted: a start that fails half-way is still of this size
  local started=$SECONDS waiting=()
  for ((i = 1; i <= n; i++)); do
    local dir pidfile logfile port cport
    dir="$(node_dir "$i")"; pidfile="$(node_pidfile "$i")"; logfile="$(node_logfile "$i")"
    port=$((KAFKA_PORT + 2 * (i - 1))); cport=$((KAFKA_CONTROLLER_PORT + 2 * (i - 1)))
    if pid_alive "$pidfile"; then log "Kafka node $i already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"; continue; fi
    mkdir -p "$dir"
    if [[ -f "$dir/log/meta.properties" && ! -f "$dir/sasl" ]]; then
      die "the Kafka data in $dir was made before authentication was on (issue 11): wipe it (make wipe, or infra.sh wipe)"
    fi
    (umask 077; sed -e "s#@KAFKA_PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$cport#g" -e "s#@NODE_ID@#$i#g" \
        -e "s#@QUORUM@#$quorum#g" -e "s#@REPLICATION@#$replication#g" -e "s#@MIN_ISR@#$min_isr#g" \
        -e "s#@DATA_DIR@#$dir#g" -e "s#@ADMIN_PASSWORD@#$admin_pw#g" -e "s#@CONTROLLER_PASSWORD@#$controller_pw#g" \
        "$REPO_DIR/deploy/kafka/server.properties.in" > "$dir/server.properties")
    if [[ ! -f "$dir/log/meta.properties" ]]; then
      # the super user's SCRAM credentials go in with the format (KRaft keeps them in the metadata log);
      # every other principal's are made by tools.acls, as admin. One node: a standalone (dynamic) quorum;
      # three: the static voters of server.properties.
      local standalone=(); [[ $n == 1 ]] && standalone=(--standalone)
      java "${JAVA_ARGS[@]}" kafka.tools.StorageTool format "${standalone[@]}" -t "$cluster_id" -c "$dir/server.properties" \
        --add-scram "SCRAM-SHA-512=[name=admin,password=$admin_pw]" \
        >> "$logfile" 2>&1 || die "formatting Kafka storage of node $i failed: see $logfile"
      touch "$dir/sasl"
    fi
    nohup java "${JAVA_ARGS[@]}" kafka.Kafka "$dir/server.properties" > "$logfile" 2>&1 < /dev/null &
    echo $! > "$pidfile"
    waiting+=("$i")
  done
  for i in "${waiting[@]}"; do
    local logfile pidfile; logfile="$(node_logfile "$i")"; pidfile="$(node_pidfile "$i")"
    for _ in $(seq 1 240); do
      grep -q "Kafka Server started" "$logfile" 2>/dev/null && break
      pid_alive "$pidfile" || { tail -30 "$logfile" >&2; die "Kafka node $i exited during start: see $logfile"; }
      sleep 0.25
    done
    grep -q "Kafka Server started" "$logfile" 2>/dev/null || { tail -30 "$logfile" >&2; die "Kafka node $i was not ready after 60 s: see $logfile"; }
  done
  log "Kafka $KAFKA_VERSION ready on $(kafka_bootstrap) ($n node(s)) in $((SECONDS - started)) s (log: $LOGFILE)"
}

stop_all() {
  local i
  for ((i = 3; i >= 1; i--)); do stop_pid "$(node_pidfile "$i")" "Kafka node $i"; done
}

status() {
  local i
  for ((i = 1; i <= KAFKA_BROKERS; i++)); do
    if pid_alive "$(node_pidfile "$i")"; then echo "kafka node $i: running on 127.0.0.1:$((KAFKA_PORT + 2 * (i - 1)))"
    else echo "kafka node $i: stopped"; fi
  done
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop_all ;;
  stop-node) stop_pid "$(node_pidfile "${2:?which node}")" "Kafka node $2" ;;
  kill-node) pid_alive "$(node_pidfile "${2:?which node}")" && kill -9 "$(cat "$(node_pidfile "$2")")"; rm -f "$(node_pidfile "$2")"; log "Kafka node $2 killed" ;;
  status) status ;;
  *) echo "usage: $0 fetch|start|stop|stop-node N|kill-node N|status" >&2; exit 2 ;;
esac
