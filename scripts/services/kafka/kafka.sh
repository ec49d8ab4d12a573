#!/usr/bin/env bash
# A local single-node Apache Kafka broker (KRaft: combined broker + controller, no ZooKeeper),
# run from Maven Central jars as a plain Java process on loopback. For tests and development.
#
#   scripts/services/kafka/kafka.sh up      start it unless it already answers (idempotent), wait until ready
#   scripts/services/kafka/kafka.sh down    stop it: SIGTERM, wait, then SIGKILL (idempotent)
#   scripts/services/kafka/kafka.sh status  say whether it runs (exit 0 when it answers, 1 otherwise)
#
# Environment:
#   KAFKA_PORT             client listener, PLAINTEXT://127.0.0.1:$KAFKA_PORT     (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener on 127.0.0.1                  (default 9093)
#   KAFKA_HEAP_OPTS        JVM heap                                      (default -Xms256m -Xmx512m)
#   KAFKA_READY_TIMEOUT    seconds `up` waits for the broker to answer                 (default 90)
#   KAFKA_STOP_TIMEOUT     seconds `down` waits after SIGTERM before SIGKILL           (default 30)
#   KAFKA_JVM_OPTS         JVM options besides the heap (default: G1 as in Kafka's scripts, and C1
#                          only (-XX:TieredStopAtLevel=1): less CPU at startup on a small machine)
#   KAFKA_STATE_DIR        data, config, pid and log of this broker (default .services/kafka), so a
#                          test can run a broker of its own beside the shared one; the jars stay shared
#   KAFKA_CDS              1 (default): keep a class-data-sharing archive of the broker's classes
#                          (lib/kafka.jsa, written when the first broker stops cleanly) and start
#                          from it, which roughly halves the startup time; 0 to not use one
#   KAFKA_SASL_USERS       user:password[,user:password...] (letters, digits, . _ ~ -): the client
#                          listener becomes SASL_PLAINTEXT with the PLAIN mechanism and admits only
#                          these users (plus the broker's own, generated into the state directory),
#                          so tests can run the SASL path; unset (default): PLAINTEXT, no authentication
#
# Needs Java 17+, Maven and Node. State lives in .services/kafka/ (git-ignored): lib/ (class path,
# from pom.xml next to this script through `mvn dependency:copy-dependencies`; the first run downloads
# into ~/.m2, later runs are offline), data/ (topics and the KRaft metadata log, kept across restarts;
# delete it for a clean broker), server.properties, log4j.properties, kafka.pid, kafka.log.
set -euo pipefail

cmd="${1:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
state="${KAFKA_STATE_DIR:-$root/.services/kafka}"
lib="$root/.services/kafka/lib"
data="$state/data"
conf="$state/server.properties"
log4j="$state/log4j.properties"
pidfile="$state/kafka.pid"
logfile="$state/kafka.log"
pom="$here/pom.xml"
probe="$here/probe.mjs"

host=127.0.0.1
port="${KAFKA_PORT:-9092}"
cport="${KAFKA_CONTROLLER_PORT:-9093}"
heap="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
ready_timeout="${KAFKA_READY_TIMEOUT:-90}"
stop_timeout="${KAFKA_STOP_TIMEOUT:-30}"
jvm_opts="${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:TieredStopAtLevel=1}"
use_cds="${KAFKA_CDS:-1}"
sasl_users="${KAFKA_SASL_USERS:-}"
jsa="$lib/kafka.jsa"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"

say() { echo "kafka: $*" >&2; }
die() { say "$*"; exit 1; }

# With SASL, the probe authenticates as the broker's own user (its password is in the state directory).
answers() {
  if [ -n "$sasl_users" ]; then
    [ -f "$state/broker.password" ] || return 1
    KAFKA_PROBE_SASL_PLAIN="broker:$(cat "$state/broker.password")" node "$probe" "$host" "$port" 2>/dev/null
  else
    node "$probe" "$host" "$port" 2>/dev/null
  fi
}

# The pid of the broker this checkout started, if it still runs (checked against its command line,
# so a recycled pid is never taken for it).
our_pid() {
  local pid=""
  [ -f "$pidfile" ] && pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] \
     && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $conf"; then
    echo "$pid"; return 0
  fi
  # No (valid) pid file: look for a broker started with this checkout's config file.
  pid="$(pgrep -f "kafka\\.Kafka $conf" 2>/dev/null | head -n 1 || true)"
  [ -n "$pid" ] && { echo "$pid"; return 0; }
  return 1
}

tail_log() {
  [ -f "$logfile" ] || return 0
  if grep -qE '^\[[^]]*\] (ERROR|FATAL) ' "$logfile"; then
    echo "---- first errors in $logfile" >&2
    grep -m 3 -A 2 -E '^\[[^]]*\] (ERROR|FATAL) ' "$logfile" | cut -c1-400 >&2
  fi
  echo "---- last lines of $logfile" >&2
  tail -n 25 "$logfile" | cut -c1-400 >&2
  echo "----" >&2
}

fetch_classpath() {
  local want have=""
  want="$(sha256sum "$pom" | cut -d' ' -f1)"
  [ -f "$lib/.pom.sha256" ] && have="$(cat "$lib/.pom.sha256")"
  [ "$want" = "$have" ] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch the broker's jars"
  say "fetching the broker's class path with Maven (downloads ~50 MB into ~/.m2 unless cached)"
  rm -rf "$lib.tmp"
  if ! mvn -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$lib.tmp" >"$state/mvn.log" 2>&1; then
    grep -E 'ERROR|BUILD' "$state/mvn.log" | tail -n 20 >&2
    die "mvn dependency:copy-dependencies failed (full output: $state/mvn.log)"
  fi
  echo "$want" >"$lib.tmp/.pom.sha256"
  rm -rf "$lib" && mv "$lib.tmp" "$lib"
}

# The client listener's protocol, and with SASL its settings: PLAIN, with the broker's own user
# (for inter-broker traffic and the probe) and KAFKA_SASL_USERS as the only accounts.
listener_settings() {
  if [ -z "$sasl_users" ]; then
    protocol=PLAINTEXT sasl_settings=""
    return 0
  fi
  [ -f "$state/broker.password" ] || (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '+/=\n' >"$state/broker.password")
  local broker users="" pair
  broker="$(cat "$state/broker.password")"
  for pair in ${sasl_users//,/ }; do
    [[ "$pair" =~ ^[A-Za-z0-9._~-]+:[A-Za-z0-9._~-]+$ ]] || die "KAFKA_SASL_USERS: expected user:password pairs of letters, digits, . _ ~ -"
    users="$users user_${pair%%:*}=\"${pair#*:}\""
  done
  protocol=SASL_PLAINTEXT
  sasl_settings="sasl.enabled.mechanisms=PLAIN
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"broker\" password=\"$broker\" user_broker=\"$broker\"$users;"
}

write_config() {
  listener_settings
  (umask 077 && : >"$conf") # with SASL it holds passwords
  cat >"$conf" <<EOF
# Written by scripts/services/kafka/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$host:$cport
listeners=$protocol://$host:$port,CONTROLLER://$host:$cport
advertised.listeners=$protocol://$host:$port
listener.security.protocol.map=$protocol:$protocol,CONTROLLER:PLAINTEXT
inter.broker.listener.name=$protocol
controller.listener.names=CONTROLLER
$sasl_settings
log.dirs=$data
num.partitions=8
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
auto.create.topics.enable=false
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
# Internal topics, created on the first consumer group / transactional producer: 8 partitions
# instead of 50 make that first use and every restart (each partition is a log to load) faster.
offsets.topic.num.partitions=8
transaction.state.log.num.partitions=8
num.network.threads=2
num.io.threads=4
EOF
  cat >"$log4j" <<'EOF'
# Written by scripts/services/kafka/kafka.sh. Everything goes to stdout, which is kafka.log.
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
}

format_storage() {
  [ -f "$data/meta.properties" ] && return 0
  local cid
  if [ -f "$state/cluster.id" ]; then
    cid="$(cat "$state/cluster.id")"
  else # a Kafka Uuid: 16 random bytes, base64url without padding
    cid="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    echo "$cid" >"$state/cluster.id"
  fi
  say "formatting storage in $data (cluster id $cid)"
  mkdir -p "$data"
  "$java" -cp "$lib/*" -Dlog4j.configuration="file:$log4j" \
    kafka.tools.StorageTool format --ignore-formatted -t "$cid" -c "$conf" >>"$logfile" 2>&1 \
    || { tail_log; die "formatting storage failed"; }
}

# Class data sharing (JDK 13+ dynamic archives): a broker started without an archive writes one
# (kafka.jsa.new) when it exits; `down` keeps it when that exit was clean, bound to this JDK.
# The archive lives in lib/, so a new class path (pom change) drops it. A stale or unreadable
# archive only costs the speed-up: the JVM then warns in kafka.log and loads classes as usual.
jdk_key() { local j; j="$(readlink -f "$(command -v "$java")")"; stat -c '%n %s %Y' "$j" "$(dirname "$j")/../lib/modules" 2>/dev/null | tr '\n' ' '; }
cds_opts=()
choose_cds() {
  [ "$use_cds" = 1 ] || return 0
  rm -f "$jsa.new"
  if [ -f "$jsa" ] && [ "$(cat "$jsa.key" 2>/dev/null)" = "$(jdk_key)" ]; then
    cds_opts=("-XX:SharedArchiveFile=$jsa")
  else
    rm -f "$jsa" "$jsa.key"
    cds_opts=("-XX:ArchiveClassesAtExit=$jsa.new" -Xlog:cds=error)
  fi
}
keep_cds_archive() { # after a clean exit
  [ -f "$jsa.new" ] || return 0
  mv -f "$jsa.new" "$jsa" && jdk_key >"$jsa.key"
}

start_broker() {
  # fd 9 (the lock) must not leak into the broker, or it would hold the lock for its lifetime.
  rm -f "$pidfile"
  choose_cds
  # shellcheck disable=SC2086 # $heap and $jvm_opts are lists of JVM options
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
    "$java" $heap -server $jvm_opts "${cds_opts[@]}" -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$log4j" -Dkafka.logs.dir="$state" \
    -cp "$lib/*" kafka.Kafka "$conf" \
    </dev/null >>"$logfile" 2>&1 9>&- &
  for _ in $(seq 1 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
  [ -s "$pidfile" ] || die "the broker process did not start"
  say "started broker (pid $(cat "$pidfile")), waiting up to ${ready_timeout}s for $host:$port"
}

wait_ready() {
  local pid="$1" deadline=$((SECONDS + ready_timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    answers && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      tail_log; die "the broker (pid $pid) exited before it was ready"
    fi
    sleep 0.25
  done
  tail_log; die "the broker (pid $pid) did not answer on $host:$port within ${ready_timeout}s"
}

up() {
  command -v node >/dev/null || die "Node is needed (readiness probe)"
  if answers; then
    echo "kafka     $host:$port  ready (already running)"; return 0
  fi
  mkdir -p "$state"
  exec 9>"$state/.lock"
  flock -w $((ready_timeout + 300)) 9 || die "another kafka.sh holds $state/.lock"
  if answers; then # started by a concurrent `up` while we waited for the lock
    echo "kafka     $host:$port  ready (already running)"; return 0
  fi
  local pid
  if pid="$(our_pid)"; then
    # Running but not answering yet: still starting (or configured for another port).
    local running_port
    running_port="$(sed -n 's|^listeners=[A-Z_]*://[^:]*:\([0-9]*\),.*|\1|p' "$conf" 2>/dev/null || true)"
    [ -n "$running_port" ] && [ "$running_port" != "$port" ] \
      && die "a broker (pid $pid) runs on port $running_port; run 'kafka.sh down' before changing KAFKA_PORT"
    say "broker (pid $pid) is running but not answering yet; waiting"
  else
    command -v "$java" >/dev/null || die "Java 17+ is needed (set JAVA_HOME or put java on PATH)"
    fetch_classpath
    [ -f "$logfile" ] && mv -f "$logfile" "$logfile.1"
    write_config
    format_storage
    start_broker
    pid="$(cat "$pidfile")"
  fi
  wait_ready "$pid"
  echo "kafka     $host:$port  ready"
}

down() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$pidfile"
    if answers; then
      say "something answers on $host:$port but was not started from $root; left alone"
    fi
    echo "kafka     stopped (was not running)"; return 0
  fi
  say "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + stop_timeout))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "still running after ${stop_timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    rm -f "$jsa.new" # possibly cut short while being written
  else
    keep_cds_archive
  fi
  rm -f "$pidfile"
  echo "kafka     stopped"
}

status() {
  local pid=""
  pid="$(our_pid || true)"
  if answers; then
    echo "kafka     $host:$port  ready${pid:+ (pid $pid)}"; return 0
  elif [ -n "$pid" ]; then
    echo "kafka     running (pid $pid) but not answering on $host:$port"; return 1
  else
    echo "kafka     down"; return 1
  fi
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
