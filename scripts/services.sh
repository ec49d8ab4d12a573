#!/usr/bin/env bash
# Makes sure the services the distributed mode and the tests need run on
# loopback, and prints where.
#   scripts/services.sh up       start what is not running (idempotent)
#   scripts/services.sh down     stop Kafka and Cassandra (Postgres and Redis are the machine's: left alone)
#   scripts/services.sh status   show what runs
#
# Postgres (127.0.0.1:5432) and Redis (127.0.0.1:6379) are reused when they
# already answer. Otherwise they are started from the machine's Debian
# packages, installed first when missing and when we may (root with apt-get).
# Kafka (127.0.0.1:9092) and Cassandra (127.0.0.1:9042) run from their
# official Java artifacts on Maven Central (scripts/services/*/), downloaded
# into ~/.m2 once; they need Java 17 and Maven.
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

here="$(cd "$(dirname "$0")" && pwd)"
case "$cmd" in
  up)
    pg_up || start_postgres
    redis_up || start_redis
    # The two JVMs start side by side; each script waits until its server answers.
    logs="$(mktemp -d)"
    bash "$here/services/kafka/kafka.sh" up > "$logs/kafka" 2>&1 & kafka=$!
    bash "$here/services/cassandra/cassandra.sh" up > "$logs/cassandra" 2>&1 & cassandra=$!
    failed=0
    wait "$kafka" || { cat "$logs/kafka" >&2; failed=1; }
    wait "$cassandra" || { cat "$logs/cassandra" >&2; failed=1; }
    rm -rf "$logs"
    [ "$failed" = 0 ] || exit 1
    ;;
  down)
    bash "$here/services/kafka/kafka.sh" down
    bash "$here/services/cassandra/cassandra.sh" down
    exit 0
    ;;
  status) ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
pg_up && echo "postgres  postgresql://postgres@127.0.0.1:5432  ready" || echo "postgres  down"
redis_up && echo "redis     redis://127.0.0.1:6379            ready" || echo "redis     down"
bash "$here/services/kafka/kafka.sh" status || true
bash "$here/services/cassandra/cassandra.sh" status || true
