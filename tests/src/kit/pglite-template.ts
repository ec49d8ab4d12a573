/**
 * An embedded gateway's first start spends seconds on PGlite's initdb (about
 * 10 s of a 20 s start on a busy 2-core machine; the migrations take a
 * fraction of a second). The kit pays that once: a PGlite data directory
 * created and migrated by the project's own opener (`openDatabase`, as the
 * gateway does at start) is kept in the system's temporary directory, under
 * a name that changes with the migrations and the PGlite version, and each
 * embedded gateway of a suite starts on a copy of it (40 MB, a fraction of a
 * second). The gateway still runs its migrations on the copy, finding them
 * applied. The directory itself is made from the unit tier's migrated dump
 * (`migratedTemplate` of `@chat/prisma`, which an embedded gateway cannot
 * take: it opens a directory on disk). Test processes that start at once build it at once; the first to
 * finish renames its copy into place, the others use that one.
 */
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migratedTemplate as migratedDump, migratedTemplateKey, openDatabase } from '@chat/prisma';

let template: Promise<string> | undefined;

/** Copies a created and migrated PGlite data directory to `target` (which must not exist yet). */
export async function copyMigratedPglite(target: string): Promise<void> {
  cpSync(await (template ??= migratedTemplate()), target, { recursive: true });
}

/** The template's directory, made first when missing. */
async function migratedTemplate(): Promise<string> {
  const path = join(tmpdir(), `chat-pglite-template-${migratedTemplateKey()}`);
  if (existsSync(join(path, 'PG_VERSION'))) return path;
  const building = mkdtempSync(join(tmpdir(), 'chat-pglite-building-'));
  try {
    // From the unit tier's migrated dump (`@chat/prisma`'s migratedTemplate): no initdb here either.
    const db = await openDatabase({
      kind: 'embedded',
      dataDir: join(building, 'pglite'),
      loadDataDir: await migratedDump(),
    });
    await db.close();
    renameSync(join(building, 'pglite'), path);
  } catch (error) {
    if (!existsSync(join(path, 'PG_VERSION'))) throw error; // else another test process put its template there first
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return path;
}
