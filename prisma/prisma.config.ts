import { defineConfig } from 'prisma/config';

// Generation needs no database. `migrate diff` (scripts/migration-new.sh) reads
// DATABASE_URL from the environment.
export default defineConfig({
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
});
