#!/usr/bin/env bash
# Writes the SQL that takes the database from the last committed schema to
# prisma/schema.prisma, as prisma/migrations/<timestamp>_<name>/migration.sql
# (the layout `prisma migrate deploy` reads).
#
# Prisma 7's `migrate diff` needs the native schema engine, which is not
# downloadable everywhere; Prisma 6.19's CLI diffs two datamodels offline with
# its WASM engine when configured with `engine: 'js'`. It is installed once into
# .services/prisma6 (git-ignored). The "previous" schema comes from git HEAD.
set -euo pipefail
name="${1:?usage: npm run migration:new -- <name>}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tool="$root/.services/prisma6"
if [ ! -x "$tool/node_modules/.bin/prisma" ]; then
  mkdir -p "$tool"
  echo '{"private":true,"type":"module"}' > "$tool/package.json"
  (cd "$tool" && npm install --no-audit --no-fund --silent prisma@6.19.3 @prisma/adapter-pg@6.19.3)
fi
cat > "$tool/prisma.config.ts" <<'TS'
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';
export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL }),
});
TS
# Prisma 6 wants a datasource url and no prisma-client generator options.
to_v6() {
  awk '/^generator /{skip=1} skip&&/^}/{skip=0;next} !skip' \
    | sed 's/^  provider = "postgresql"$/  provider = "postgresql"\n  url      = env("DATABASE_URL")/'
}
to_v6 < "$root/prisma/schema.prisma" > "$tool/new.prisma"
if ls "$root"/prisma/migrations/*/migration.sql >/dev/null 2>&1; then
  git -C "$root" show HEAD:prisma/schema.prisma | to_v6 > "$tool/old.prisma"
  from=(--from-schema-datamodel old.prisma)
else
  from=(--from-empty)
fi
dir="$root/prisma/migrations/$(date -u +%Y%m%d%H%M%S)_${name}"
mkdir -p "$dir"
(cd "$tool" && DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}" \
  PRISMA_SCHEMA_ENGINE_BINARY=/usr/bin/true PRISMA_QUERY_ENGINE_LIBRARY=/usr/bin/true \
  PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1 \
  ./node_modules/.bin/prisma migrate diff "${from[@]}" --to-schema-datamodel new.prisma --script) > "$dir/migration.sql"
echo "wrote ${dir#"$root"/}/migration.sql"
