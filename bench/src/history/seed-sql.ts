/**
 * Seeds the dataset into a migrated Postgres or PGlite database, straight
 * into the tables the product reads (sendMessage would take hours for a
 * million messages): the two users, the reader's session, the direct chat
 * and its members as the chats subgraph leaves them, and per message its
 * `message_seqs` row (the placement, written in both storage modes) and,
 * when history lives in Postgres, its `messages` row. Messages are
 * generated inside the database (`generate_series`), in chunks.
 *
 * Left out, since no read of history touches them: `message_keys` (the
 * idempotency keys of sendMessage), refresh tokens, presence rows.
 */
import { EPOCH_MS } from '@chat/common';
import { SEED_WORKERS, UNUSABLE_PASSWORD_HASH } from '@chat/common/testing';
import {
  clientMessageId,
  createdAtMs,
  lastAtMs,
  LOREM,
  messageId,
  messageText,
  messageTextSql,
  type HistoryDataset,
} from './dataset.ts';

/** One SQL statement with `$n` parameters; what pg's client and Prisma's `$executeRawUnsafe` both do. */
export type SqlRunner = (sql: string, params?: unknown[]) => Promise<unknown>;

/** Rows generated per statement: progress to show, and no single huge transaction. */
const CHUNK = 100_000;

/** Seeds everything but message rows' bodies, which only `withHistory` adds. */
export async function seedSql(
  run: SqlRunner,
  data: HistoryDataset,
  { withHistory, progress }: { withHistory: boolean; progress(message: string): void },
): Promise<void> {
  const created = new Date(data.firstAtMs - 60_000);
  const last = new Date(lastAtMs(data));
  const { readerId, otherId, chatId } = data;
  const [low, high] = readerId < otherId ? [readerId, otherId] : [otherId, readerId];
  await run(
    `INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ($1, $2, 'History Reader', $5, $6), ($3, $4, 'History Other', $5, $6)`,
    // Nobody logs in as these users: the reader's token is minted directly.
    [readerId, data.readerUsername, otherId, data.otherUsername, UNUSABLE_PASSWORD_HASH, created],
  );
  await run(
    `INSERT INTO sessions (id, user_id, device_name, user_agent, created_at, last_used_at, expires_at) VALUES ($1, $2, 'bench', 'chat-bench', now(), now(), now() + interval '30 days')`,
    [data.sessionId, readerId],
  );
  await run(
    `INSERT INTO chats (id, kind, title, direct_key, created_by_id, created_at, last_message_id, last_activity_at, last_seq)
     VALUES ($1, 'DIRECT', NULL, $2, $3, $4, $5, $6, $7)`,
    [chatId, `${low}:${high}`, readerId, created, messageId(data, data.messages), last, data.messages],
  );
  // Both members have received and seen everything: nothing unread.
  await run(
    `INSERT INTO chat_members (chat_id, user_id, role, joined_at, unread_count, delivered_seq, delivered_at, seen_seq, seen_at)
     VALUES ($1, $2, 'MEMBER', $4, 0, $5, $6, $5, $6), ($1, $3, 'MEMBER', $4, 0, $5, $6, $5, $6)`,
    [chatId, readerId, otherId, created, data.messages, last],
  );

  // Per message: ID, time and sender as functions of s, as dataset.ts computes them.
  const epochMs = BigInt(EPOCH_MS);
  const createdMs = `($2::bigint + (s - 1) * $3::bigint)`;
  const columns = {
    id: `((${createdMs} - ${epochMs}) << 22) | ${BigInt(SEED_WORKERS.messages) << 12n}`,
    createdAt: `timestamptz 'epoch' + ${createdMs} * interval '1 millisecond'`,
    sender: `CASE WHEN s % 2 = 1 THEN $4::bigint ELSE $5::bigint END`,
  };
  const params = (from: number, to: number) => [
    chatId,
    BigInt(data.firstAtMs),
    BigInt(data.intervalMs),
    readerId,
    otherId,
    from,
    to,
  ];
  const tables: [string, string, (from: number, to: number) => unknown[]][] = [
    [
      'message_seqs',
      `INSERT INTO message_seqs (message_id, chat_id, seq, sender_id, kind, created_at, version, edited_at, deleted_at)
       SELECT ${columns.id}, $1::bigint, s, ${columns.sender}, 'USER', ${columns.createdAt}, 1, NULL, NULL
         FROM generate_series($6::bigint, $7::bigint) AS s`,
      params,
    ],
  ];
  if (withHistory) {
    tables.push([
      'messages',
      `INSERT INTO messages (id, chat_id, seq, sender_id, client_message_id, text, created_at, kind, system, edited_at, deleted_at, version)
       SELECT ${columns.id}, $1::bigint, s, ${columns.sender}, 'bench-' || s, ${messageTextSql('s', '$8')}, ${columns.createdAt}, 'USER', NULL, NULL, NULL, 1
         FROM generate_series($6::bigint, $7::bigint) AS s`,
      (from, to) => [...params(from, to), LOREM],
    ]);
  }
  for (const [table, sql, paramsOf] of tables) {
    for (let from = 1; from <= data.messages; from += CHUNK) {
      const to = Math.min(data.messages, from + CHUNK - 1);
      await run(sql, paramsOf(from, to));
      progress(`  ${table}: ${to.toLocaleString('en-US')} / ${data.messages.toLocaleString('en-US')}`);
    }
  }
  // What autovacuum would have done long before anyone paged a year of history: statistics and the visibility map.
  await run(
    withHistory
      ? 'VACUUM ANALYZE messages, message_seqs, chats, chat_members, users, sessions'
      : 'VACUUM ANALYZE message_seqs, chats, chat_members, users, sessions',
  );
}

/** Spot-checks the SQL generation against dataset.ts (first, a middle and last message). */
export async function checkSeededSql(
  query: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>,
  data: HistoryDataset,
): Promise<void> {
  for (const seq of [1, Math.ceil(data.messages / 2), data.messages]) {
    const [row] = await query(
      'SELECT id::text AS id, text, client_message_id, created_at FROM messages WHERE chat_id = $1 AND seq = $2',
      [data.chatId, seq],
    );
    const expected = {
      id: messageId(data, seq).toString(),
      text: messageText(seq),
      clientMessageId: clientMessageId(seq),
      createdAt: new Date(createdAtMs(data, seq)).toISOString(),
    };
    const actual = row && {
      id: String(row.id),
      text: String(row.text),
      clientMessageId: String(row.client_message_id),
      createdAt: new Date(row.created_at as string | Date).toISOString(),
    };
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      throw new Error(
        `seeded message ${seq} differs from the dataset: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`,
      );
    }
  }
}
