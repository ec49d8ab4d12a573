/** Snowflake worker numbers and clock leases across processes sharing one Postgres database. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, createRuntime, loadConfig, runtimeModels, snowflakeTime, type Runtime } from '@chat/common';
import { createTestDatabase, TEST_SECRETS } from '../kit/launcher.ts';

describe('Snowflake leases on Postgres', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const open = (extra: Record<string, string> = {}) =>
    createRuntime(
      loadConfig(runtimeModels({ issuesTokens: false }), { DATABASE_URL: database.url, ...TEST_SECRETS, ...extra }),
    );

  before(async () => {
    database = await createTestDatabase();
  });
  after(() => database?.drop());

  it('gives live processes distinct worker numbers, and refuses a configured one that is taken', async () => {
    const runtimes: Runtime[] = [];
    try {
      for (let i = 0; i < 3; i++) runtimes.push(await open());
      assert.equal(new Set(runtimes.map((runtime) => runtime.db.workerId)).size, 3);
      const taken = String(runtimes[0]!.db.workerId);
      await assert.rejects(
        open({ WORKER_ID: taken }),
        (error: unknown) => error instanceof ConfigError && /WORKER_ID/.test(error.message),
      );
    } finally {
      await Promise.all(runtimes.map((runtime) => runtime.close()));
    }
  });

  it('starts a worker number after the last millisecond its previous holder used', async () => {
    const first = await open({ WORKER_ID: '17' });
    // Run the logical clock far ahead, as a previous run on a faster wall clock would have.
    const ahead = Date.now() + 5_000;
    const lastOfFirst = snowflakeTime(
      await (async () => {
        let id = first.ids.next();
        while (snowflakeTime(id).getTime() < ahead) for (let i = 0; i < 4096 * 100; i++) id = first.ids.next();
        return id;
      })(),
    ).getTime();
    await first.close(); // records the lease

    const second = await open({ WORKER_ID: '17' });
    try {
      assert.equal(second.db.workerId, 17);
      assert.ok(snowflakeTime(second.ids.next()).getTime() > lastOfFirst, 'no ID of the previous holder can repeat');
    } finally {
      await second.close();
    }
  });
});
