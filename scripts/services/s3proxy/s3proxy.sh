#!/usr/bin/env bash
# A local S3-compatible object store: S3Proxy (https://github.com/gaul/s3proxy) over its filesystem
# backend, run from Maven Central jars as a plain Java process on loopback. For tests and development.
#
#   scripts/services/s3proxy/s3proxy.sh up      start it unless it already answers (idempotent), wait until ready
#   scripts/services/s3proxy/s3proxy.sh down    stop it: SIGTERM, wait, then SIGKILL (idempotent)
#   scripts/services/s3proxy/s3proxy.sh status  say whether it answers, with its endpoint and credentials
#                                               (exit 0 when it answers with these credentials, 1 otherwise)
#
# Clients authenticate with AWS Signature V4 (headers or presigned URLs; any region, path-style
# addressing: http://127.0.0.1:9300/<bucket>/<key>). The access key and secret are generated on the
# first `up` into the state directory (credentials.json, mode 600) and kept across restarts; delete
# the state directory for new ones. The repository holds no credential.
#
# Environment:
#   S3PROXY_PORT           listen on 127.0.0.1:$S3PROXY_PORT                          (default 9300)
#   S3PROXY_HEAP_OPTS      JVM heap                                          (default -Xms32m -Xmx256m)
#   S3PROXY_JVM_OPTS       JVM options besides the heap (default: serial GC and C1 only, which start
#                          fastest and use the least CPU on a small machine)
#   S3PROXY_READY_TIMEOUT  seconds `up` waits for the server to answer                       (default 60)
#   S3PROXY_STOP_TIMEOUT   seconds `down` waits after SIGTERM before SIGKILL                 (default 20)
#   S3PROXY_LOG_LEVEL      logback level of s3proxy.log: error, warn, info, debug      (default info)
#   S3PROXY_STATE_DIR      data, config, credentials, pid and log (default
#                          ${XDG_STATE_HOME:-~/.local/state}/federated-chat/s3proxy: one per user, shared by
#                          every checkout, so a server another checkout started is reused, not fought over),
#                          so a test can run a server of its own beside the shared one; the jars stay shared
#
# Needs Java 17+, Maven and curl (the readiness probe signs a ListBuckets request with --aws-sigv4).
# The class path lives in .services/s3proxy/lib (git-ignored; from pom.xml next to this script
# through `mvn dependency:copy-dependencies`; the first run downloads ~60 MB into ~/.m2, later runs
# are offline); the state directory holds data/ (one directory per bucket, one file per object; kept across restarts),
# credentials.json ({ endpoint, accessKeyId, secretAccessKey, region }: what tests read),
# s3proxy.properties (written on every start), s3proxy.pid, s3proxy.log.
set -euo pipefail

cmd="${1:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
state="${S3PROXY_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/federated-chat/s3proxy}"
lib="$root/.services/s3proxy/lib"
data="$state/data"
conf="$state/s3proxy.properties"
creds="$state/credentials.json"
pidfile="$state/s3proxy.pid"
logfile="$state/s3proxy.log"
pom="$here/pom.xml"

host=127.0.0.1
port="${S3PROXY_PORT:-9300}"
endpoint="http://$host:$port"
region=us-east-1
heap="${S3PROXY_HEAP_OPTS:--Xms32m -Xmx256m}"
jvm_opts="${S3PROXY_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k}"
ready_timeout="${S3PROXY_READY_TIMEOUT:-60}"
stop_timeout="${S3PROXY_STOP_TIMEOUT:-20}"
log_level="${S3PROXY_LOG_LEVEL:-info}"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
main_class=org.gaul.s3proxy.Main

say() { echo "s3proxy: $*" >&2; }
die() { say "$*"; exit 1; }

# A field of credentials.json (written by this script: flat, one "key": "value" per line).
cred() { [ -f "$creds" ] && sed -n "s/^ *\"$1\": \"\\([^\"]*\\)\".*/\\1/p" "$creds" || true; }

port_open() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

# Answers when a signed ListBuckets with our credentials gets 200 (so a server with other
# credentials, or something else on the port, does not count).
answers() {
  [ -f "$creds" ] || return 1
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    --aws-sigv4 "aws:amz:$region:s3" --user "$(cred accessKeyId):$(cred secretAccessKey)" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$endpoint/" 2>/dev/null || true)"
  [ "$code" = 200 ]
}

# The pid of the server started for this state directory, if it still runs (checked against its
# command line, so a recycled pid is never taken for it).
our_pid() {
  local pid=""
  [ -f "$pidfile" ] && pid="$(tr -dc '0-9' <"$pidfile" 2>/dev/null || true)"
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] \
     && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$main_class --properties $conf"; then
    echo "$pid"; return 0
  fi
  pid="$(pgrep -f "$main_class --properties $conf" 2>/dev/null | head -n 1 || true)"
  [ -n "$pid" ] && { echo "$pid"; return 0; }
  return 1
}

tail_log() {
  [ -f "$logfile" ] || return 0
  echo "---- last lines of $logfile" >&2
  tail -n 30 "$logfile" | cut -c1-400 >&2
  echo "----" >&2
}

java_major() { "$java" -XX:-UsePerfData -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n 1; }

fetch_classpath() {
  local want have=""
  want="$(sha256sum "$pom" | cut -d' ' -f1)"
  [ -f "$lib/.pom.sha256" ] && have="$(cat "$lib/.pom.sha256")"
  [ "$want" = "$have" ] && return 0
  command -v mvn >/dev/null || die "Maven (mvn) is needed to fetch S3Proxy's jars"
  say "fetching S3Proxy's class path with Maven (downloads ~60 MB into ~/.m2 unless cached)"
  mkdir -p "$(dirname "$lib")"
  rm -rf "$lib.tmp"
  if ! mvn -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$lib.tmp" >"$state/mvn.log" 2>&1; then
    grep -E 'ERROR|BUILD' "$state/mvn.log" | tail -n 20 >&2
    die "mvn dependency:copy-dependencies failed (full output: $state/mvn.log)"
  fi
  ls "$lib.tmp"/s3proxy-*.jar >/dev/null 2>&1 || die "no s3proxy jar in $lib.tmp"
  echo "$want" >"$lib.tmp/.pom.sha256"
  rm -rf "$lib" && mv "$lib.tmp" "$lib"
}

# Credentials are made once per state directory: a 20-character access key id and a 40-character
# secret, like AWS's. The endpoint is rewritten on every start (S3PROXY_PORT may change).
write_credentials() {
  local key secret
  key="$(cred accessKeyId)"
  secret="$(cred secretAccessKey)"
  if [ -z "$key" ] || [ -z "$secret" ]; then
    key="AKLOCAL$(od -An -tx1 -N7 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F' | cut -c1-13)"
    secret="$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')"
  fi
  (umask 077 && cat >"$creds.tmp" <<EOF
{
  "endpoint": "$endpoint",
  "accessKeyId": "$key",
  "secretAccessKey": "$secret",
  "region": "$region"
}
EOF
  )
  mv -f "$creds.tmp" "$creds"
}

write_config() {
  (umask 077 && cat >"$conf.tmp" <<EOF
# Written by scripts/services/s3proxy/s3proxy.sh on every start; edit the script, not this file.
s3proxy.endpoint=$endpoint
s3proxy.authorization=aws-v4
s3proxy.identity=$(cred accessKeyId)
s3proxy.credential=$(cred secretAccessKey)
# Browsers upload straight to presigned URLs from the web app's origin. Every request still needs
# a signature, so allowing every origin lets no page do what its URL was not signed for.
s3proxy.cors-allow-all=true
# The filesystem store (S3Proxy 4.x's NIO.2 implementation): a directory per bucket.
jclouds.provider=filesystem
jclouds.filesystem.basedir=$data
EOF
  )
  mv -f "$conf.tmp" "$conf"
}

start_server() {
  # fd 9 (the lock) must not leak into the server, or it would hold the lock for its lifetime.
  rm -f "$pidfile"
  # shellcheck disable=SC2086 # $heap and $jvm_opts are lists of JVM options
  (cd "$state" && exec nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
    "$java" $heap $jvm_opts -Djava.awt.headless=true \
    -Dlogback.configurationFile="$here/logback.xml" -Ds3proxy.log.level="$log_level" \
    -cp "$lib/*" "$main_class" --properties "$conf" \
    </dev/null >>"$logfile" 2>&1 9>&-) &
  for _ in $(seq 1 50); do [ -s "$pidfile" ] && break; sleep 0.1; done
  [ -s "$pidfile" ] || die "the server process did not start"
  say "started S3Proxy (pid $(cat "$pidfile")), waiting up to ${ready_timeout}s for $endpoint"
}

wait_ready() {
  local pid="$1" deadline=$((SECONDS + ready_timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    answers && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      tail_log; die "S3Proxy (pid $pid) exited before it was ready"
    fi
    sleep 0.25
  done
  tail_log; die "S3Proxy (pid $pid) did not answer on $endpoint within ${ready_timeout}s"
}

up() {
  command -v curl >/dev/null || die "curl is needed (readiness probe)"
  if answers; then
    echo "s3proxy   $endpoint  ready (already running)"; return 0
  fi
  mkdir -p "$state"
  exec 9>"$state/.lock"
  flock -w $((ready_timeout + 300)) 9 || die "another s3proxy.sh holds $state/.lock"
  if answers; then # started by a concurrent `up` while we waited for the lock
    echo "s3proxy   $endpoint  ready (already running)"; return 0
  fi
  local pid
  if pid="$(our_pid)"; then
    local running
    running="$(sed -n 's|^s3proxy.endpoint=||p' "$conf" 2>/dev/null || true)"
    [ -n "$running" ] && [ "$running" != "$endpoint" ] \
      && die "S3Proxy (pid $pid) runs on $running; run 's3proxy.sh down' before changing S3PROXY_PORT"
    say "S3Proxy (pid $pid) is running but not answering yet; waiting"
  else
    port_open && die "$host:$port is taken by something that does not answer as this S3Proxy (set S3PROXY_PORT)"
    command -v "$java" >/dev/null || die "Java 17+ is needed (set JAVA_HOME or put java on PATH)"
    [ "$(java_major)" -ge 17 ] 2>/dev/null || die "S3Proxy 4.x needs Java 17+ ($java is $(java_major))"
    fetch_classpath
    mkdir -p "$data"
    [ -f "$logfile" ] && mv -f "$logfile" "$logfile.1"
    write_credentials
    write_config
    start_server
    pid="$(cat "$pidfile")"
  fi
  wait_ready "$pid"
  echo "s3proxy   $endpoint  ready"
}

down() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$pidfile"
    port_open && say "something listens on $host:$port but was not started for $state; left alone"
    echo "s3proxy   stopped (was not running)"; return 0
  fi
  say "stopping S3Proxy (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + stop_timeout))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "still running after ${stop_timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$pidfile"
  echo "s3proxy   stopped"
}

status() {
  local pid=""
  pid="$(our_pid || true)"
  if answers; then
    echo "s3proxy   $endpoint  ready${pid:+ (pid $pid)}"
    echo "          access key $(cred accessKeyId)  region $region  (secret in $creds)"
    return 0
  elif [ -n "$pid" ]; then
    echo "s3proxy   running (pid $pid) but not answering on $endpoint"; return 1
  else
    echo "s3proxy   down"; return 1
  fi
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
