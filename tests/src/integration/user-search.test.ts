/**
 * User search on a real Postgres: substring searches can be answered by the
 * trigram indexes and short ones by the username prefix index (so search
 * does not scan every user as the table grows), and results and paging are
 * right. At this test's size a scan is genuinely cheaper and the planner
 * picks it, so the plans are checked with scans disabled: what is proven is
 * that the indexes serve exactly the queries the store sends (a bitmap scan
 * of them, instead of reading the table or walking it in username order).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryEntityCache } from '@chat/common';
import { openDatabase, type Database } from '@chat/prisma';
import { UserStore } from '@chat/subgraph-users';
import { createTestDatabase } from '../kit/launcher.ts';

const USERS = 10_000;

describe('user search on Postgres', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Database;
  let store: UserStore;

  before(async () => {
    database = await createTestDatabase();
    db = await openDatabase({ kind: 'postgres', url: database.url });
    const words = ['amber', 'birch', 'cedar', 'delta', 'ember', 'fjord', 'grove', 'heron', 'iris', 'juniper'];
    for (let start = 0; start < USERS; start += 5_000) {
      await db.prisma.user.createMany({
        data: Array.from({ length: 5_000 }, (_, i) => {
          const n = start + i;
          return {
            id: BigInt(n + 1),
            username: `u${n.toString(36)}_${words[n % 10]}`,
            displayName: `${words[(n * 7) % 10]} Person ${n}`,
            passwordHash: 'x',
          };
        }),
      });
    }
    await db.prisma.user.create({
      data: { id: 999_999n, username: 'zanzibar_quokka', displayName: 'Quentin Quokka', passwordHash: 'x' },
    });
    await db.prisma.$executeRawUnsafe('ANALYZE users');
    store = new UserStore(db.prisma, new MemoryEntityCache());
  });
  after(async () => {
    await db?.close();
    await database?.drop();
  });

  const plan = (where: string): Promise<string> =>
    db.prisma.$transaction(async (tx) => {
      // No scan of the table, nor a walk of it in username order: only index lookups remain.
      await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
      await tx.$executeRawUnsafe('SET LOCAL enable_indexscan = off');
      const rows = await tx.$queryRawUnsafe<{ 'QUERY PLAN': string }[]>(
        `EXPLAIN SELECT id FROM users WHERE ${where} ORDER BY username LIMIT 21`,
      );
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });

  it('finds a substring of the username or the display name, any case, through the trigram indexes', async () => {
    const found = await store.search({ search: 'QUOKK', afterUsername: undefined, take: 21 });
    assert.deepEqual(
      found.map((user) => user.username),
      ['zanzibar_quokka'],
    );
    const byDisplayName = await store.search({ search: 'uentin', afterUsername: undefined, take: 21 });
    assert.deepEqual(
      byDisplayName.map((user) => user.username),
      ['zanzibar_quokka'],
    );
    const explained = await plan(`username ILIKE '%quokk%' OR display_name ILIKE '%quokk%'`);
    assert.match(explained, /users_username_trgm_idx/);
    assert.match(explained, /users_display_name_trgm_idx/);
    assert.doesNotMatch(explained, /Seq Scan|Index Scan using users_username_key/);
  });

  it('matches one or two characters at the start of usernames, through the prefix index', async () => {
    const found = await store.search({ search: 'Za', afterUsername: undefined, take: 21 });
    assert.deepEqual(
      found.map((user) => user.username),
      ['zanzibar_quokka'],
    );
    const explained = await plan(`username LIKE 'za%'`);
    assert.match(explained, /users_username_prefix_idx/);
    assert.doesNotMatch(explained, /Seq Scan/);
  });

  it('pages a common match in username order with no repeat and no gap', async () => {
    const seen: string[] = [];
    let afterUsername: string | undefined;
    for (let page = 0; page < 5; page++) {
      const rows = await store.search({ search: 'juniper', afterUsername, take: 50 });
      seen.push(...rows.map((row) => row.username));
      afterUsername = rows.at(-1)?.username;
    }
    assert.equal(seen.length, 250);
    assert.deepEqual(seen, [...seen].sort());
    assert.equal(new Set(seen).size, seen.length);
  });
});
