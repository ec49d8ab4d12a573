/**
 * The fan-out scenario's population on Postgres: a database of its own,
 * migrated with the product's migrations, then users, one session each,
 * group chats and their members inserted in bulk with SQL, and an access
 * token per user signed with the deployment's key.
 *
 * Why not the API: `register` hashes the password with argon2id (about
 * 50 ms of CPU each, on purpose), so 10,000 users would take minutes on two
 * cores; the rows here take about a second. What the API would have written
 * and these rows leave out: a password that works (nobody logs in), the
 * "created the group" system message of each chat (its history starts
 * empty). Tokens are what `login` would return: EdDSA with the deployment's
 * key, naming the user and a live session (`sid`), which every subgraph
 * checks. Names, titles and IDs are the seed factories' (`@chat/common/testing`),
 * as the tests' users and chats are.
 */
import { generateSecrets, Snowflake, TokenService } from '@chat/common';
import {
  SEED_WORKERS,
  testDisplayName,
  testGroupTitle,
  testUsername,
  uniqueTag,
  UNUSABLE_PASSWORD_HASH,
} from '@chat/common/testing';
import { applyMigrations } from '@chat/prisma';
import pg from 'pg';

export interface SeededUser {
  id: string;
  username: string;
  token: string;
}

export interface SeededChat {
  id: string;
  /** Indexes into `users`: the first is the owner (the one who sends). */
  members: number[];
}

export interface Population {
  /** The database's URL, for the gateway's DATABASE_URL. */
  url: string;
  /** JWT_PRIVATE_KEYS, INTERNAL_TOKEN_SECRET, PASSWORD_PEPPER: the gateway must run with these (its tokens are signed with them). */
  secrets: Record<string, string>;
  users: SeededUser[];
  /** Chat k holds users k·chatSize … k·chatSize + chatSize − 1. */
  chats: SeededChat[];
  /** How long creating the database, migrating, inserting and signing took. */
  seedMs: { database: number; rows: number; tokens: number };
  drop(): Promise<void>;
}

/**
 * Creates a database on the Postgres server at `adminUrl` (`name`, default
 * `chat_bench_<time>_<pid>`) and seeds `userCount` users in chats of
 * `chatSize` (the last one smaller if it does not divide).
 */
export async function seedPopulation({
  adminUrl,
  userCount,
  chatSize,
  name = `chat_bench_${uniqueTag()}`,
}: {
  adminUrl: string;
  userCount: number;
  chatSize: number;
  /** The database's name (a plain identifier: letters, digits, `_`), for a scenario seeding more than one. */
  name?: string;
}): Promise<Population> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`seedPopulation: ${name} is not a plain database name`);
  const started = performance.now();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    const dropper = new pg.Client({ connectionString: adminUrl });
    await dropper.connect();
    try {
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await dropper.end();
    }
  };
  try {
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    let database: number;
    let rows: number;
    // The gateway runs with WORKER_ID=0: none of its IDs can equal these.
    const ids = new Snowflake({ worker: SEED_WORKERS.entities });
    const users = Array.from({ length: userCount }, (_, index) => ({
      index,
      id: ids.next().toString(),
      sessionId: ids.next().toString(),
      username: testUsername('fanout', index),
    }));
    const chats = Array.from({ length: Math.ceil(userCount / chatSize) }, (_, chat) => ({
      id: ids.next().toString(),
      members: Array.from(
        { length: Math.min(chatSize, userCount - chat * chatSize) },
        (_, member) => chat * chatSize + member,
      ),
    }));
    try {
      await applyMigrations({
        query: async (sql, params) => (await db.query(sql, params)).rows,
        exec: async (sql) => void (await db.query(sql)),
      });
      database = performance.now() - started;
      const rowsStarted = performance.now();
      await db.query('BEGIN');
      await db.query(
        `INSERT INTO users (id, username, display_name, password_hash)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])`,
        [
          users.map((user) => user.id),
          users.map((user) => user.username),
          // The bare server (bare-server.ts) delivers the same display names: the payloads weigh the same.
          users.map((user) => testDisplayName('Fanout user', user.index)),
          users.map(() => UNUSABLE_PASSWORD_HASH),
        ],
      );
      await db.query(
        `INSERT INTO sessions (id, user_id, device_name, expires_at)
         SELECT id, user_id, 'fan-out benchmark', now() + interval '1 day' FROM unnest($1::bigint[], $2::bigint[]) AS s(id, user_id)`,
        [users.map((user) => user.sessionId), users.map((user) => user.id)],
      );
      await db.query(
        `INSERT INTO chats (id, kind, title, created_by_id)
         SELECT id, 'GROUP', title, owner FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS c(id, title, owner)`,
        [
          chats.map((chat) => chat.id),
          chats.map((_, index) => testGroupTitle('Fan-out', index)),
          chats.map((chat) => users[chat.members[0]!]!.id),
        ],
      );
      const memberships = chats.flatMap((chat) =>
        chat.members.map((member, position) => ({
          chatId: chat.id,
          userId: users[member]!.id,
          role: position === 0 ? 'OWNER' : 'MEMBER',
        })),
      );
      await db.query(
        `INSERT INTO chat_members (chat_id, user_id, role)
         SELECT chat_id, user_id, role::"ChatRole" FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS m(chat_id, user_id, role)`,
        [
          memberships.map((row) => row.chatId),
          memberships.map((row) => row.userId),
          memberships.map((row) => row.role),
        ],
      );
      await db.query('COMMIT');
      // Statistics, as a database in service has them: the first queries must not be planned blind.
      await db.query('ANALYZE');
      rows = performance.now() - rowsStarted;
    } finally {
      await db.end();
    }
    const tokensStarted = performance.now();
    const secrets = generateSecrets();
    const tokens = await TokenService.create({
      signingKeys: JSON.parse(secrets.JWT_PRIVATE_KEYS),
      accessTokenTtlSeconds: 6 * 3600,
    });
    const seeded: SeededUser[] = [];
    for (const user of users) {
      const { token } = await tokens.issueAccessToken({
        id: user.id,
        username: user.username,
        sessionId: user.sessionId,
      });
      seeded.push({ id: user.id, username: user.username, token });
    }
    return {
      url: url.toString(),
      secrets: { ...secrets },
      users: seeded,
      chats,
      seedMs: { database, rows, tokens: performance.now() - tokensStarted },
      drop,
    };
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  }
}
