#!/usr/bin/env bash
# `npm test`: every check and test suite, against real Postgres and Redis.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== services"
bash scripts/services.sh up
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"

echo "== build (Prisma client, resolver types)"
npm run build --silent
echo "== typecheck"
npm run typecheck --silent
echo "== tests"
mapfile -t files < <(find common gateway subgraphs tests bench -path '*/node_modules' -prune -o -name '*.test.ts' -print | sort)
LOG_LEVEL="${LOG_LEVEL:-silent}" node --import tsx --test "${files[@]}"
