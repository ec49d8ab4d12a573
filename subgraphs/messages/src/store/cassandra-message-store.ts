/**
 * Message history in Cassandra (the distributed mode).
 *
 * messages_by_chat holds a chat's messages in partitions of BUCKET_SIZE
 * consecutive sequence numbers, clustered by `seq` descending: a page of
 * history (`before` a cursor, newest first) is a slice of one partition, or
 * of two at a bucket's edge. Bucketing by count, not time, bounds every
 * partition by construction: 4,096 messages of at most 4,000 characters is at
 * most ~64 MB even for the worst text, ~1 MB for typical 200-byte messages,
 * and a quiet chat does not leave runs of empty time buckets to skip over.
 * docs/CASSANDRA.md has the full reasoning.
 *
 * message_days and message_times index the chat by time, so that "history
 * at a point in time" finds its starting `seq` with two single-partition
 * reads (the last day with messages up to then, then that day's last message
 * up to then), and pages from there like any other page.
 *
 * chat_heads records each chat's highest `seq`, written with `USING
 * TIMESTAMP seq` so that the highest always wins, whatever order writes (and
 * redeliveries) arrive in. messages_by_id finds a message by ID.
 *
 * Every write is an idempotent upsert keyed by the message's placement, so
 * writing a redelivered message again changes nothing.
 *
 * Message rows are written `USING TIMESTAMP <version>`: 1 as sent, then one
 * more per edit or deletion (the version Postgres hands out under a row
 * lock, see message_seqs). Cassandra keeps the cell with the highest write
 * timestamp, so a late or repeated write never undoes a newer one: a
 * redelivered original cannot bring back the text of a deleted message, and
 * an edit that races a deletion loses to it. A deletion overwrites the text
 * with an empty string; the old cell is purged at the next compaction.
 */
import cassandra from 'cassandra-driver';
import { parseSystem, type MessageRecord, type MessageStore } from './message-store.ts';

export const BUCKET_BITS = 12n;
export const BUCKET_SIZE = 1n << BUCKET_BITS;
const bucketOf = (seq: bigint): bigint => seq >> BUCKET_BITS;
/** Days since the Unix epoch (UTC): the partition of the time index. */
const dayOf = (time: Date): number => Math.floor(time.getTime() / 86_400_000);

export interface CassandraOptions {
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  replicationFactor: number;
  /** PasswordAuthenticator credentials (CASSANDRA_USERNAME, CASSANDRA_PASSWORD). @default none */
  credentials?: { username: string; password: string };
  /**
   * TLS (CASSANDRA_TLS), verifying the nodes' certificates (chain and the
   * address connected to) against `ca` (PEM, from CASSANDRA_CA_FILE) or,
   * without it, the system's CAs. @default plaintext
   */
  tls?: { ca?: string };
}

/** The keyspace and tables, created at start when missing. */
export function schemaStatements({
  keyspace,
  replicationFactor,
}: Pick<CassandraOptions, 'keyspace' | 'replicationFactor'>): string[] {
  return [
    `CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': ${replicationFactor}}`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.messages_by_chat (
       chat_id bigint, bucket bigint, seq bigint,
       id bigint, sender_id bigint, client_message_id text, body text, created_at timestamp,
       PRIMARY KEY ((chat_id, bucket), seq)
     ) WITH CLUSTERING ORDER BY (seq DESC)`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.messages_by_id (
       id bigint PRIMARY KEY, chat_id bigint, seq bigint, sender_id bigint, client_message_id text, body text, created_at timestamp
     )`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.chat_heads (chat_id bigint PRIMARY KEY, last_seq bigint)`,
    `CREATE TABLE IF NOT EXISTS ${keyspace}.message_days (chat_id bigint, day int, PRIMARY KEY ((chat_id), day))
       WITH CLUSTERING ORDER BY (day DESC)`,
    // Added with edits, deletions and SYSTEM messages; ADD IF NOT EXISTS upgrades older keyspaces in place.
    ...['messages_by_chat', 'messages_by_id'].map(
      (table) =>
        `ALTER TABLE ${keyspace}.${table} ADD IF NOT EXISTS (kind text, system text, edited_at timestamp, deleted_at timestamp, version int)`,
    ),
    `CREATE TABLE IF NOT EXISTS ${keyspace}.message_times (
       chat_id bigint, day int, created_at timestamp, seq bigint,
       PRIMARY KEY ((chat_id, day), created_at, seq)
     ) WITH CLUSTERING ORDER BY (created_at DESC, seq DESC)`,
  ];
}

const Long = cassandra.types.Long;
/**
 * A bound value that writes nothing (protocol v4+): unlike null, which
 * writes a tombstone cell that every read of the row then skips over.
 */
const unset = cassandra.types.unset;
const long = (value: string | bigint): cassandra.types.Long => Long.fromString(value.toString());

function toRecord(row: cassandra.types.Row): MessageRecord {
  return {
    id: row.get('id').toString(),
    chatId: row.get('chat_id').toString(),
    seq: row.get('seq').toString(),
    senderId: row.get('sender_id').toString(),
    text: row.get('body'),
    clientMessageId: row.get('client_message_id'),
    createdAt: (row.get('created_at') as Date).toISOString(),
    kind: row.get('kind') === 'SYSTEM' ? 'SYSTEM' : 'USER',
    system: parseSystem(row.get('system') as string | null),
    editedAt: (row.get('edited_at') as Date | null)?.toISOString() ?? null,
    deletedAt: (row.get('deleted_at') as Date | null)?.toISOString() ?? null,
    version: (row.get('version') as number | null) ?? 1,
  };
}

export class CassandraMessageStore implements MessageStore {
  readonly #client: cassandra.Client;
  readonly #ready: Promise<void>;
  readonly #keyspace: string;

  constructor(options: CassandraOptions) {
    this.#keyspace = options.keyspace;
    this.#client = new cassandra.Client({
      contactPoints: options.contactPoints,
      localDataCenter: options.localDataCenter,
      credentials: options.credentials,
      // The driver does not verify certificates unless told to.
      sslOptions: options.tls
        ? { rejectUnauthorized: true, ...(options.tls.ca ? { ca: [options.tls.ca] } : {}) }
        : undefined,
      queryOptions: { prepare: true, consistency: cassandra.types.consistencies.localQuorum },
    });
    this.#ready = this.#init(options);
    this.#ready.catch(() => {}); // surfaced by the first call that awaits it
  }

  async #init(options: CassandraOptions): Promise<void> {
    await this.#client.connect();
    for (const statement of schemaStatements(options)) await this.#client.execute(statement, [], { prepare: false });
  }

  /** Resolves once connected and the schema exists. */
  ready(): Promise<void> {
    return this.#ready;
  }

  async write(message: MessageRecord): Promise<void> {
    await this.#ready;
    const ks = this.#keyspace;
    const seq = long(message.seq);
    const chatId = long(message.chatId);
    const id = long(message.id);
    const senderId = long(message.senderId);
    const createdAt = new Date(message.createdAt);
    const day = dayOf(createdAt);
    const { clientMessageId, text: body, kind, version } = message;
    // Absent values are left unset, not bound as null: a null is a tombstone cell, three per message read back by every page.
    const system = message.system ? JSON.stringify(message.system) : unset;
    const editedAt = message.editedAt ? new Date(message.editedAt) : unset;
    const deletedAt = message.deletedAt ? new Date(message.deletedAt) : unset;
    const stamp = long(String(version));
    // Independent upserts, each idempotent: sent together, one round trip of latency per message.
    // The pipeline announces the message only after all of them are acknowledged.
    await Promise.all([
      this.#client.execute(
        `INSERT INTO ${ks}.messages_by_chat (chat_id, bucket, seq, id, sender_id, client_message_id, body, created_at, kind, system, edited_at, deleted_at, version)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
        [
          chatId,
          long(bucketOf(BigInt(message.seq))),
          seq,
          id,
          senderId,
          clientMessageId,
          body,
          createdAt,
          kind,
          system,
          editedAt,
          deletedAt,
          version,
          stamp,
        ],
      ),
      this.#client.execute(
        `INSERT INTO ${ks}.messages_by_id (id, chat_id, seq, sender_id, client_message_id, body, created_at, kind, system, edited_at, deleted_at, version)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`,
        [
          id,
          chatId,
          seq,
          senderId,
          clientMessageId,
          body,
          createdAt,
          kind,
          system,
          editedAt,
          deletedAt,
          version,
          stamp,
        ],
      ),
      this.#client.execute(`INSERT INTO ${ks}.message_days (chat_id, day) VALUES (?, ?)`, [chatId, day]),
      this.#client.execute(`INSERT INTO ${ks}.message_times (chat_id, day, created_at, seq) VALUES (?, ?, ?, ?)`, [
        chatId,
        day,
        createdAt,
        seq,
      ]),
      this.#client.execute(`UPDATE ${ks}.chat_heads USING TIMESTAMP ? SET last_seq = ? WHERE chat_id = ?`, [
        seq,
        seq,
        chatId,
      ]),
    ]);
  }

  async update(message: MessageRecord): Promise<void> {
    await this.#ready;
    const ks = this.#keyspace;
    // The whole mutable state at this version, nulls included, as the Postgres store writes it (rare: edits and deletions only).
    const values = [
      message.text,
      message.editedAt ? new Date(message.editedAt) : null,
      message.deletedAt ? new Date(message.deletedAt) : null,
      message.version,
    ];
    const stamp = long(String(message.version));
    const set = 'SET body = ?, edited_at = ?, deleted_at = ?, version = ?';
    await Promise.all([
      this.#client.execute(
        `UPDATE ${ks}.messages_by_chat USING TIMESTAMP ? ${set} WHERE chat_id = ? AND bucket = ? AND seq = ?`,
        [stamp, ...values, long(message.chatId), long(bucketOf(BigInt(message.seq))), long(message.seq)],
      ),
      this.#client.execute(`UPDATE ${ks}.messages_by_id USING TIMESTAMP ? ${set} WHERE id = ?`, [
        stamp,
        ...values,
        long(message.id),
      ]),
    ]);
  }

  /** The highest `seq` stored for the chat, 0 when it has none. */
  async #head(chatId: string): Promise<bigint> {
    const head = await this.#client.execute(`SELECT last_seq FROM ${this.#keyspace}.chat_heads WHERE chat_id = ?`, [
      long(chatId),
    ]);
    const last = head.first()?.get('last_seq');
    return last ? BigInt(last.toString()) : 0n;
  }

  async page(chatId: string, limit: number, beforeSeq?: string): Promise<MessageRecord[]> {
    await this.#ready;
    const upper = beforeSeq === undefined ? (await this.#head(chatId)) + 1n : BigInt(beforeSeq);
    const out: MessageRecord[] = [];
    // Walk buckets downwards from the one holding upper - 1 until the page is full.
    for (let bucket = bucketOf(upper - 1n); bucket >= 0n && out.length < limit; bucket--) {
      const result = await this.#client.execute(
        `SELECT * FROM ${this.#keyspace}.messages_by_chat WHERE chat_id = ? AND bucket = ? AND seq < ? LIMIT ?`,
        [long(chatId), long(bucket), long(upper), limit - out.length],
      );
      out.push(...result.rows.map(toRecord));
    }
    return out;
  }

  async range(chatId: string, afterSeq: string, limit: number, beforeSeq?: string): Promise<MessageRecord[]> {
    await this.#ready;
    const lower = BigInt(afterSeq);
    const upper = beforeSeq === undefined ? (await this.#head(chatId)) + 1n : BigInt(beforeSeq);
    const out: MessageRecord[] = [];
    // Walk buckets upwards from the one holding lower + 1.
    for (let bucket = bucketOf(lower + 1n); bucket <= bucketOf(upper - 1n) && out.length < limit; bucket++) {
      const result = await this.#client.execute(
        `SELECT * FROM ${this.#keyspace}.messages_by_chat WHERE chat_id = ? AND bucket = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?`,
        [long(chatId), long(bucket), long(lower), long(upper), limit - out.length],
      );
      out.push(...result.rows.map(toRecord));
    }
    return out;
  }

  /** Two single-partition reads: the chat's last day with messages up to `at`, then that day's last message up to `at`. */
  async seqAt(chatId: string, at: Date): Promise<string | null> {
    await this.#ready;
    const days = await this.#client.execute(
      `SELECT day FROM ${this.#keyspace}.message_days WHERE chat_id = ? AND day <= ? LIMIT 1`,
      [long(chatId), dayOf(at)],
    );
    const day = days.first()?.get('day') as number | undefined;
    if (day === undefined) return null;
    const times = await this.#client.execute(
      `SELECT seq FROM ${this.#keyspace}.message_times WHERE chat_id = ? AND day = ? AND created_at <= ? LIMIT 1`,
      [long(chatId), day, at],
    );
    return times.first()?.get('seq').toString() ?? null;
  }

  async byIds(ids: readonly string[]): Promise<(MessageRecord | null)[]> {
    await this.#ready;
    // One single-partition read per ID, concurrently: cheaper for Cassandra than IN across partitions.
    return Promise.all(
      ids.map(async (id) => {
        const result = await this.#client.execute(`SELECT * FROM ${this.#keyspace}.messages_by_id WHERE id = ?`, [
          long(id),
        ]);
        const row = result.first();
        return row ? toRecord(row) : null;
      }),
    );
  }

  async close(): Promise<void> {
    await this.#ready.catch(() => {});
    await this.#client.shutdown();
  }
}
