#!/usr/bin/env bash
# Generates the Prisma client into prisma/src/generated. Generation runs on
# WASM; the CLI still insists on locating its schema engine binary (which it
# would otherwise try to download), so point it at any existing file unless
# the operator has a real one.
set -euo pipefail
cd "$(dirname "$0")/../prisma"
export PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-$(command -v node)}"
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1
exec npx --no-install prisma generate --schema schema.prisma >/dev/null
