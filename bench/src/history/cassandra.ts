/**
 * The Cassandra side of the history scenario: seeds the keyspace the
 * messages subgraph created at start (so the tables are exactly the ones it
 * reads, docs/CASSANDRA.md) with the rows its pipeline would have written for
 * every message, and drops the keyspace afterwards.
 *
 * Per message, as `CassandraMessageStore.write` does: `messages_by_chat` (in
 * buckets of 4,096 `seq`), `messages_by_id`, the time index
 * (`message_days`, `message_times`), and `chat_heads` once. Rows carry the
 * store's write timestamp (`USING TIMESTAMP <version>`, 1 as sent) so that a
 * later edit through the product would still win over them.
 *
 * Rows of one partition go in unlogged batches of 100 (one partition per
 * batch: one mutation for the node, no batch log); `messages_by_id`, one
 * partition per message, as concurrent single inserts. At most
 * `concurrency` requests are in flight.
 */
import cassandra from 'cassandra-driver';
import { clientMessageId, createdAtMs, messageId, messageText, senderId, type HistoryDataset } from './dataset.ts';

const BUCKET_BITS = 12;
const BATCH_ROWS = 100;
const Long = cassandra.types.Long;
const long = (value: bigint | number): cassandra.types.Long => Long.fromString(value.toString());
const dayOf = (ms: number): number => Math.floor(ms / 86_400_000);

export function cassandraClient(contactPoints: string): cassandra.Client {
  return new cassandra.Client({
    contactPoints: contactPoints.split(',').map((point) => point.trim()),
    localDataCenter: 'datacenter1',
    queryOptions: { prepare: true, consistency: cassandra.types.consistencies.localQuorum },
  });
}

/** Runs `tasks` with at most `limit` at once; rejects with the first failure. */
async function pool(tasks: Iterable<() => Promise<unknown>>, limit: number): Promise<void> {
  const iterator = tasks[Symbol.iterator]();
  const worker = async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) await next.value();
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** Whether the messages subgraph has created its tables in `keyspace` (it does so at start). */
export async function keyspaceReady(client: cassandra.Client, keyspace: string): Promise<boolean> {
  const result = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [
    keyspace,
  ]);
  const tables = new Set(result.rows.map((row) => row.get('table_name') as string));
  return ['messages_by_chat', 'messages_by_id', 'chat_heads', 'message_days', 'message_times'].every((table) =>
    tables.has(table),
  );
}

export async function seedCassandra(
  client: cassandra.Client,
  keyspace: string,
  data: HistoryDataset,
  { concurrency = 32, progress }: { concurrency?: number; progress(message: string): void },
): Promise<void> {
  const ks = keyspace;
  const chatId = long(data.chatId);
  // As CassandraMessageStore.write: absent columns are left out, not written as null (a tombstone cell each).
  const byChat = `INSERT INTO ${ks}.messages_by_chat (chat_id, bucket, seq, id, sender_id, client_message_id, body, created_at, kind, version)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'USER', 1) USING TIMESTAMP 1`;
  const byId = `INSERT INTO ${ks}.messages_by_id (id, chat_id, seq, sender_id, client_message_id, body, created_at, kind, version)
    VALUES (?, ?, ?, ?, ?, ?, ?, 'USER', 1) USING TIMESTAMP 1`;
  const times = `INSERT INTO ${ks}.message_times (chat_id, day, created_at, seq) VALUES (?, ?, ?, ?)`;
  const days = `INSERT INTO ${ks}.message_days (chat_id, day) VALUES (?, ?)`;
  const n = data.messages;
  const row = (seq: number) => ({
    seq: long(seq),
    id: long(messageId(data, seq)),
    sender: long(senderId(data, seq)),
    clientMessageId: clientMessageId(seq),
    text: messageText(seq),
    createdAt: new Date(createdAtMs(data, seq)),
  });
  let done = 0;
  let tableStarted = performance.now();
  const report = (table: string, step: number) => {
    const before = done;
    done += step;
    if (Math.floor(done / 100_000) > Math.floor(before / 100_000) || done === n) {
      const took = done === n ? ` (${((performance.now() - tableStarted) / 1000).toFixed(1)} s)` : '';
      progress(`  ${table}: ${done.toLocaleString('en-US')} / ${n.toLocaleString('en-US')}${took}`);
    }
  };
  const nextTable = () => {
    done = 0;
    tableStarted = performance.now();
  };

  // messages_by_chat: batches within one (chat, bucket) partition.
  function* chatBatches() {
    for (let from = 1; from <= n;) {
      const bucketEnd = (((from >> BUCKET_BITS) + 1) << BUCKET_BITS) - 1;
      const to = Math.min(n, from + BATCH_ROWS - 1, bucketEnd);
      const bucket = long(from >> BUCKET_BITS);
      const first = from;
      yield async () => {
        const queries = [];
        for (let seq = first; seq <= to; seq++) {
          const r = row(seq);
          queries.push({
            query: byChat,
            params: [chatId, bucket, r.seq, r.id, r.sender, r.clientMessageId, r.text, r.createdAt],
          });
        }
        await client.batch(queries, { prepare: true, logged: false });
        report('messages_by_chat', to - first + 1);
      };
      from = to + 1;
    }
  }
  await pool(chatBatches(), concurrency);

  // messages_by_id: a partition per message.
  nextTable();
  function* byIdInserts() {
    for (let seq = 1; seq <= n; seq++) {
      const s = seq;
      yield async () => {
        const r = row(s);
        await client.execute(byId, [r.id, chatId, r.seq, r.sender, r.clientMessageId, r.text, r.createdAt]);
        report('messages_by_id', 1);
      };
    }
  }
  await pool(byIdInserts(), concurrency * 4);

  // The time index: batches within one (chat, day) partition, and each day once.
  nextTable();
  function* timeBatches() {
    for (let from = 1; from <= n;) {
      const day = dayOf(createdAtMs(data, from));
      let to = from;
      while (to < n && to - from + 1 < BATCH_ROWS && dayOf(createdAtMs(data, to + 1)) === day) to++;
      const first = from;
      yield async () => {
        const queries = [];
        for (let seq = first; seq <= to; seq++)
          queries.push({ query: times, params: [chatId, day, new Date(createdAtMs(data, seq)), long(seq)] });
        await client.batch(queries, { prepare: true, logged: false });
        report('message_times', to - first + 1);
      };
      from = to + 1;
    }
  }
  await pool(timeBatches(), concurrency);
  const allDays = new Set<number>();
  for (let seq = 1; seq <= n; seq++) allDays.add(dayOf(createdAtMs(data, seq)));
  await pool(
    [...allDays].map((day) => () => client.execute(days, [chatId, day])),
    concurrency,
  );

  await client.execute(`UPDATE ${ks}.chat_heads USING TIMESTAMP ? SET last_seq = ? WHERE chat_id = ?`, [
    long(n),
    long(n),
    chatId,
  ]);
  await checkSeededCassandra(client, keyspace, data);
}

/** Spot-checks a few rows against dataset.ts. */
async function checkSeededCassandra(client: cassandra.Client, keyspace: string, data: HistoryDataset): Promise<void> {
  for (const seq of [1, Math.ceil(data.messages / 2), data.messages]) {
    const result = await client.execute(
      `SELECT id, body FROM ${keyspace}.messages_by_chat WHERE chat_id = ? AND bucket = ? AND seq = ?`,
      [long(data.chatId), long(seq >> BUCKET_BITS), long(seq)],
    );
    const found = result.first();
    if (
      !found ||
      found.get('id').toString() !== messageId(data, seq).toString() ||
      found.get('body') !== messageText(seq)
    ) {
      throw new Error(`seeded message ${seq} is missing or differs in ${keyspace}.messages_by_chat`);
    }
  }
}

/** The SSTables on disk per table of the keyspace (what is still in memtables is not counted). */
export async function tableSizes(client: cassandra.Client, keyspace: string): Promise<string> {
  try {
    const result = await client.execute(
      'SELECT table_name, mebibytes FROM system_views.disk_usage WHERE keyspace_name = ?',
      [keyspace],
      { prepare: false },
    );
    return (
      result.rows.map((row) => `${row.get('table_name') as string} ${String(row.get('mebibytes'))} MiB`).join(', ') +
      ' on disk'
    );
  } catch (error) {
    return `unknown (${(error as Error).message})`;
  }
}

/**
 * Waits until the node runs no compaction of the keyspace's tables (what
 * seeding a million rows sets off), so that it does not compete with the
 * reads measured; at most `timeoutMs`.
 * @returns whether it finished in time.
 */
export async function waitForCompactions(
  client: cassandra.Client,
  keyspace: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tasks = await client.execute(
      'SELECT kind FROM system_views.sstable_tasks WHERE keyspace_name = ? ALLOW FILTERING',
      [keyspace],
      { prepare: false },
    );
    if (tasks.rowLength === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** A history page's read with tracing on: the events Cassandra recorded, for looking into slow pages. */
export async function tracePage(
  client: cassandra.Client,
  keyspace: string,
  chatId: bigint,
  beforeSeq: number,
  limit: number,
): Promise<string> {
  const bucket = (beforeSeq - 1) >> BUCKET_BITS;
  const result = await client.execute(
    `SELECT * FROM ${keyspace}.messages_by_chat WHERE chat_id = ? AND bucket = ? AND seq < ? LIMIT ?`,
    [long(chatId), long(bucket), long(beforeSeq), limit],
    { traceQuery: true },
  );
  await new Promise((resolve) => setTimeout(resolve, 500)); // traces are written asynchronously
  const trace = await client.metadata.getTrace(result.info.traceId);
  return [
    `${result.rows.length} rows, ${trace.duration} µs at the coordinator`,
    ...trace.events.map((event) => `  ${String(event.elapsed).padStart(6)} µs  ${event.activity}`),
  ].join('\n');
}

export async function dropKeyspace(client: cassandra.Client, keyspace: string): Promise<void> {
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { prepare: false });
}
