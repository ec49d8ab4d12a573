import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMemoryRuntime, executeSubgraph, type Runtime } from '@chat/common';
import { createChatsSubgraph } from './index.ts';
import { ChatStore, directKey } from './store/chat-store.ts';

/** graphql-js builds results with null prototypes; compare plain JSON. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const CHAT_FIELDS = 'id kind title members { user { id } role joinedAt } lastMessage { id } unreadCount createdAt lastActivityAt';

interface ChatData {
  id: string;
  kind: string;
  title: string | null;
  members: { user: { id: string }; role: string; joinedAt: string }[];
  lastMessage: { id: string } | null;
  unreadCount: number;
  createdAt: string;
  lastActivityAt: string;
}

describe('chats subgraph (in-process)', () => {
  let runtime: Runtime;
  let subgraph: ReturnType<typeof createChatsSubgraph>;
  const auth: Record<string, string> = {};

  /** Runs an operation as `user` (a username from `before`), or anonymously. */
  const run = (query: string, variables: Record<string, unknown> = {}, user?: string) =>
    executeSubgraph(subgraph, { query, variables, headers: user ? { authorization: auth[user] } : {} });

  const codeOf = (result: Awaited<ReturnType<typeof run>>): unknown => result.errors?.[0]?.extensions.code;

  const createDirect = async (userId: string, as: string): Promise<ChatData> => {
    const result = await run(`mutation ($u: ID!) { createDirectChat(userId: $u) { ${CHAT_FIELDS} } }`, { u: userId }, as);
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    return (plain(result.data) as { createDirectChat: ChatData }).createDirectChat;
  };

  const createGroup = (title: string, memberIds: string[], as: string) =>
    run(`mutation ($i: CreateGroupChatInput!) { createGroupChat(input: $i) { ${CHAT_FIELDS} } }`, { i: { title, memberIds } }, as);

  const users = { ann: '101', bob: '102', cid: '103', dan: '104', eve: '105' } as const;

  before(async () => {
    runtime = await createMemoryRuntime();
    subgraph = createChatsSubgraph(runtime);
    for (const [username, id] of Object.entries(users)) {
      await runtime.db.prisma.user.create({ data: { id: BigInt(id), username, displayName: username.toUpperCase(), passwordHash: 'x' } });
      auth[username] = `Bearer ${await runtime.tokens.issueAccessToken({ id, username })}`;
    }
  });
  after(() => runtime.close());

  it('refuses an anonymous caller on every operation', async () => {
    const operations = [
      'query { chat(id: "1") { id } }',
      'query { chats { edges { node { id } } } }',
      'mutation { createDirectChat(userId: "102") { id } }',
      'mutation { createGroupChat(input: { title: "t", memberIds: [] }) { id } }',
    ];
    for (const query of operations) assert.equal(codeOf(await run(query)), 'UNAUTHENTICATED', query);
    const entities = await run('query ($r: [_Any!]!) { _entities(representations: $r) { ... on Chat { id } } }', {
      r: [{ __typename: 'Chat', id: '1' }],
    });
    assert.equal(codeOf(entities), 'UNAUTHENTICATED');
  });

  describe('createDirectChat', () => {
    it('creates one chat per pair, whoever asks and however often', async () => {
      const first = await createDirect(users.bob, 'ann');
      assert.equal(first.kind, 'DIRECT');
      assert.equal(first.title, null);
      assert.equal(first.lastMessage, null);
      assert.equal(first.unreadCount, 0);
      assert.deepEqual(first.members.map((m) => [m.user.id, m.role]).sort(), [
        [users.ann, 'MEMBER'],
        [users.bob, 'MEMBER'],
      ]);
      assert.equal(first.lastActivityAt, first.createdAt);
      assert.equal((await createDirect(users.bob, 'ann')).id, first.id);
      assert.equal((await createDirect(users.ann, 'bob')).id, first.id);
    });

    it('agrees on one chat when calls race, from both sides', async () => {
      const chats = await Promise.all([
        createDirect(users.dan, 'cid'),
        createDirect(users.cid, 'dan'),
        createDirect(users.dan, 'cid'),
        createDirect(users.cid, 'dan'),
      ]);
      assert.equal(new Set(chats.map((chat) => chat.id)).size, 1);
      const key = `${users.cid}:${users.dan}`;
      assert.equal(await runtime.db.prisma.chat.count({ where: { directKey: key } }), 1);
      assert.equal(await runtime.db.prisma.chatMember.count({ where: { chat: { directKey: key } } }), 2);
    });

    it('loses a race for a taken direct key without creating anything', async () => {
      const key = directKey(BigInt(users.dan), BigInt(users.cid));
      const chats = await runtime.db.prisma.chat.count();
      const members = await runtime.db.prisma.chatMember.count();
      const lost = await new ChatStore(runtime.db.prisma).insert({
        id: runtime.ids.next(),
        kind: 'DIRECT',
        title: null,
        directKey: key,
        createdById: BigInt(users.dan),
        at: new Date(),
        members: [
          { userId: BigInt(users.dan), role: 'MEMBER' },
          { userId: BigInt(users.cid), role: 'MEMBER' },
        ],
      });
      assert.equal(lost, null);
      assert.equal(await runtime.db.prisma.chat.count(), chats);
      assert.equal(await runtime.db.prisma.chatMember.count(), members);
    });

    it('refuses a chat with yourself, an unknown user and a malformed ID', async () => {
      const mutation = 'mutation ($u: ID!) { createDirectChat(userId: $u) { id } }';
      assert.equal(codeOf(await run(mutation, { u: users.ann }, 'ann')), 'BAD_USER_INPUT');
      assert.equal(codeOf(await run(mutation, { u: '0101' }, 'ann')), 'BAD_USER_INPUT');
      assert.equal(codeOf(await run(mutation, { u: '999999' }, 'ann')), 'NOT_FOUND');
      assert.equal(codeOf(await run(mutation, { u: 'abc' }, 'ann')), 'BAD_USER_INPUT');
    });
  });

  describe('createGroupChat', () => {
    it('creates a group with the viewer as OWNER and the others as MEMBER', async () => {
      const result = await createGroup('  Weekend plans  ', [users.bob, users.cid, users.bob, users.ann], 'ann');
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      const chat = (plain(result.data) as { createGroupChat: ChatData }).createGroupChat;
      assert.equal(chat.kind, 'GROUP');
      assert.equal(chat.title, 'Weekend plans');
      assert.deepEqual(chat.members.map((m) => [m.user.id, m.role]).sort(), [
        [users.ann, 'OWNER'],
        [users.bob, 'MEMBER'],
        [users.cid, 'MEMBER'],
      ]);
    });

    it('allows a group of the viewer alone', async () => {
      const result = await createGroup('Notes to self', [users.ann], 'ann');
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      const chat = (plain(result.data) as { createGroupChat: ChatData }).createGroupChat;
      assert.deepEqual(chat.members.map((m) => [m.user.id, m.role]), [[users.ann, 'OWNER']]);
    });

    it('refuses unknown members, naming them, and creates nothing', async () => {
      const before = await runtime.db.prisma.chat.count();
      const result = await createGroup('Ghosts', [users.bob, '999998', '999999'], 'ann');
      assert.equal(codeOf(result), 'NOT_FOUND');
      assert.match(result.errors?.[0]?.message ?? '', /999998, 999999/);
      assert.deepEqual(result.errors?.[0]?.extensions.userIds, ['999998', '999999']);
      assert.equal(await runtime.db.prisma.chat.count(), before);
    });

    it('enforces the title and member limits', async () => {
      const before = await runtime.db.prisma.chat.count();
      assert.equal(codeOf(await createGroup('   ', [users.bob], 'ann')), 'BAD_USER_INPUT');
      assert.equal(codeOf(await createGroup('x'.repeat(101), [users.bob], 'ann')), 'BAD_USER_INPUT');
      assert.equal(codeOf(await createGroup('ok', [users.bob, 'nope'], 'ann')), 'BAD_USER_INPUT');
      const many = Array.from({ length: 256 }, (_, i) => String(10_000 + i));
      const tooMany = await createGroup('crowd', many, 'ann');
      assert.equal(codeOf(tooMany), 'BAD_USER_INPUT');
      assert.match(tooMany.errors?.[0]?.message ?? '', /memberIds/);
      assert.equal(await runtime.db.prisma.chat.count(), before);

      // 255 others plus the viewer and duplicates pass validation (then fail on the unknown users).
      const edge = await createGroup(`  ${'x'.repeat(100)}  `, [...many.slice(0, 255), users.ann, many[0] ?? ''], 'ann');
      assert.equal(codeOf(edge), 'NOT_FOUND');
    });
  });

  describe('chat(id)', () => {
    it('returns a chat to its member and refuses everyone else', async () => {
      const direct = await createDirect(users.bob, 'ann');
      const query = `query ($id: ID!) { chat(id: $id) { ${CHAT_FIELDS} } }`;
      const own = await run(query, { id: direct.id }, 'bob');
      assert.equal(own.errors, undefined, JSON.stringify(own.errors));
      assert.equal((plain(own.data) as { chat: ChatData }).chat.id, direct.id);

      const stranger = await run(query, { id: direct.id }, 'eve');
      assert.equal(codeOf(stranger), 'FORBIDDEN');
      assert.equal(stranger.errors?.[0]?.message, 'You are not a member of this chat.');
      assert.equal(codeOf(await run(query, { id: '424242' }, 'eve')), 'NOT_FOUND');
      assert.equal(codeOf(await run(query, { id: 'x' }, 'eve')), 'BAD_USER_INPUT');
    });

    it('reads the unread count and last message written by the messages subgraph', async () => {
      const direct = await createDirect(users.eve, 'dan');
      await runtime.db.prisma.chatMember.update({
        where: { chatId_userId: { chatId: BigInt(direct.id), userId: BigInt(users.eve) } },
        data: { unreadCount: 3 },
      });
      await runtime.db.prisma.chat.update({ where: { id: BigInt(direct.id) }, data: { lastMessageId: 777n } });
      const query = 'query ($id: ID!) { chat(id: $id) { unreadCount lastMessage { id } } }';
      assert.deepEqual(plain((await run(query, { id: direct.id }, 'eve')).data), { chat: { unreadCount: 3, lastMessage: { id: '777' } } });
      assert.deepEqual(plain((await run(query, { id: direct.id }, 'dan')).data), { chat: { unreadCount: 0, lastMessage: { id: '777' } } });
    });
  });

  describe('chats', () => {
    it('pages through the viewer’s chats, most recently active first', async () => {
      const username = 'fay';
      const fay = '106';
      await runtime.db.prisma.user.create({ data: { id: BigInt(fay), username, displayName: 'FAY', passwordHash: 'x' } });
      auth[username] = `Bearer ${await runtime.tokens.issueAccessToken({ id: fay, username })}`;

      const created: string[] = [];
      for (const other of [users.ann, users.bob, users.cid, users.dan, users.eve]) created.push((await createDirect(other, 'fay')).id);
      // The messages subgraph moves a chat up when a message arrives; two chats tie on the time.
      const at = (ms: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, 0, ms));
      const times = [at(300), at(100), at(500), at(300), at(200)];
      await Promise.all(
        created.map((id, i) => runtime.db.prisma.chat.update({ where: { id: BigInt(id) }, data: { lastActivityAt: times[i] } })),
      );
      const byIdDesc = (a: string, b: string) => (BigInt(b) > BigInt(a) ? 1 : -1);
      const expected = [
        created[2],
        ...[created[0], created[3]].sort((a = '', b = '') => byIdDesc(a, b)),
        created[4],
        created[1],
      ];

      const query = 'query ($first: Int, $after: String) { chats(first: $first, after: $after) { edges { cursor node { id lastActivityAt } } pageInfo { hasNextPage endCursor } } }';
      interface Page {
        chats: { edges: { cursor: string; node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      for (;;) {
        const result = await run(query, { first: 2, after: cursor }, 'fay');
        assert.equal(result.errors, undefined, JSON.stringify(result.errors));
        const page = (plain(result.data) as Page).chats;
        seen.push(...page.edges.map((edge) => edge.node.id));
        pages += 1;
        if (!page.pageInfo.hasNextPage) break;
        cursor = page.pageInfo.endCursor;
      }
      assert.deepEqual(seen, expected);
      assert.equal(pages, 3);

      const all = plain((await run(query, {}, 'fay')).data) as Page;
      assert.deepEqual(
        all.chats.edges.map((edge) => edge.node.id),
        expected,
      );
      assert.equal(all.chats.pageInfo.hasNextPage, false);
    });

    it('refuses a bad cursor and an out-of-range page size', async () => {
      const query = 'query ($first: Int, $after: String) { chats(first: $first, after: $after) { edges { cursor } } }';
      assert.equal(codeOf(await run(query, { after: 'garbage' }, 'ann')), 'BAD_USER_INPUT');
      const forged = Buffer.from(JSON.stringify(['not a date', '1'])).toString('base64url');
      assert.equal(codeOf(await run(query, { after: forged }, 'ann')), 'BAD_USER_INPUT');
      assert.equal(codeOf(await run(query, { first: 0 }, 'ann')), 'BAD_USER_INPUT');
      assert.equal(codeOf(await run(query, { first: 101 }, 'ann')), 'BAD_USER_INPUT');
    });
  });

  describe('Chat entity', () => {
    const entities = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Chat { id kind unreadCount members { user { id } } } } }';

    it('resolves chats of the viewer and null for unknown ones', async () => {
      const direct = await createDirect(users.bob, 'ann');
      const result = await run(
        entities,
        {
          r: [
            { __typename: 'Chat', id: direct.id },
            { __typename: 'Chat', id: '424242' },
          ],
        },
        'bob',
      );
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      const [chat, missing] = (plain(result.data) as { _entities: (ChatData | null)[] })._entities;
      assert.equal(chat?.id, direct.id);
      assert.equal(chat?.kind, 'DIRECT');
      assert.equal(chat?.members.length, 2);
      assert.equal(missing, null);
    });

    it('refuses a chat the viewer is not a member of', async () => {
      const direct = await createDirect(users.bob, 'ann');
      const result = await run(entities, { r: [{ __typename: 'Chat', id: direct.id }] }, 'eve');
      assert.equal(codeOf(result), 'FORBIDDEN');
      assert.deepEqual(plain(result.data), { _entities: [null] });
    });
  });
});
