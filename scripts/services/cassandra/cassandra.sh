#!/usr/bin/env bash
# A real single-node Apache Cassandra on loopback, from Maven Central jars (no Docker).
#   scripts/services/cassandra/cassandra.sh up      start it unless CQL already answers (idempotent)
#   scripts/services/cassandra/cassandra.sh down    stop it: SIGTERM, wait, then SIGKILL (idempotent)
#   scripts/services/cassandra/cassandra.sh status  say whether it answers CQL (exit 0 when it does)
#
# First run: mvn fetches org.apache.cassandra:cassandra-all (see pom.xml) into ~/.m2 and copies the
# class path to .services/cassandra/lib. Data, config, pid and log live in .services/cassandra/
# (git-ignored); data survives down/up, remove that directory for a clean slate.
#
# Environment:
#   CASSANDRA_PORT          CQL native transport port (default 9042)
#   CASSANDRA_STORAGE_PORT  inter-node port, bound on 127.0.0.1 only (default 7000)
#   CASSANDRA_HEAP          max heap (default 1g); CASSANDRA_HEAP_MIN initial heap (default 512m)
#   CASSANDRA_START_TIMEOUT seconds to wait for CQL on `up` (default 180)
#   CASSANDRA_JVM_OPTS      extra JVM flags, appended last (space-separated)
#   CASSANDRA_JAVA          java binary to use (must be Java 17; default: java on PATH / JAVA_HOME)
#   CASSANDRA_STATE_DIR     where data, config, log and pid go (default <repo>/.services/cassandra)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
STATE="${CASSANDRA_STATE_DIR:-$ROOT/.services/cassandra}"
HOST=127.0.0.1
PORT="${CASSANDRA_PORT:-9042}"
STORAGE_PORT="${CASSANDRA_STORAGE_PORT:-7000}"
HEAP_MAX="${CASSANDRA_HEAP:-1g}"
HEAP_MIN="${CASSANDRA_HEAP_MIN:-512m}"
START_TIMEOUT="${CASSANDRA_START_TIMEOUT:-180}"
LIB="$STATE/lib"
PIDFILE="$STATE/cassandra.pid"
LOG="$STATE/cassandra.log"
MAIN_CLASS=org.apache.cassandra.service.CassandraDaemon

say() { echo "cassandra: $*"; }
die() { echo "cassandra: $*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# The readiness check speaks CQL through the repo's cassandra-driver (node_modules).
check_node() {
  command -v node >/dev/null || die "node is needed to check CQL"
  node "$HERE/cql-ping.cjs" --check || die "cassandra-driver is not installed under $ROOT/node_modules (npm install)"
}

# Prints the server's release_version when CQL answers on $HOST:$PORT.
cql_version() {
  port_open "$PORT" || return 1
  local out
  out="$(node "$HERE/cql-ping.cjs" "$HOST" "$PORT" "${1:-5000}" 2>/dev/null)" || return 1
  [ -n "$out" ] && echo "$out"
}

# The pid of our server when it runs (the pid file names a live CassandraDaemon of this state dir).
running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PIDFILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$MAIN_CLASS" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-Dcassandra.storagedir=$STATE/data" || return 1
  echo "$pid"
}

java_major() { "$1" -XX:-UsePerfData -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n 1; }

# Cassandra 5.0 runs on Java 11 or 17; the flags here are Java 17's.
find_java() {
  local candidates=() c
  [ -n "${CASSANDRA_JAVA:-}" ] && candidates+=("$CASSANDRA_JAVA")
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null && candidates+=("$(command -v java)")
  for c in /usr/lib/jvm/*17*/bin/java; do [ -x "$c" ] && candidates+=("$c"); done
  for c in "${candidates[@]}"; do
    [ -x "$c" ] && [ "$(java_major "$c")" = 17 ] && { echo "$c"; return 0; }
  done
  die "Cassandra 5.0 needs Java 17 (set CASSANDRA_JAVA); found: ${candidates[*]:-none}"
}

# Copies the server class path from Maven Central (via ~/.m2) unless already there for this pom.
fetch_classpath() {
  local stamp="$LIB/.pom.sha256" want
  want="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  command -v mvn >/dev/null || die "mvn (Maven) is needed to fetch the Cassandra jars"
  say "fetching the class path from Maven Central (first run: ~70 MB into ~/.m2)"
  local tmp="$STATE/lib.tmp"
  rm -rf "$tmp"
  mkdir -p "$STATE"
  if ! mvn -B -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$tmp" >"$STATE/mvn.log" 2>&1; then
    tail -n 30 "$STATE/mvn.log" >&2
    die "mvn dependency:copy-dependencies failed (full output: $STATE/mvn.log)"
  fi
  ls "$tmp"/cassandra-all-*.jar >/dev/null 2>&1 || die "no cassandra-all jar in $tmp"
  echo "$want" >"$tmp/.pom.sha256"
  rm -rf "$LIB"
  mv "$tmp" "$LIB"
}

render_config() {
  mkdir -p "$STATE/conf" "$STATE/data"
  sed -e "s|@STATE_DIR@|$STATE|g" -e "s|@NATIVE_PORT@|$PORT|g" -e "s|@STORAGE_PORT@|$STORAGE_PORT|g" \
    "$HERE/cassandra.yaml" >"$STATE/conf/cassandra.yaml"
}

print_log_tail() {
  [ -f "$LOG" ] || return 0
  echo "---- last lines of $LOG ----" >&2
  tail -n 40 "$LOG" >&2
  echo "----" >&2
}

up() {
  local version pid
  check_node
  if version="$(cql_version 5000)"; then
    say "already answering CQL on $HOST:$PORT"
    echo "cassandra $HOST:$PORT  ready ($version)"
    return 0
  fi
  mkdir -p "$STATE"
  if pid="$(running_pid)"; then
    say "pid $pid is running but not answering CQL yet; waiting for it"
  else
    port_open "$PORT" && die "$HOST:$PORT is taken by something that does not answer CQL"
    port_open "$STORAGE_PORT" && die "storage port $HOST:$STORAGE_PORT is taken (set CASSANDRA_STORAGE_PORT)"
    local java
    java="$(find_java)"
    fetch_classpath
    render_config

    local opts=() line jamm
    while IFS= read -r line || [ -n "$line" ]; do
      line="${line%%#*}"; line="$(echo "$line" | sed 's/^ *//; s/ *$//')"
      [ -z "$line" ] && continue
      # shellcheck disable=SC2206  # "--add-opens x=y" is two words on purpose
      opts+=($line)
    done <"$HERE/jvm17-server.options"
    jamm="$(ls "$LIB"/jamm-*.jar | head -n 1)"
    opts+=(
      "-Xms$HEAP_MIN" "-Xmx$HEAP_MAX"
      "-XX:HeapDumpPath=$STATE"
      "-javaagent:$jamm"
      "-Dcassandra.config=file://$STATE/conf/cassandra.yaml"
      "-Dcassandra.storagedir=$STATE/data"
      "-Dcassandra.logdir=$STATE/logs"
      "-Dcassandra.triggers_dir=$STATE/triggers"
      "-Dcassandra-pidfile=$PIDFILE"
      "-Dcassandra-foreground=yes"
      "-Dlogback.configurationFile=file://$HERE/logback.xml"
      "-Dcassandra.native_transport_port=$PORT"
      "-Dcassandra.storage_port=$STORAGE_PORT"
    )
    # shellcheck disable=SC2206  # extra flags, split on spaces
    [ -n "${CASSANDRA_JVM_OPTS:-}" ] && opts+=($CASSANDRA_JVM_OPTS)

    [ -f "$LOG" ] && mv -f "$LOG" "$LOG.1"
    mkdir -p "$STATE/logs" "$STATE/triggers"
    # Cassandra mlockall()s its memory at start. As root (CAP_IPC_LOCK) that succeeds and makes
    # the whole committed heap resident and unswappable; on a shared machine drop that capability
    # so the call fails harmlessly ("Unable to lock JVM memory (ENOMEM)" in the log).
    local launcher=()
    if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
      launcher=(setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock)
    fi
    rm -f "$PIDFILE"
    say "starting Cassandra ($(basename "$(ls "$LIB"/cassandra-all-*.jar)" .jar), $java, heap $HEAP_MAX)"
    # setsid+nohup: the server outlives this script and its terminal. cwd = state dir (heap dumps).
    (cd "$STATE" && exec setsid nohup "${launcher[@]}" "$java" "${opts[@]}" -cp "$LIB/*" "$MAIN_CLASS" \
      >"$LOG" 2>&1 </dev/null 9>&-) &
    echo $! >"$PIDFILE"
  fi

  local start=$SECONDS
  while :; do
    if version="$(cql_version 3000)"; then
      echo "cassandra $HOST:$PORT  ready ($version)"
      return 0
    fi
    if ! running_pid >/dev/null; then
      # The server may have replaced the pid file with its own pid a moment ago; re-check once.
      sleep 1
      running_pid >/dev/null || { print_log_tail; die "the server exited before answering CQL"; }
    fi
    if [ $((SECONDS - start)) -ge "$START_TIMEOUT" ]; then
      print_log_tail
      die "no CQL answer on $HOST:$PORT after ${START_TIMEOUT}s (server left running: pid $(running_pid || echo '?'); '$0 down' stops it)"
    fi
    sleep 0.5
  done
}

down() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    if port_open "$PORT"; then
      say "not started by this script, but something listens on $HOST:$PORT; left alone"
    else
      say "not running"
    fi
    return 0
  fi
  say "stopping pid $pid (SIGTERM)"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "still running after 60s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 1 10); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
  rm -f "$PIDFILE"
  say "stopped"
}

status() {
  local version pid
  check_node
  if version="$(cql_version 5000)"; then
    if pid="$(running_pid)"; then
      echo "cassandra $HOST:$PORT  ready ($version) pid $pid"
    else
      echo "cassandra $HOST:$PORT  ready ($version) (not started by this script)"
    fi
    return 0
  fi
  if pid="$(running_pid)"; then
    echo "cassandra $HOST:$PORT  starting or not answering (pid $pid, log $LOG)"
  else
    echo "cassandra $HOST:$PORT  down"
  fi
  return 1
}

# up and down take a lock so that parallel callers (test runners) do not start two servers.
with_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "another cassandra.sh holds $STATE/.lock"
  "$@"
}

case "${1:-}" in
  up) with_lock up ;;
  down) with_lock down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
