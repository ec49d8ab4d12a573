/**
 * What seeded data looks like, for the three seed writers: the unit kit's
 * rows (./seed.ts), the e2e kit's API calls (tests/src/kit/seed.ts) and the
 * benchmarks' bulk SQL (bench/src/fanout/seed.ts, bench/src/history/).
 * They write at different levels on purpose (docs/TESTING.md, "The unit
 * kit"); the names, passwords, titles and IDs they write come from here, so
 * that each is valid under the product's rules and unique where it must be,
 * once.
 *
 * Pure functions of their arguments (and, for `uniqueTag`, of the process):
 * a benchmark calls them per row without changing what it measures.
 */
import { EPOCH_MS } from '../snowflake.ts';

/**
 * The product's limits the factories stay within, as the users, chats and
 * messages subgraphs check them (common cannot import a subgraph). Should one
 * of them shrink, registrations and sends in the e2e tests are refused at
 * once: the copy cannot drift unseen in the direction that matters.
 */
export const SEED_LIMITS = {
  /** subgraphs/users `USERNAME_MIN`, `USERNAME_MAX`: `[A-Za-z0-9_]`, stored in lower case. */
  usernameMin: 3,
  usernameMax: 32,
  /** subgraphs/users `PASSWORD_MIN`. */
  passwordMin: 8,
  /** subgraphs/users `DISPLAY_NAME_MAX`. */
  displayNameMax: 64,
  /** subgraphs/chats `MAX_TITLE_LENGTH`. */
  groupTitleMax: 100,
  /** subgraphs/messages `MAX_CLIENT_MESSAGE_ID_LENGTH`: `[A-Za-z0-9._:-]`. */
  clientMessageIdMax: 64,
} as const;

const USERNAME_CHARACTERS = /^[a-z0-9_]+$/;
const CLIENT_MESSAGE_ID = new RegExp(`^[A-Za-z0-9._:-]{1,${SEED_LIMITS.clientMessageIdMax}}$`);

/**
 * This process among every process seeding the same stores: its ID, then the
 * second it loaded this module (a process ID comes back only long after its
 * process ended). The second is six base-36 digits, so the two never run into
 * each other.
 */
const PROCESS_TAG = `${process.pid.toString(36)}${Math.floor((Date.now() - EPOCH_MS) / 1000)
  .toString(36)
  .padStart(6, '0')}`;
let tags = 0;

/**
 * A short tag (`[a-z0-9_]`, at most 15 characters for a process's first
 * 46,656) that no other call returns, in this process or any other: for
 * names that must not collide with those of an earlier run or of a
 * concurrent test file on the same database.
 * @example uniqueTag() // 'kx2a1b2c3_1'
 */
export function uniqueTag(): string {
  tags += 1;
  return `${PROCESS_TAG}_${tags.toString(36)}`;
}

/**
 * `<name>_<unique>` as the users subgraph stores a username: lower case,
 * characters other than `[a-z0-9_]` replaced by `_`, at most 32 characters.
 * A long name is cut, never `unique`, so two calls with different `unique`
 * never collide.
 * @param unique what sets this user apart: an index in a fresh database, a `uniqueTag()` in a shared one
 * @example testUsername('ann', 3) // 'ann_3'
 */
export function testUsername(name: string, unique: string | number | bigint): string {
  const tail = `_${String(unique).toLowerCase()}`;
  const room = SEED_LIMITS.usernameMax - tail.length;
  if (!USERNAME_CHARACTERS.test(tail) || room < 1)
    throw new RangeError(`testUsername: ${JSON.stringify(unique)} cannot end a username`);
  const head =
    name
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_')
      .slice(0, room) || 'user';
  return `${head}${tail}`; // at least 3 characters: one of the head, `_`, one of `unique`
}

/**
 * A display name: `label`, numbered when `n` is given, within the users
 * subgraph's 64 characters (a long label is cut, never the number).
 * @example testDisplayName('Fanout user', 7) // 'Fanout user 7'
 */
export const testDisplayName = (label: string, n?: number | string | bigint): string =>
  numbered(label, n, SEED_LIMITS.displayNameMax);

/**
 * A group's title: `label`, numbered when `n` is given, within the chats
 * subgraph's 100 characters (a long label is cut, never the number).
 * @example testGroupTitle('Fan-out', 3) // 'Fan-out 3'
 */
export const testGroupTitle = (label: string, n?: number | string | bigint): string =>
  numbered(label, n, SEED_LIMITS.groupTitleMax);

function numbered(label: string, n: number | string | bigint | undefined, max: number): string {
  const tail = n === undefined ? '' : ` ${n}`;
  return `${label.slice(0, max - tail.length)}${tail}`;
}

/**
 * The password a seeded user registers with, so that a test can log in as
 * them: derived from the username (unique, so no two users share one), 8 to
 * 42 characters.
 */
export const testPassword = (username: string): string => `pw-${username}-secret`;

/**
 * A `password_hash` for users written as rows, who never log in: no
 * password matches it (the users subgraph refuses a stored value that is no
 * hash of its own as a server fault), and nothing is hashed to make it.
 */
export const UNUSABLE_PASSWORD_HASH = 'seeded-without-password';

/**
 * A sendMessage idempotency key: `parts` joined by `-`, checked against the
 * messages subgraph's rule (1 to 64 of `[A-Za-z0-9._:-]`). Unique per sender
 * is what the API asks; the parts say what makes it so.
 * @example testClientMessageId('bench', 12) // 'bench-12'
 * @throws RangeError for a key the API would refuse
 */
export function testClientMessageId(...parts: readonly (string | number | bigint)[]): string {
  const id = parts.join('-');
  if (!CLIENT_MESSAGE_ID.test(id)) throw new RangeError(`testClientMessageId: ${JSON.stringify(id)} is no valid key`);
  return id;
}

/**
 * Snowflake worker numbers of IDs minted by seeders rather than by a running
 * service. A deployment seeded so runs its services with other numbers
 * (WORKER_ID=0 in the benchmarks): no ID a service issues can equal a
 * seeded one.
 */
export const SEED_WORKERS = {
  /** Users, sessions, chats. */
  entities: 1023,
  /** Messages, whose IDs carry their (past) send time. */
  messages: 1022,
} as const;

/** The Snowflake of millisecond `ms` (Unix epoch) for `worker` and `sequence`, as `Snowflake.next()` lays it out. */
export const snowflakeAt = (ms: number, worker: number, sequence = 0): bigint =>
  (BigInt(ms - EPOCH_MS) << 22n) | (BigInt(worker) << 12n) | BigInt(sequence);
