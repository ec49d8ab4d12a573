/** The Cassandra history store against a real Cassandra node. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import { CassandraMessageStore, type MessageRecord } from '@chat/subgraph-messages';
import { cassandraContactPoints } from '../kit/topology.ts';

const keyspace = `it${Date.now().toString(36)}`;
const message = (chatId: string, seq: number): MessageRecord => ({
  id: String(1_000_000 + seq),
  chatId,
  seq: String(seq),
  senderId: '7',
  text: `text ${seq}`,
  clientMessageId: `k${seq}`,
  createdAt: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
  kind: 'USER',
  system: null,
  editedAt: null,
  deletedAt: null,
  version: 1,
});

describe('CassandraMessageStore', () => {
  let store: CassandraMessageStore;

  before(async () => {
    store = new CassandraMessageStore({
      contactPoints: cassandraContactPoints().split(','),
      localDataCenter: 'datacenter1',
      keyspace,
      replicationFactor: 1,
    });
    await store.ready();
  });
  after(async () => {
    await store.close();
    const admin = new cassandra.Client({
      contactPoints: cassandraContactPoints().split(','),
      localDataCenter: 'datacenter1',
    });
    await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    await admin.shutdown();
  });

  it('pages newest first across the edge of a 4,096-message bucket', async () => {
    const seqs = [4090, 4091, 4092, 4093, 4094, 4095, 4096, 4097, 4098];
    // Written out of order, and one twice: the store does not care.
    for (const seq of [...seqs].reverse()) await store.write(message('1', seq));
    await store.write(message('1', 4096));
    const newest = await store.page('1', 4);
    assert.deepEqual(
      newest.map((row) => row.seq),
      ['4098', '4097', '4096', '4095'],
    );
    const next = await store.page('1', 4, '4095');
    assert.deepEqual(
      next.map((row) => row.seq),
      ['4094', '4093', '4092', '4091'],
    );
    const last = await store.page('1', 4, '4091');
    assert.deepEqual(
      last.map((row) => row.seq),
      ['4090'],
    );
    assert.deepEqual(newest[0], message('1', 4098));
  });

  it('keeps the highest seq as the chat head whatever order writes arrive in', async () => {
    await store.write(message('2', 3));
    await store.write(message('2', 1));
    await store.write(message('2', 2));
    assert.deepEqual(
      (await store.page('2', 10)).map((row) => row.seq),
      ['3', '2', '1'],
    );
  });

  it('finds the position at a point in time across days, with two single-partition reads', async () => {
    // Chat 4: messages on 1 Jan 10:00, 10:05, then 3 Jan 09:00 (nothing on 2 Jan).
    const at = (iso: string, seq: number) => ({ ...message('4', seq), createdAt: new Date(iso).toISOString() });
    for (const m of [at('2026-01-01T10:00:00Z', 1), at('2026-01-01T10:05:00Z', 2), at('2026-01-03T09:00:00Z', 3)])
      await store.write(m);
    assert.equal(await store.seqAt('4', new Date('2025-12-31T23:00:00Z')), null);
    assert.equal(await store.seqAt('4', new Date('2026-01-01T10:00:00Z')), '1');
    assert.equal(await store.seqAt('4', new Date('2026-01-01T10:04:59Z')), '1');
    assert.equal(await store.seqAt('4', new Date('2026-01-02T12:00:00Z')), '2');
    assert.equal(await store.seqAt('4', new Date('2026-01-03T09:00:00Z')), '3');
    assert.equal(await store.seqAt('4', new Date('2027-01-01T00:00:00Z')), '3');
  });

  it('finds messages by ID, null for unknown ones, and returns nothing for an empty chat', async () => {
    assert.deepEqual(await store.byIds([message('1', 4097).id, '42']), [message('1', 4097), null]);
    assert.deepEqual(await store.page('3', 10), []);
  });

  it('keeps the newest version of a message whatever order writes arrive in', async () => {
    const original = message('9', 1);
    const edited = { ...original, text: 'edited', editedAt: new Date().toISOString(), version: 2 };
    const deleted = { ...edited, text: '', deletedAt: new Date().toISOString(), version: 3 };
    await store.write(original);
    await store.update(deleted);
    await store.update(edited); // a late edit loses to the deletion
    await store.write(original); // a redelivered original cannot bring the text back
    const [byId] = await store.byIds([original.id]);
    const [inPage] = await store.page('9', 1);
    for (const row of [byId, inPage]) {
      assert.equal(row?.text, '');
      assert.equal(row?.version, 3);
      assert.equal(row?.deletedAt, deleted.deletedAt);
    }
  });

  it('stores SYSTEM messages with their event', async () => {
    const system = {
      ...message('10', 1),
      id: '2000001',
      kind: 'SYSTEM' as const,
      system: { action: 'MEMBERS_ADDED' as const, actorId: '7', userIds: ['8'] },
    };
    await store.write(system);
    const [row] = await store.byIds([system.id]);
    assert.equal(row?.kind, 'SYSTEM');
    assert.deepEqual(row?.system, system.system);
  });

  it('leaves the columns a new message lacks unset, so reading it meets no tombstone, and edits and deletions still set theirs', async () => {
    // Cassandra's trace of a read counts what it skipped: "Read 20 live rows and 0 tombstone cells".
    const tracer = new cassandra.Client({
      contactPoints: cassandraContactPoints().split(','),
      localDataCenter: 'datacenter1',
    });
    const readCounts = async (query: string, params: unknown[]): Promise<string[]> => {
      const result = await tracer.execute(query, params, { prepare: true, traceQuery: true });
      const trace = await tracer.metadata.getTrace(result.info.traceId);
      return trace.events.map((event) => event.activity).filter((activity) => /tombstone cells/.test(activity));
    };
    const long = (value: number | string) => cassandra.types.Long.fromString(String(value));
    const page = () =>
      readCounts(`SELECT * FROM ${keyspace}.messages_by_chat WHERE chat_id = ? AND bucket = ? AND seq < ? LIMIT ?`, [
        long(11),
        long(0),
        long(100),
        50,
      ]);
    const byId = (id: string) => readCounts(`SELECT * FROM ${keyspace}.messages_by_id WHERE id = ?`, [long(id)]);
    try {
      const messages = Array.from({ length: 20 }, (_, i) => ({ ...message('11', i + 1), id: String(3_000_001 + i) }));
      for (const m of messages) await store.write(m);
      await store.write(messages[0]!); // redelivered: still nothing written for its empty columns
      assert.deepEqual(await page(), ['Read 20 live rows and 0 tombstone cells']);
      assert.deepEqual(await byId(messages[0]!.id), ['Read 1 live rows and 0 tombstone cells']);
      assert.deepEqual((await store.page('11', 20)).reverse(), messages, 'empty columns read back as null');

      const edited = { ...messages[1]!, text: 'edited', editedAt: new Date().toISOString(), version: 2 };
      await store.update(edited);
      const deleted = { ...messages[2]!, text: '', deletedAt: new Date().toISOString(), version: 2 };
      await store.update(deleted);
      const [readEdited, readDeleted] = await store.byIds([edited.id, deleted.id]);
      assert.deepEqual([readEdited, readDeleted], [edited, deleted]);
      const inPage = await store.page('11', 20);
      assert.deepEqual([inPage.at(-2), inPage.at(-3)], [edited, deleted]);
    } finally {
      await tracer.shutdown();
    }
  });
});
