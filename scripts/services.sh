#!/usr/bin/env bash
# Makes sure the services the distributed mode and the tests need run on
# loopback, and prints where.
#   scripts/services.sh up       start what is not running (idempotent)
#   scripts/services.sh down     stop Kafka, Cassandra and S3Proxy (Postgres and Redis are the machine's: left alone)
#   scripts/services.sh status   show what runs
#
# Postgres (127.0.0.1:5432) and Redis (127.0.0.1:6379) are reused when they
# already answer. Otherwise they are started from the machine's Debian
# packages, installed first when missing and when we may (root with apt-get).
# Kafka (127.0.0.1:9092), Cassandra (127.0.0.1:9042) and S3Proxy, an
# S3-compatible object store (http://127.0.0.1:9300, credentials generated into
# ~/.local/state/federated-chat/s3proxy/credentials.json), run from their Java artifacts on Maven
# Central (scripts/services/*/), downloaded into ~/.m2 once; they need Java 17
# and Maven.
# ClamAV's clamd and ffmpeg/ffprobe are installed from Debian packages when
# missing (same rule), but no daemon is run: there is no signature database to
# download here, so tests start a clamd of their own with a test signature
# (tests/src/kit/launcher.ts, startClamd).
set -euo pipefail
cmd="${1:-up}"

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

install_packages() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "services: installing $* from Debian packages"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "services: $* missing; install them (Debian: apt-get install $*)" >&2
    exit 1
  fi
}

start_postgres() {
  command -v pg_ctlcluster >/dev/null || install_packages postgresql
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  # Trust on loopback, as on the CI machines; the tests create their own databases.
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_up && return 0; sleep 1; done
  echo "services: Postgres did not become ready" >&2; exit 1
}

start_redis() {
  command -v redis-server >/dev/null || install_packages redis-server
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis_up && return 0; sleep 1; done
  echo "services: Redis did not become ready" >&2; exit 1
}

clamd_bin() { command -v clamd 2>/dev/null || { [ -x /usr/sbin/clamd ] && echo /usr/sbin/clamd; } || true; }

# clamd for the tests' own scanners, clamscan for looking at a file by hand. Installing Debian's
# clamav-daemon enables its system daemons where init scripts may run; without a signature
# database they would only fail (clamd) or keep trying to download one (freshclam), so they are
# switched off again, only when we installed them just now.
install_clamav() {
  { [ -n "$(clamd_bin)" ] && command -v clamscan >/dev/null; } && return 0
  install_packages clamav-daemon clamav
  local unit
  for unit in clamav-daemon clamav-freshclam; do
    if [ -d /run/systemd/system ]; then
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    elif [ -x "/etc/init.d/$unit" ]; then
      "/etc/init.d/$unit" stop >/dev/null 2>&1 || true
    fi
  done
}

install_ffmpeg() {
  { command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; } || install_packages ffmpeg
}

clamd_status() {
  local bin
  bin="$(clamd_bin)"
  if [ -n "$bin" ]; then
    echo "clamd     $bin ($("$bin" --version 2>/dev/null | cut -d/ -f1); not run as a service: tests start their own)"
  else
    echo "clamd     not installed"
  fi
}

ffmpeg_status() {
  if command -v ffprobe >/dev/null && command -v ffmpeg >/dev/null; then
    echo "ffmpeg    $(ffmpeg -hide_banner -version 2>/dev/null | sed -n '1s/^ffmpeg version \([^ ]*\).*/\1/p') (ffmpeg, ffprobe)"
  else
    echo "ffmpeg    not installed"
  fi
}

here="$(cd "$(dirname "$0")" && pwd)"
case "$cmd" in
  up)
    pg_up || start_postgres
    redis_up || start_redis
    install_clamav
    install_ffmpeg
    # The JVMs start side by side; each script waits until its server answers.
    logs="$(mktemp -d)"
    bash "$here/services/kafka/kafka.sh" up > "$logs/kafka" 2>&1 & kafka=$!
    bash "$here/services/cassandra/cassandra.sh" up > "$logs/cassandra" 2>&1 & cassandra=$!
    bash "$here/services/s3proxy/s3proxy.sh" up > "$logs/s3proxy" 2>&1 & s3proxy=$!
    failed=0
    wait "$kafka" || { cat "$logs/kafka" >&2; failed=1; }
    wait "$cassandra" || { cat "$logs/cassandra" >&2; failed=1; }
    wait "$s3proxy" || { cat "$logs/s3proxy" >&2; failed=1; }
    rm -rf "$logs"
    [ "$failed" = 0 ] || exit 1
    ;;
  down)
    bash "$here/services/kafka/kafka.sh" down
    bash "$here/services/cassandra/cassandra.sh" down
    bash "$here/services/s3proxy/s3proxy.sh" down
    exit 0
    ;;
  status) ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
pg_up && echo "postgres  postgresql://postgres@127.0.0.1:5432  ready" || echo "postgres  down"
redis_up && echo "redis     redis://127.0.0.1:6379            ready" || echo "redis     down"
bash "$here/services/kafka/kafka.sh" status || true
bash "$here/services/cassandra/cassandra.sh" status || true
bash "$here/services/s3proxy/s3proxy.sh" status || true
clamd_status
ffmpeg_status
