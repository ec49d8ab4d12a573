/**
 * Deleting an account end to end, then reading every store directly: no
 * trace of the user's name, username, email or phone remains in Postgres
 * (every column of every table), Cassandra (the history) or Redis (caches),
 * while the other members keep the conversation, from "Deleted user".
 * On the embedded default (its database read after the gateway stops) and
 * on the distributed backplane (Postgres, Redis, Kafka, Cassandra).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import { Redis } from 'ioredis';
import pg from 'pg';
import { openDatabase } from '@chat/prisma';
import { codeOf, gql, gqlOk } from '../kit/client.ts';
import { freePort, launch, migratedDataDir, testRedisUrl } from '../kit/launcher.ts';
import { directChat, openToGroups, registerUser, sendText } from '../kit/seed.ts';
import { cassandraContactPoints, startDistributed } from '../kit/topology.ts';
import { eventually } from './chat-flow.ts';

interface Deployment {
  url: string;
  dataDir: string;
  /** Stops the processes and returns, per store, every place the needle is found. */
  findAfterStop(needles: string[]): Promise<string[]>;
}

/** Rows of every table of the public schema whose text form contains a needle, via `query`. */
async function findInPostgres(
  query: (sql: string) => Promise<Record<string, unknown>[]>,
  needles: string[],
): Promise<string[]> {
  const tables = (await query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)).map((row) =>
    String(row.tablename),
  );
  assert.ok(tables.includes('users') && tables.includes('message_keys'), `tables: ${tables}`);
  const found: string[] = [];
  for (const table of tables) {
    for (const needle of needles) {
      const rows = await query(
        `SELECT t::text AS row FROM "${table}" t WHERE t::text ILIKE '%${needle.replace(/'/g, "''")}%'`,
      );
      found.push(...rows.map((row) => `postgres ${table}: ${String(row.row)}`));
    }
  }
  return found;
}

function deletionSuite(name: string, start: () => Promise<Deployment>): void {
  describe(name, () => {
    it('erases the account and leaves no personal data in any store, while others keep the conversation', async () => {
      const deployment = await start();
      const { url } = deployment;
      const marker = `zq${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
      const ann = await registerUser(url, marker); // username and display name carry the marker
      const [bob, carl, dave] = await Promise.all([
        registerUser(url, 'bob'),
        registerUser(url, 'carl'),
        registerUser(url, 'dave'),
      ]);

      // Contact details, confirmed through the development outbox.
      const email = `${marker}@example.com`;
      const phone = `+4477${String(Date.now()).slice(-8)}`;
      for (const [request, confirm, value, channel] of [
        [
          'mutation ($v: String!) { requestEmailChange(newEmail: $v) { sentTo } }',
          'mutation ($c: String!) { confirmEmailChange(code: $c) { id } }',
          email,
          'EMAIL',
        ],
        [
          'mutation ($v: String!) { requestPhoneChange(newPhone: $v) { sentTo } }',
          'mutation ($c: String!) { confirmPhoneChange(code: $c) { id } }',
          phone,
          'SMS',
        ],
      ] as const) {
        await gqlOk(url, request, { v: value }, ann.token);
        const outbox = join(deployment.dataDir, 'outbox');
        const message = readdirSync(outbox)
          .map(
            (file) =>
              JSON.parse(readFileSync(join(outbox, file), 'utf8')) as { channel: string; to: string; text: string },
          )
          .find((sent) => sent.channel === channel && sent.to === value);
        const code = /\b(\d{6})\b/.exec(message?.text ?? '')?.[1];
        assert.ok(code, `a code for ${value}`);
        await gqlOk(url, confirm, { c: code }, ann.token);
      }
      const me = (await gqlOk<any>(url, '{ me { email phone displayName } }', {}, ann.token)).me;
      assert.deepEqual([me.email, me.phone], [email, phone]);

      // A life in the product: a group Ann owns, a direct chat, messages, a reaction, a connection, a block, presence.
      // (Open to groups rather than connected with Ann: the connection below is part of the story.)
      for (const member of [bob, carl, dave]) await openToGroups(url, member);
      const group = (
        await gqlOk<any>(
          url,
          'mutation ($i: CreateGroupChatInput!) { createGroupChat(input: $i) { id } }',
          { i: { title: 'Hike', memberIds: [bob.id, carl.id] } },
          ann.token,
        )
      ).createGroupChat.id as string;
      await gqlOk(
        url,
        'mutation ($c: ID!, $u: [ID!]!) { addChatMembers(chatId: $c, userIds: $u) { id } }',
        { c: group, u: [dave.id] },
        ann.token,
      );
      const fromAnn = await sendText(url, ann, group, 'see you at nine');
      const fromBob = await sendText(url, bob, group, 'deal');
      const direct = await directChat(url, ann, bob);
      await sendText(url, ann, direct, 'private note');
      await eventually(
        () =>
          gqlOk<any>(
            url,
            'query ($c: ID!) { messages(chatId: $c) { edges { node { id } } } }',
            { c: group },
            bob.token,
          ),
        (data) => data.messages.edges.some((edge: any) => edge.node.id === fromBob.id),
      );
      await gqlOk(
        url,
        'mutation ($m: ID!) { reactToMessage(messageId: $m, emoji: "👍") { id } }',
        { m: fromBob.id },
        ann.token,
      );
      await gqlOk(url, 'mutation ($u: ID!) { inviteConnection(userId: $u) { status } }', { u: carl.id }, ann.token);
      await gqlOk(url, 'mutation ($u: ID!) { acceptConnection(userId: $u) { status } }', { u: ann.id }, carl.token);
      await gqlOk(url, 'mutation ($u: ID!) { blockUser(userId: $u) { status } }', { u: dave.id }, ann.token);
      await gqlOk(url, 'mutation { presenceHeartbeat(deviceId: "phone", active: true) { status } }', {}, ann.token);
      // Bob reads Ann's profile: it is cached now.
      assert.equal(
        (await gqlOk<any>(url, 'query ($id: ID!) { user(id: $id) { displayName } }', { id: ann.id }, bob.token)).user
          .displayName,
        ann.displayName,
      );

      // A wrong password changes nothing.
      const wrong = await gql(url, 'mutation { deleteMyAccount(password: "not it at all") }', {}, ann.token);
      assert.equal(codeOf(wrong), 'FORBIDDEN');
      assert.equal((await gqlOk<any>(url, '{ me { email } }', {}, ann.token)).me.email, email);

      assert.equal(
        (
          await gqlOk<any>(
            url,
            'mutation ($p: String!) { deleteMyAccount(password: $p) }',
            { p: ann.password },
            ann.token,
          )
        ).deleteMyAccount,
        true,
      );

      // Every session ended at once, and the account cannot log in again.
      assert.equal(codeOf(await gql(url, '{ me { id } }', {}, ann.token)), 'UNAUTHENTICATED');
      const login = await gql(url, 'mutation ($i: LoginInput!) { login(input: $i) { accessToken } }', {
        i: { username: ann.username, password: ann.password },
      });
      assert.equal(codeOf(login), 'UNAUTHENTICATED');

      // The others keep the conversation, from "Deleted user"; ownership passed on; history says so, without the name.
      const chat = (
        await gqlOk<any>(
          url,
          'query ($c: ID!) { chat(id: $c) { members { role user { id } } } }',
          { c: group },
          bob.token,
        )
      ).chat;
      assert.ok(!chat.members.some((member: any) => member.user.id === ann.id));
      assert.equal(chat.members.filter((member: any) => member.role === 'OWNER').length, 1);
      const history = await eventually(
        () =>
          gqlOk<any>(
            url,
            'query ($c: ID!) { messages(chatId: $c) { edges { node { id kind text sender { id displayName username } } } } }',
            { c: group },
            bob.token,
          ),
        (data) => {
          const texts = data.messages.edges.map((edge: any) => edge.node.text as string);
          return (
            texts.includes('Deleted user left') &&
            texts.some((text: string) => text.startsWith('Deleted user created the group'))
          );
        },
      );
      const kept = history.messages.edges.find((edge: any) => edge.node.id === fromAnn.id).node;
      assert.deepEqual(
        [kept.text, kept.sender.id, kept.sender.displayName],
        ['see you at nine', ann.id, 'Deleted user'],
      );
      assert.ok(history.messages.edges.every((edge: any) => !JSON.stringify(edge).toLowerCase().includes(marker)));
      assert.deepEqual(
        (await gqlOk<any>(url, '{ connections { edges { node { user { id } } } } }', {}, carl.token)).connections.edges,
        [],
      );
      const search = await gqlOk<any>(
        url,
        'query ($s: String) { users(search: $s) { edges { node { id } } } }',
        { s: marker },
        bob.token,
      );
      assert.deepEqual(search.users.edges, []);

      // Nothing personal left anywhere: read the stores themselves, once the history rewrite is done.
      const needles = [marker, email, phone];
      const found = await deployment.findAfterStop(needles);
      assert.deepEqual(found, [], found.join('\n'));
    });
  });
}

deletionSuite('account deletion on the embedded default', async () => {
  const data = await migratedDataDir();
  const gateway = await launch('gateway', 'gateway/src/main.ts', { DATA_DIR: data.path }, await freePort());
  return {
    url: gateway.url,
    dataDir: data.path,
    findAfterStop: async (needles) => {
      // The SYSTEM messages are rewritten a moment after the deletion: give the relay its pass, then read the database itself.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await gateway.stop();
      const db = await openDatabase({ kind: 'embedded', dataDir: join(data.path, 'pglite') });
      try {
        return await findInPostgres((sql) => db.prisma.$queryRawUnsafe(sql), needles);
      } finally {
        await db.close();
        data.remove();
      }
    },
  };
});

deletionSuite('account deletion on the distributed backplane (Postgres, Redis, Kafka, Cassandra)', async () => {
  const topology = await startDistributed({ backplane: { consumers: 1 } });
  return {
    url: topology.gatewayB.url,
    dataDir: topology.env.DATA_DIR!,
    findAfterStop: async (needles) => {
      const db = new pg.Client({ connectionString: topology.env.DATABASE_URL });
      const history = new cassandra.Client({
        contactPoints: cassandraContactPoints().split(','),
        localDataCenter: 'datacenter1',
        keyspace: topology.env.CASSANDRA_KEYSPACE,
      });
      const redis = new Redis(testRedisUrl());
      try {
        await db.connect();
        // Done once the erasure is: every SYSTEM message naming the user rewritten in history.
        await eventually(
          async () =>
            (await db.query(`SELECT count(*)::int AS pending FROM account_erasures WHERE done_at IS NULL`)).rows[0]
              .pending as number,
          (pending) => pending === 0,
        );
        const found = await findInPostgres(async (sql) => (await db.query(sql)).rows, needles);
        for (const table of ['messages_by_id', 'messages_by_chat']) {
          // A test keyspace is small: page through all of it.
          const rows: cassandra.types.Row[] = [];
          await new Promise<void>((resolve, reject) =>
            history.eachRow(
              `SELECT body, system FROM ${table}`,
              [],
              { prepare: true, fetchSize: 500, autoPage: true },
              (_n, row) => rows.push(row),
              (error) => (error ? reject(error) : resolve()),
            ),
          );
          for (const row of rows) {
            const text = `${row.body ?? ''} ${row.system ?? ''}`;
            for (const needle of needles)
              if (text.toLowerCase().includes(needle.toLowerCase())) found.push(`cassandra ${table}: ${text}`);
          }
        }
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
          cursor = next;
          for (const key of keys) {
            if ((await redis.type(key)) !== 'string') continue;
            const value = (await redis.get(key)) ?? '';
            const haystack = `${key} ${value}`.toLowerCase();
            for (const needle of needles)
              if (haystack.includes(needle.toLowerCase())) found.push(`redis ${key}: ${value}`);
          }
        } while (cursor !== '0');
        return found;
      } finally {
        await db.end();
        await history.shutdown();
        redis.disconnect();
        await topology.stop();
      }
    },
  };
});
