/**
 * A migrated embedded database to copy, for tests that open many throw-away
 * databases: starting PGlite from an empty directory runs initdb (seconds on a
 * busy 2-core machine), starting from a dump of a migrated one does not.
 * The dump is made once per set of migrations and kept in the temporary
 * directory, shared by every test process.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { applyMigrations, listMigrations } from './migrate.ts';

let cached: Promise<Blob> | undefined;

/**
 * A dump of an embedded database with every migration applied (for
 * `openDatabase({ kind: 'embedded', dataDir: 'memory://', loadDataDir })`),
 * read from `$TMPDIR/chat-pglite-template/<key>.tar` or made and written there
 * once. The key hashes the migrations and the PGlite version, so a new
 * migration makes a new template. Test files run in parallel processes: each
 * writes a file of its own and renames it into place, so a reader sees a whole
 * template or none, and two first runs at once only both do the work.
 */
export function migratedTemplate(): Promise<Blob> {
  cached ??= loadOrMake();
  return cached;
}

async function loadOrMake(): Promise<Blob> {
  const dir = join(tmpdir(), 'chat-pglite-template');
  const file = join(dir, `${migratedTemplateKey()}.tar`);
  try {
    return new Blob([readFileSync(file)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const dump = await makeTemplate();
  mkdirSync(dir, { recursive: true });
  const partial = `${file}.${process.pid}.${Date.now()}.partial`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, file);
  return dump;
}

async function makeTemplate(): Promise<Blob> {
  const lite = await PGlite.create('memory://', { extensions: { pg_trgm } });
  try {
    await applyMigrations({
      query: async (sql, params) => (await lite.query<Record<string, unknown>>(sql, params)).rows,
      exec: async (sql) => void (await lite.exec(sql)),
    });
    // Uncompressed: loading skips a gunzip in every test process.
    return await lite.dumpDataDir('none');
  } finally {
    await lite.close();
  }
}

/** Changes whenever what the template holds would: the migrations, or the PGlite that wrote it. */
export function migratedTemplateKey(): string {
  // The package exports no package.json: read it beside its entry point (dist/index.js).
  const manifest = new URL('../package.json', import.meta.resolve('@electric-sql/pglite'));
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const hash = createHash('sha256').update(`pglite ${version}\n`);
  for (const migration of listMigrations()) hash.update(`${migration.name} ${migration.checksum}\n`);
  return hash.digest('hex').slice(0, 16);
}
