#!/usr/bin/env bash
# `npm test` (what CI runs): build and typecheck, then the three test tiers in order,
# unit, integration, end-to-end (scripts/test-tier.sh; docs/TESTING.md#tiers).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== services"
bash scripts/services.sh up
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"

echo "== build (Prisma client, resolver types, the processes' bundles)"
npm run build --silent
echo "== typecheck"
npm run typecheck --silent
echo "== lint and format"
npm run lint --silent
npm run format:check --silent
# Every test file belongs to a tier, so none is left out of CI.
unlisted=$(comm -23 <(find common gateway subgraphs tests bench -path '*/node_modules' -prune -o -name '*.test.ts' -print | sort) \
  <(for tier in unit integration e2e; do bash scripts/test-tier.sh "$tier" --list; done | sort))
if [[ -n "$unlisted" ]]; then
  echo "test files in no tier (scripts/test-tier.sh):" >&2
  echo "$unlisted" >&2
  exit 1
fi
for tier in unit integration e2e; do
  bash scripts/test-tier.sh "$tier"
done
