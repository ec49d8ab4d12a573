/**
 * The chat the history scenario reads: one direct chat between two users
 * with `messages` messages, and a session of the reader. Everything is a
 * pure function of the settings, so the Postgres (SQL), PGlite (the same
 * SQL) and Cassandra (CQL values computed here) copies hold the same rows,
 * byte for byte, and every storage mode returns pages of the same size.
 *
 * Message `seq` (1 … messages) is the chat's order, as the pipeline gives
 * it; the message sent `seq` was sent at `firstAt + (seq - 1) × interval`
 * (about one message every 31.5 s: a year for a million), its ID the
 * Snowflake of that millisecond (worker 1022, sequence 0), the sender
 * alternating between the two members. Texts are 33 to 195 ASCII
 * characters (about 115 on average), all different.
 *
 * Usernames, client message IDs and the Snowflake layout are the seed
 * factories' (`@chat/common/testing`); the texts are this scenario's own
 * (their sizes are part of what it measures, and SQL computes them too).
 */
import { SEED_WORKERS, snowflakeAt, testClientMessageId, testUsername } from '@chat/common/testing';

/** A year of messages for the full case: one every 31.536 s. */
const SPAN_MS = 365 * 86_400_000;

/** 400 ASCII characters the texts are cut from (SQL `substr` and JS `slice` agree on ASCII). */
export const LOREM =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ' +
  'Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure ' +
  'dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non ' +
  'proident, sunt in culpa qui officia deserunt mollit anim id est laborum. Sed ut perspiciatis unde omnis.';

export interface HistoryDataset {
  messages: number;
  /** Milliseconds since the Unix epoch of message 1. */
  firstAtMs: number;
  intervalMs: number;
  chatId: bigint;
  readerId: bigint;
  otherId: bigint;
  readerUsername: string;
  otherUsername: string;
  sessionId: bigint;
}

/**
 * The dataset of `messages` messages, the newest sent about now (`now`).
 * `tag` makes usernames unique per seeding (a database may be kept and reused).
 */
export function historyDataset(messages: number, tag: string, now = Date.now()): HistoryDataset {
  const intervalMs = Math.floor(SPAN_MS / 1_000_000);
  const firstAtMs = now - messages * intervalMs;
  const createdMs = firstAtMs - 60_000; // users and chat: a minute before the first message
  return {
    messages,
    firstAtMs,
    intervalMs,
    readerId: snowflakeAt(createdMs, SEED_WORKERS.entities, 0),
    otherId: snowflakeAt(createdMs, SEED_WORKERS.entities, 1),
    chatId: snowflakeAt(createdMs, SEED_WORKERS.entities, 2),
    sessionId: snowflakeAt(now, SEED_WORKERS.entities, 3),
    readerUsername: testUsername('bench_reader', tag),
    otherUsername: testUsername('bench_other', tag),
  };
}

/** When message `seq` was sent (ms since the Unix epoch). */
export const createdAtMs = (data: HistoryDataset, seq: number): number => data.firstAtMs + (seq - 1) * data.intervalMs;

/** The ID of message `seq`. */
export const messageId = (data: HistoryDataset, seq: number): bigint =>
  snowflakeAt(createdAtMs(data, seq), SEED_WORKERS.messages);

/** Odd `seq`: the reader; even: the other member. */
export const senderId = (data: HistoryDataset, seq: number): bigint => (seq % 2 === 1 ? data.readerId : data.otherId);

/** The text of message `seq` (what `messageTextSql` computes in SQL). */
export function messageText(seq: number): string {
  const start = (seq * 37) % 200;
  return `Message ${seq}: ${LOREM.slice(start, start + 20 + ((seq * 7919) % 160))}`;
}

/** The idempotency key of message `seq` (what the SQL computes as `'bench-' || s`). */
export const clientMessageId = (seq: number): string => testClientMessageId('bench', seq);

/** `messageText` as a SQL expression of the bigint column `s`, with the lorem text as parameter `loremParam` (e.g. `$3`). */
export const messageTextSql = (s: string, loremParam: string): string =>
  `'Message ' || ${s} || ': ' || substr(${loremParam}::text, (1 + (${s} * 37) % 200)::int, (20 + (${s} * 7919) % 160)::int)`;

/** The newest message's time: the chat's last activity. */
export const lastAtMs = (data: HistoryDataset): number => createdAtMs(data, data.messages);
