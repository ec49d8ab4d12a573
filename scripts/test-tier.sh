#!/usr/bin/env bash
# One tier of the test suite (docs/TESTING.md#tiers):
#   unit         every *.test.ts beside the code (common, gateway, subgraphs, bench) and the committed
#                schema's (tests/src/schema): in-process, no service
#   integration  tests/src/integration: one component against its real server
#   e2e          tests/src/e2e: real processes over HTTP and WebSocket
# Needs `npm run build` first; integration and e2e need the services (`npm run services:up`).
# Extra arguments go to `node --test` (e.g. --test-name-pattern); `--list` prints the tier's files.
set -euo pipefail
cd "$(dirname "$0")/.."

tier="${1:?usage: test-tier.sh unit|integration|e2e [--list | node --test options]}"
shift
case "$tier" in
  unit) roots=(common gateway subgraphs bench tests/src/schema) ;;
  integration) roots=(tests/src/integration) ;;
  e2e) roots=(tests/src/e2e) ;;
  *) echo "unknown tier: $tier (unit, integration or e2e)" >&2; exit 2 ;;
esac

# Files run one per core at a time (TEST_CONCURRENCY): Node's default (cores - 1) runs one at a time on
# 2 cores, leaving a core to a parent that barely works, and each tier is measured fastest at one per core
# (docs/TESTING.md#durations). Every test file owns what it starts (its processes, databases, topics), so
# files running side by side never meet.
concurrency=(--test-concurrency="${TEST_CONCURRENCY:-$(nproc)}")
if [[ "$tier" != unit ]]; then
  export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
  export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
fi

mapfile -t files < <(find "${roots[@]}" -path '*/node_modules' -prune -o -name '*.test.ts' -print | sort)
if [[ "${1:-}" == --list ]]; then
  printf '%s\n' "${files[@]}"
  exit 0
fi
echo "== $tier tests (${#files[@]} files)"
start=$SECONDS
LOG_LEVEL="${LOG_LEVEL:-silent}" node --import tsx --test "${concurrency[@]}" "$@" "${files[@]}"
echo "== $tier tests passed in $((SECONDS - start)) s"
