import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { executeSubgraph, Topics, type Runtime } from '@chat/common';
import { codeOf, createMemoryRuntime, openTestSession, plain, viewerOf } from '@chat/common/testing';
import { createChatsSubgraph } from './index.ts';
import { ChatStore, directKey } from './store/chat-store.ts';

const CHAT_FIELDS =
  'id kind title members { user { id } role joinedAt } lastMessage { id } unreadCount createdAt lastActivityAt';

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
  const run = async (query: string, variables: Record<string, unknown> = {}, user?: string) =>
    executeSubgraph(subgraph, { query, variables, viewer: await viewerOf(runtime, user ? auth[user] : null) });

  const createDirect = async (userId: string, as: string): Promise<ChatData> => {
    const result = await run(
      `mutation ($u: ID!) { createDirectChat(userId: $u) { ${CHAT_FIELDS} } }`,
      { u: userId },
      as,
    );
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    return (plain(result.data) as { createDirectChat: ChatData }).createDirectChat;
  };

  const createGroup = (title: string, memberIds: string[], as: string) =>
    run(
      `mutation ($i: CreateGroupChatInput!) { createGroupChat(input: $i) { ${CHAT_FIELDS} } }`,
      { i: { title, memberIds } },
      as,
    );

  const users = { ann: '101', bob: '102', cid: '103', dan: '104', eve: '105' } as const;

  before(async () => {
    runtime = await createMemoryRuntime();
    subgraph = createChatsSubgraph(runtime);
    // groupAddPolicy EVERYONE: these users join groups at once; the consent tests make users of their own.
    for (const [username, id] of Object.entries(users)) {
      await runtime.db.prisma.user.create({
        data: {
          id: BigInt(id),
          username,
          displayName: username.toUpperCase(),
          passwordHash: 'x',
          groupAddPolicy: 'EVERYONE',
        },
      });
      auth[username] = await openTestSession(runtime, { id, username });
    }
  });
  after(() => runtime.close());

  it('refuses an anonymous caller on every operation', async () => {
    const operations = [
      'query { chat(id: "1") { id } }',
      'query { chats { edges { node { id } } } }',
      'mutation { createDirectChat(userId: "102") { id } }',
      'mutation { createGroupChat(input: { title: "t", memberIds: [] }) { id } }',
      'mutation { addChatMembers(chatId: "1", userIds: ["102"]) { id } }',
      'mutation { removeChatMember(chatId: "1", userId: "102") { id } }',
      'mutation { leaveChat(chatId: "1") }',
      'mutation { setChatMemberRole(chatId: "1", userId: "102", role: ADMIN) { id } }',
      'mutation { renameChat(chatId: "1", title: "t") { id } }',
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
      assert.deepEqual(
        chat.members.map((m) => [m.user.id, m.role]),
        [[users.ann, 'OWNER']],
      );
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
      const edge = await createGroup(
        `  ${'x'.repeat(100)}  `,
        [...many.slice(0, 255), users.ann, many[0] ?? ''],
        'ann',
      );
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
      // Exactly the answer for a chat that does not exist: chat IDs cannot be probed.
      const unknown = await run(query, { id: '424242' }, 'eve');
      assert.equal(codeOf(stranger), 'NOT_FOUND');
      assert.deepEqual(plain(stranger.errors), plain(unknown.errors));
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
      assert.deepEqual(plain((await run(query, { id: direct.id }, 'eve')).data), {
        chat: { unreadCount: 3, lastMessage: { id: '777' } },
      });
      assert.deepEqual(plain((await run(query, { id: direct.id }, 'dan')).data), {
        chat: { unreadCount: 0, lastMessage: { id: '777' } },
      });
    });
  });

  describe('chats', () => {
    it('pages through the viewer’s chats, most recently active first', async () => {
      const username = 'fay';
      const fay = '106';
      await runtime.db.prisma.user.create({
        data: { id: BigInt(fay), username, displayName: 'FAY', passwordHash: 'x', groupAddPolicy: 'EVERYONE' },
      });
      auth[username] = await openTestSession(runtime, { id: fay, username });

      const created: string[] = [];
      for (const other of [users.ann, users.bob, users.cid, users.dan, users.eve])
        created.push((await createDirect(other, 'fay')).id);
      // The messages subgraph moves a chat up when a message arrives; two chats tie on the time.
      const at = (ms: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, 0, ms));
      const times = [at(300), at(100), at(500), at(300), at(200)];
      await Promise.all(
        created.map((id, i) =>
          runtime.db.prisma.chat.update({ where: { id: BigInt(id) }, data: { lastActivityAt: times[i] } }),
        ),
      );
      const byIdDesc = (a: string, b: string) => (BigInt(b) > BigInt(a) ? 1 : -1);
      const expected = [
        created[2],
        ...[created[0], created[3]].sort((a = '', b = '') => byIdDesc(a, b)),
        created[4],
        created[1],
      ];

      const query =
        'query ($first: Int, $after: String) { chats(first: $first, after: $after) { edges { cursor node { id lastActivityAt } } pageInfo { hasNextPage endCursor } } }';
      interface Page {
        chats: {
          edges: { cursor: string; node: { id: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
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
      assert.equal(codeOf(await run(query, { after: '' }, 'ann')), 'BAD_USER_INPUT');
      const forged = Buffer.from(JSON.stringify(['not a date', '1'])).toString('base64url');
      assert.equal(codeOf(await run(query, { after: forged }, 'ann')), 'BAD_USER_INPUT');
      // A time the database cannot hold (Postgres has no year 0) is refused, not passed on.
      for (const at of [
        '0000-01-01T00:00:00.000Z',
        '-271821-04-20T00:00:00.000Z',
        '+275760-09-13T00:00:00.000Z',
        '2026-02-30T00:00:00.000Z',
      ]) {
        const outOfRange = Buffer.from(JSON.stringify([at, '1'])).toString('base64url');
        assert.equal(codeOf(await run(query, { after: outOfRange }, 'ann')), 'BAD_USER_INPUT', at);
      }
      assert.equal(codeOf(await run(query, { first: 0 }, 'ann')), 'BAD_USER_INPUT');
      assert.equal(codeOf(await run(query, { first: 101 }, 'ann')), 'BAD_USER_INPUT');
    });
  });

  describe('Chat entity', () => {
    const entities =
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Chat { id kind unreadCount members { user { id } } } } }';

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

    it('answers a chat the viewer is not a member of as an unknown one: null', async () => {
      const direct = await createDirect(users.bob, 'ann');
      const result = await run(entities, { r: [{ __typename: 'Chat', id: direct.id }] }, 'eve');
      assert.equal(result.errors, undefined);
      assert.deepEqual(plain(result.data), { _entities: [null] });
    });
  });

  describe('groups', () => {
    const GROUP = 'id kind title memberCount viewerRole members { user { id } role }';
    const ADD = `mutation ($c: ID!, $u: [ID!]!) { addChatMembers(chatId: $c, userIds: $u) { ${GROUP} } }`;
    const REMOVE = `mutation ($c: ID!, $u: ID!) { removeChatMember(chatId: $c, userId: $u) { ${GROUP} } }`;
    const LEAVE = 'mutation ($c: ID!) { leaveChat(chatId: $c) }';
    const SET_ROLE = `mutation ($c: ID!, $u: ID!, $r: ChatRole!) { setChatMemberRole(chatId: $c, userId: $u, role: $r) { ${GROUP} } }`;
    const RENAME = `mutation ($c: ID!, $t: String!) { renameChat(chatId: $c, title: $t) { ${GROUP} } }`;

    interface GroupData {
      id: string;
      kind: string;
      title: string | null;
      memberCount: number;
      viewerRole: string;
      members: { user: { id: string }; role: string }[];
    }
    type Result = Awaited<ReturnType<typeof run>>;

    /** Users beyond the named ones, to fill groups: IDs 20000…, display names U20000…. */
    const crowd = Array.from({ length: 300 }, (_, i) => String(20_000 + i));

    before(async () => {
      await runtime.db.prisma.user.createMany({
        data: crowd.map((id) => ({
          id: BigInt(id),
          username: `u${id}`,
          displayName: `U${id}`,
          passwordHash: 'x',
          groupAddPolicy: 'EVERYONE' as const,
        })),
      });
    });

    const ok = <T>(result: Result): T => {
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      return plain(result.data) as T;
    };
    const newGroup = async (as: string, memberIds: string[], title = 'Group'): Promise<string> =>
      ok<{ createGroupChat: ChatData }>(await createGroup(title, memberIds, as)).createGroupChat.id;
    const add = async (chatId: string, userIds: string[], as: string) =>
      ok<{ addChatMembers: GroupData }>(await run(ADD, { c: chatId, u: userIds }, as)).addChatMembers;
    const setRole = async (chatId: string, userId: string, role: string, as: string) =>
      ok<{ setChatMemberRole: GroupData }>(await run(SET_ROLE, { c: chatId, u: userId, r: role }, as))
        .setChatMemberRole;
    const rolesOf = (chat: GroupData) =>
      Object.fromEntries(chat.members.map((member) => [member.user.id, member.role]));

    /** Everything a change could touch: title, members and roles, receipts, outbox rows. */
    const stateOf = async (chatId: string) => {
      const chat = await runtime.db.prisma.chat.findUnique({
        where: { id: BigInt(chatId) },
        include: { members: { orderBy: { userId: 'asc' } } },
      });
      const outbox = await runtime.db.prisma.messageKey.count({ where: { chatId: BigInt(chatId) } });
      return plain({
        title: chat?.title,
        members: chat?.members.map((member) => [
          member.userId.toString(),
          member.role,
          member.deliveredSeq.toString(),
          member.seenSeq.toString(),
        ]),
        outbox,
      });
    };

    /** Runs `attempt`, expects a refusal with `code` (and `reason`), and that it changed nothing. */
    const refused = async (
      chatId: string,
      attempt: () => Promise<Result>,
      code: string,
      reason?: string,
    ): Promise<Result> => {
      const before = await stateOf(chatId);
      const result = await attempt();
      assert.equal(codeOf(result), code, JSON.stringify(result.errors));
      if (reason !== undefined) assert.equal(result.errors?.[0]?.extensions.reason, reason);
      assert.deepEqual(await stateOf(chatId), before, 'a refusal changes nothing');
      return result;
    };

    /** The chat's SYSTEM outbox rows, oldest first, checked for the shape the relay expects. */
    const systemRows = async (chatId: string) => {
      const rows = await runtime.db.prisma.messageKey.findMany({
        where: { chatId: BigInt(chatId) },
        orderBy: { messageId: 'asc' },
      });
      return rows.map((row) => {
        assert.equal(row.kind, 'SYSTEM');
        assert.equal(row.clientMessageId, `system:${row.messageId}`);
        assert.equal(row.producedAt, null);
        const system = JSON.parse(row.system ?? 'null') as { action: string; actorId: string };
        assert.equal(row.senderId.toString(), system.actorId, 'the actor sends it');
        return { text: row.text, system };
      });
    };
    const lastSystemRow = async (chatId: string) => (await systemRows(chatId)).at(-1);

    it('writes CHAT_CREATED to the outbox when a group is created', async () => {
      const chatId = await newGroup('ann', [users.bob], 'Weekend');
      assert.deepEqual(await systemRows(chatId), [
        {
          text: 'ANN created the group "Weekend"',
          system: { action: 'CHAT_CREATED', actorId: users.ann, userIds: [], title: 'Weekend' },
        },
      ]);
      const direct = await createDirect(users.cid, 'eve');
      assert.deepEqual(await systemRows(direct.id), [], 'direct chats have no system messages');
    });

    describe('addChatMembers', () => {
      it('adds members as MEMBER, skips those already in, and starts their receipts at the chat’s last message', async () => {
        const chatId = await newGroup('ann', [users.bob]);
        await runtime.db.prisma.chat.update({ where: { id: BigInt(chatId) }, data: { lastSeq: 7n } });
        const chat = await add(chatId, [users.cid, users.bob, users.dan, users.cid, users.ann], 'ann');
        assert.equal(chat.memberCount, 4);
        assert.equal(chat.viewerRole, 'OWNER');
        assert.deepEqual(rolesOf(chat), {
          [users.ann]: 'OWNER',
          [users.bob]: 'MEMBER',
          [users.cid]: 'MEMBER',
          [users.dan]: 'MEMBER',
        });
        const receipts = await runtime.db.prisma.chatMember.findMany({
          where: { chatId: BigInt(chatId) },
          orderBy: { userId: 'asc' },
        });
        assert.deepEqual(
          receipts.map((member) => [member.userId.toString(), member.deliveredSeq, member.seenSeq]),
          [
            [users.ann, 0n, 0n],
            [users.bob, 0n, 0n],
            [users.cid, 7n, 7n],
            [users.dan, 7n, 7n],
          ],
        );
        assert.deepEqual(await lastSystemRow(chatId), {
          text: 'ANN added CID and DAN',
          system: { action: 'MEMBERS_ADDED', actorId: users.ann, userIds: [users.cid, users.dan] },
        });

        // Everyone already in: nothing changes, nothing is written.
        const rows = (await systemRows(chatId)).length;
        assert.equal((await add(chatId, [users.bob, users.cid], 'ann')).memberCount, 4);
        assert.equal((await systemRows(chatId)).length, rows);

        // An ADMIN may add too.
        await setRole(chatId, users.bob, 'ADMIN', 'ann');
        const byAdmin = await add(chatId, [users.eve], 'bob');
        assert.equal(byAdmin.memberCount, 5);
        assert.equal(byAdmin.viewerRole, 'ADMIN');
        assert.equal((await lastSystemRow(chatId))?.text, 'BOB added EVE');
      });

      it('names many added users briefly', async () => {
        const chatId = await newGroup('ann', []);
        await add(chatId, crowd.slice(280, 287), 'ann');
        assert.equal((await lastSystemRow(chatId))?.text, 'ANN added U20280, U20281, U20282, U20283 and 3 others');
      });

      it('refuses a MEMBER, a non-member, an unknown chat, a direct chat, unknown users and bad IDs, changing nothing', async () => {
        const chatId = await newGroup('ann', [users.bob]);
        const direct = await createDirect(users.bob, 'ann');
        await refused(chatId, () => run(ADD, { c: chatId, u: [users.cid] }, 'bob'), 'FORBIDDEN');
        const stranger = await refused(chatId, () => run(ADD, { c: chatId, u: [users.cid] }, 'eve'), 'NOT_FOUND');
        assert.equal(stranger.errors?.[0]?.message, 'Chat was not found.');
        await refused(chatId, () => run(ADD, { c: '424242', u: [users.cid] }, 'ann'), 'NOT_FOUND');
        await refused(
          direct.id,
          () => run(ADD, { c: direct.id, u: [users.cid] }, 'ann'),
          'BAD_USER_INPUT',
          'NOT_A_GROUP',
        );
        const unknown = await refused(
          chatId,
          () => run(ADD, { c: chatId, u: [users.cid, '999998', '999999'] }, 'ann'),
          'NOT_FOUND',
        );
        assert.deepEqual(unknown.errors?.[0]?.extensions.userIds, ['999998', '999999']);
        await refused(chatId, () => run(ADD, { c: chatId, u: [users.cid, 'abc'] }, 'ann'), 'BAD_USER_INPUT');
        await refused(chatId, () => run(ADD, { c: 'abc', u: [users.cid] }, 'ann'), 'BAD_USER_INPUT');
        await refused(chatId, () => run(ADD, { c: chatId, u: crowd.slice(0, 256) }, 'ann'), 'BAD_USER_INPUT');
        await refused(chatId, () => run(ADD, { c: chatId, u: [users.cid] }), 'UNAUTHENTICATED');
      });

      it(`refuses to pass ${256} members (the owner included) with GROUP_FULL, adding nobody`, async () => {
        const chatId = await newGroup('ann', crowd.slice(0, 255));
        assert.equal(await runtime.db.prisma.chatMember.count({ where: { chatId: BigInt(chatId) } }), 256);
        const full = await refused(
          chatId,
          () => run(ADD, { c: chatId, u: [users.bob] }, 'ann'),
          'BAD_USER_INPUT',
          'GROUP_FULL',
        );
        assert.equal(full.errors?.[0]?.extensions.limit, 256);
        await refused(
          chatId,
          () => run(ADD, { c: chatId, u: [crowd[0] ?? '', users.bob] }, 'ann'),
          'BAD_USER_INPUT',
          'GROUP_FULL',
        );
        assert.equal(
          (await add(chatId, [crowd[0] ?? ''], 'ann')).memberCount,
          256,
          'adding a member already in still works',
        );

        ok(await run(REMOVE, { c: chatId, u: crowd[1] }, 'ann'));
        assert.equal((await add(chatId, [users.bob], 'ann')).memberCount, 256);
      });

      it('holds the limit when adds race: exactly as many fit as there is room for', async () => {
        const chatId = await newGroup('ann', crowd.slice(0, 253));
        const [first, second] = await Promise.all([
          run(ADD, { c: chatId, u: [users.bob, users.cid] }, 'ann'),
          run(ADD, { c: chatId, u: [users.dan, users.eve] }, 'ann'),
        ]);
        const codes = [codeOf(first), codeOf(second)];
        assert.deepEqual(codes.filter((code) => code === undefined).length, 1, JSON.stringify(codes));
        const loser = codeOf(first) === undefined ? second : first;
        assert.equal(loser.errors?.[0]?.extensions.reason, 'GROUP_FULL');
        assert.equal(await runtime.db.prisma.chatMember.count({ where: { chatId: BigInt(chatId) } }), 256);

        const other = await newGroup('ann', crowd.slice(0, 249));
        const results = await Promise.all(
          crowd.slice(260, 270).map((userId) => run(ADD, { c: other, u: [userId] }, 'ann')),
        );
        assert.equal(results.filter((result) => !result.errors).length, 6);
        assert.ok(
          results
            .filter((result) => result.errors)
            .every((result) => result.errors?.[0]?.extensions.reason === 'GROUP_FULL'),
        );
        assert.equal(await runtime.db.prisma.chatMember.count({ where: { chatId: BigInt(other) } }), 256);
        const added = (await systemRows(other)).filter((row) => row.system.action === 'MEMBERS_ADDED');
        assert.equal(added.length, 6, 'one system message per add that fitted');
      });
    });

    describe('removeChatMember', () => {
      it('lets the OWNER remove anyone else and an ADMIN remove MEMBERs', async () => {
        const chatId = await newGroup('ann', [users.bob, users.cid, users.dan, users.eve]);
        await setRole(chatId, users.bob, 'ADMIN', 'ann');
        await setRole(chatId, users.cid, 'ADMIN', 'ann');
        const byAdmin = ok<{ removeChatMember: GroupData }>(
          await run(REMOVE, { c: chatId, u: users.dan }, 'bob'),
        ).removeChatMember;
        assert.equal(byAdmin.memberCount, 4);
        assert.equal(rolesOf(byAdmin)[users.dan], undefined);
        assert.deepEqual(await lastSystemRow(chatId), {
          text: 'BOB removed DAN',
          system: { action: 'MEMBER_REMOVED', actorId: users.bob, userIds: [users.dan] },
        });
        const byOwner = ok<{ removeChatMember: GroupData }>(
          await run(REMOVE, { c: chatId, u: users.cid }, 'ann'),
        ).removeChatMember;
        assert.deepEqual(rolesOf(byOwner), { [users.ann]: 'OWNER', [users.bob]: 'ADMIN', [users.eve]: 'MEMBER' });
        assert.equal((await lastSystemRow(chatId))?.text, 'ANN removed CID');
        assert.equal(
          codeOf(await run('query ($id: ID!) { chat(id: $id) { id } }', { id: chatId }, 'cid')),
          'NOT_FOUND',
        );
      });

      it('refuses what the roles do not allow, yourself, non-members, and direct chats, changing nothing', async () => {
        const chatId = await newGroup('ann', [users.bob, users.cid, users.dan]);
        await setRole(chatId, users.bob, 'ADMIN', 'ann');
        await setRole(chatId, users.cid, 'ADMIN', 'ann');
        const direct = await createDirect(users.bob, 'ann');
        await refused(chatId, () => run(REMOVE, { c: chatId, u: users.cid }, 'bob'), 'FORBIDDEN');
        await refused(chatId, () => run(REMOVE, { c: chatId, u: users.ann }, 'bob'), 'FORBIDDEN');
        await refused(chatId, () => run(REMOVE, { c: chatId, u: users.bob }, 'dan'), 'FORBIDDEN');
        await refused(chatId, () => run(REMOVE, { c: chatId, u: users.ann }, 'ann'), 'FORBIDDEN');
        await refused(chatId, () => run(REMOVE, { c: chatId, u: users.dan }, 'eve'), 'NOT_FOUND');
        const notMember = await refused(chatId, () => run(REMOVE, { c: chatId, u: users.eve }, 'ann'), 'NOT_FOUND');
        assert.deepEqual(notMember.errors?.[0]?.extensions.userIds, [users.eve]);
        await refused(chatId, () => run(REMOVE, { c: chatId, u: '999999' }, 'ann'), 'NOT_FOUND');
        await refused(chatId, () => run(REMOVE, { c: chatId, u: 'x' }, 'ann'), 'BAD_USER_INPUT');
        await refused(chatId, () => run(REMOVE, { c: '424242', u: users.bob }, 'ann'), 'NOT_FOUND');
        await refused(
          direct.id,
          () => run(REMOVE, { c: direct.id, u: users.bob }, 'ann'),
          'BAD_USER_INPUT',
          'NOT_A_GROUP',
        );
        await refused(chatId, () => run(REMOVE, { c: chatId, u: users.dan }), 'UNAUTHENTICATED');
      });
    });

    describe('setChatMemberRole', () => {
      it('lets the OWNER promote and demote others', async () => {
        const chatId = await newGroup('ann', [users.bob, users.cid]);
        assert.deepEqual(rolesOf(await setRole(chatId, users.bob, 'ADMIN', 'ann')), {
          [users.ann]: 'OWNER',
          [users.bob]: 'ADMIN',
          [users.cid]: 'MEMBER',
        });
        assert.deepEqual(await lastSystemRow(chatId), {
          text: 'ANN made BOB an admin',
          system: { action: 'ROLE_CHANGED', actorId: users.ann, userIds: [users.bob], role: 'ADMIN' },
        });
        const rows = (await systemRows(chatId)).length;
        await setRole(chatId, users.bob, 'ADMIN', 'ann');
        assert.equal((await systemRows(chatId)).length, rows, 'the current role changes nothing');
        assert.equal(rolesOf(await setRole(chatId, users.bob, 'MEMBER', 'ann'))[users.bob], 'MEMBER');
        assert.equal((await lastSystemRow(chatId))?.text, 'ANN made BOB a member');
      });

      it('refuses everyone but the OWNER, OWNER as a role, one’s own role and non-members, changing nothing', async () => {
        const chatId = await newGroup('ann', [users.bob, users.cid]);
        await setRole(chatId, users.bob, 'ADMIN', 'ann');
        const direct = await createDirect(users.bob, 'ann');
        await refused(chatId, () => run(SET_ROLE, { c: chatId, u: users.cid, r: 'ADMIN' }, 'bob'), 'FORBIDDEN');
        await refused(chatId, () => run(SET_ROLE, { c: chatId, u: users.bob, r: 'MEMBER' }, 'cid'), 'FORBIDDEN');
        await refused(chatId, () => run(SET_ROLE, { c: chatId, u: users.cid, r: 'ADMIN' }, 'eve'), 'NOT_FOUND');
        await refused(chatId, () => run(SET_ROLE, { c: chatId, u: users.bob, r: 'OWNER' }, 'ann'), 'BAD_USER_INPUT');
        await refused(chatId, () => run(SET_ROLE, { c: chatId, u: users.ann, r: 'MEMBER' }, 'ann'), 'BAD_USER_INPUT');
        await refused(chatId, () => run(SET_ROLE, { c: chatId, u: users.bob, r: 'MEMBER' }, 'bob'), 'BAD_USER_INPUT');
        await refused(chatId, () => run(SET_ROLE, { c: chatId, u: users.dan, r: 'ADMIN' }, 'ann'), 'NOT_FOUND');
        await refused(chatId, () => run(SET_ROLE, { c: chatId, u: 'x', r: 'ADMIN' }, 'ann'), 'BAD_USER_INPUT');
        await refused(chatId, () => run(SET_ROLE, { c: '424242', u: users.bob, r: 'ADMIN' }, 'ann'), 'NOT_FOUND');
        await refused(
          direct.id,
          () => run(SET_ROLE, { c: direct.id, u: users.bob, r: 'ADMIN' }, 'ann'),
          'BAD_USER_INPUT',
          'NOT_A_GROUP',
        );
        await refused(chatId, () => run(SET_ROLE, { c: chatId, u: users.cid, r: 'ADMIN' }), 'UNAUTHENTICATED');
      });
    });

    describe('renameChat', () => {
      it('lets the OWNER and ADMINs rename, with the title rule of createGroupChat', async () => {
        const chatId = await newGroup('ann', [users.bob, users.cid], 'Old');
        await setRole(chatId, users.bob, 'ADMIN', 'ann');
        const renamed = ok<{ renameChat: GroupData }>(
          await run(RENAME, { c: chatId, t: '  Trip  ' }, 'ann'),
        ).renameChat;
        assert.equal(renamed.title, 'Trip');
        assert.deepEqual(await lastSystemRow(chatId), {
          text: 'ANN renamed the group to "Trip"',
          system: { action: 'CHAT_RENAMED', actorId: users.ann, userIds: [], title: 'Trip' },
        });
        const rows = (await systemRows(chatId)).length;
        ok(await run(RENAME, { c: chatId, t: 'Trip' }, 'bob'));
        assert.equal((await systemRows(chatId)).length, rows, 'the current title changes nothing');
        const long = 'é'.repeat(100);
        assert.equal(
          ok<{ renameChat: GroupData }>(await run(RENAME, { c: chatId, t: ` ${long} ` }, 'bob')).renameChat.title,
          long,
        );
        assert.equal((await lastSystemRow(chatId))?.text, `BOB renamed the group to "${long}"`);
        const read = ok<{ chat: { title: string } }>(
          await run('query ($id: ID!) { chat(id: $id) { title } }', { id: chatId }, 'cid'),
        );
        assert.equal(read.chat.title, long);
      });

      it('refuses a MEMBER, a non-member, a direct chat and invalid titles, changing nothing', async () => {
        const chatId = await newGroup('ann', [users.bob], 'Kept');
        const direct = await createDirect(users.bob, 'ann');
        await refused(chatId, () => run(RENAME, { c: chatId, t: 'Mine' }, 'bob'), 'FORBIDDEN');
        await refused(chatId, () => run(RENAME, { c: chatId, t: 'Mine' }, 'eve'), 'NOT_FOUND');
        for (const title of ['', '   ', 'x'.repeat(101), 'bell\u0007', 'two\nlines']) {
          await refused(chatId, () => run(RENAME, { c: chatId, t: title }, 'ann'), 'BAD_USER_INPUT');
        }
        await refused(chatId, () => run(RENAME, { c: '424242', t: 'Mine' }, 'ann'), 'NOT_FOUND');
        await refused(chatId, () => run(RENAME, { c: 'x', t: 'Mine' }, 'ann'), 'BAD_USER_INPUT');
        await refused(
          direct.id,
          () => run(RENAME, { c: direct.id, t: 'Mine' }, 'ann'),
          'BAD_USER_INPUT',
          'NOT_A_GROUP',
        );
        await refused(chatId, () => run(RENAME, { c: chatId, t: 'Mine' }), 'UNAUTHENTICATED');
      });

      it('refuses control characters in a new group’s title too', async () => {
        assert.equal(codeOf(await createGroup('bell\u0007', [users.bob], 'ann')), 'BAD_USER_INPUT');
      });

      it('refuses titles that impersonate or hide (INVALID_TEXT), at creation and renaming, and stores them in NFC', async () => {
        const chatId = await newGroup('ann', [users.bob], 'Kept');
        for (const title of [
          'Trip\u202E',
          'Trip\u202Agoes',
          '\u2066Trip\u2069',
          '\u200B',
          '\u200B\u2060\uFEFF',
          'Trip\uD800',
        ]) {
          await refused(chatId, () => run(RENAME, { c: chatId, t: title }, 'ann'), 'BAD_USER_INPUT', 'INVALID_TEXT');
          const created = await createGroup(title, [users.bob], 'ann');
          assert.equal(created.errors?.[0]?.extensions.reason, 'INVALID_TEXT', JSON.stringify(title));
        }
        // Counted after NFC: 100 decomposed characters (200 UTF-16 units) fit.
        const renamed = ok<{ renameChat: GroupData }>(
          await run(RENAME, { c: chatId, t: 'e\u0301'.repeat(100) }, 'ann'),
        ).renameChat;
        assert.equal(renamed.title, '\u00E9'.repeat(100));
      });
    });

    describe('leaveChat', () => {
      it('removes the viewer and returns the chat ID', async () => {
        const chatId = await newGroup('ann', [users.bob, users.cid]);
        assert.deepEqual(ok(await run(LEAVE, { c: chatId }, 'bob')), { leaveChat: chatId });
        assert.deepEqual(await lastSystemRow(chatId), {
          text: 'BOB left',
          system: { action: 'MEMBER_LEFT', actorId: users.bob, userIds: [users.bob] },
        });
        const chat = ok<{ chat: GroupData }>(
          await run(`query ($id: ID!) { chat(id: $id) { ${GROUP} } }`, { id: chatId }, 'ann'),
        ).chat;
        assert.equal(chat.memberCount, 2);
        assert.equal(rolesOf(chat)[users.bob], undefined);
      });

      it('hands ownership to the longest-standing ADMIN (by joining time, then user ID), else MEMBER', async () => {
        const joined = (chatId: string, userId: string, ms: number) =>
          runtime.db.prisma.chatMember.update({
            where: { chatId_userId: { chatId: BigInt(chatId), userId: BigInt(userId) } },
            data: { joinedAt: new Date(Date.UTC(2030, 0, 1, 0, 0, 0, ms)) },
          });
        const roleIn = async (chatId: string) =>
          Object.fromEntries(
            (await runtime.db.prisma.chatMember.findMany({ where: { chatId: BigInt(chatId) } })).map((m) => [
              m.userId.toString(),
              m.role,
            ]),
          );

        // Two admins who joined together: the lower user ID.
        const tie = await newGroup('ann', [users.bob, users.cid, users.dan]);
        await setRole(tie, users.dan, 'ADMIN', 'ann');
        await setRole(tie, users.cid, 'ADMIN', 'ann');
        ok(await run(LEAVE, { c: tie }, 'ann'));
        assert.deepEqual(await roleIn(tie), { [users.bob]: 'MEMBER', [users.cid]: 'OWNER', [users.dan]: 'ADMIN' });
        assert.deepEqual((await systemRows(tie)).slice(-2), [
          { text: 'ANN left', system: { action: 'MEMBER_LEFT', actorId: users.ann, userIds: [users.ann] } },
          {
            text: 'CID is now the owner',
            system: { action: 'ROLE_CHANGED', actorId: users.ann, userIds: [users.cid], role: 'OWNER' },
          },
        ]);

        // Joining time first: the admin who joined earlier, though their ID is higher; an earlier MEMBER does not count.
        const early = await newGroup('ann', [users.bob, users.dan, users.eve]);
        await setRole(early, users.bob, 'ADMIN', 'ann');
        await setRole(early, users.eve, 'ADMIN', 'ann');
        await joined(early, users.dan, 1);
        await joined(early, users.eve, 2);
        await joined(early, users.bob, 3);
        ok(await run(LEAVE, { c: early }, 'ann'));
        assert.deepEqual(await roleIn(early), { [users.bob]: 'ADMIN', [users.dan]: 'MEMBER', [users.eve]: 'OWNER' });

        // No admin: the longest-standing member.
        const members = await newGroup('ann', [users.bob, users.eve]);
        await joined(members, users.eve, 1);
        await joined(members, users.bob, 2);
        ok(await run(LEAVE, { c: members }, 'ann'));
        assert.deepEqual(await roleIn(members), { [users.bob]: 'MEMBER', [users.eve]: 'OWNER' });

        // The last member leaves an empty chat.
        const alone = await newGroup('ann', []);
        assert.deepEqual(ok(await run(LEAVE, { c: alone }, 'ann')), { leaveChat: alone });
        assert.equal(await runtime.db.prisma.chatMember.count({ where: { chatId: BigInt(alone) } }), 0);
        assert.equal(await runtime.db.prisma.chat.count({ where: { id: BigInt(alone) } }), 1);
        assert.equal((await lastSystemRow(alone))?.text, 'ANN left');
      });

      it('refuses a non-member, an unknown chat, a direct chat and a bad ID, changing nothing', async () => {
        const chatId = await newGroup('ann', [users.bob]);
        const direct = await createDirect(users.bob, 'ann');
        await refused(chatId, () => run(LEAVE, { c: chatId }, 'eve'), 'NOT_FOUND');
        await refused(chatId, () => run(LEAVE, { c: '424242' }, 'ann'), 'NOT_FOUND');
        await refused(chatId, () => run(LEAVE, { c: 'x' }, 'ann'), 'BAD_USER_INPUT');
        await refused(direct.id, () => run(LEAVE, { c: direct.id }, 'ann'), 'BAD_USER_INPUT', 'NOT_A_GROUP');
        await refused(chatId, () => run(LEAVE, { c: chatId }), 'UNAUTHENTICATED');
      });
    });

    describe('Chat.memberCount and Chat.viewerRole', () => {
      it('reads them for a page of chats in one query each', async (t) => {
        const gus = '107';
        await runtime.db.prisma.user.create({
          data: { id: BigInt(gus), username: 'gus', displayName: 'GUS', passwordHash: 'x', groupAddPolicy: 'EVERYONE' },
        });
        auth.gus = await openTestSession(runtime, { id: gus, username: 'gus' });
        const owned = await newGroup('gus', [users.bob, users.cid]);
        const admin = await newGroup('ann', [gus, users.bob, users.cid, users.dan]);
        await setRole(admin, gus, 'ADMIN', 'ann');
        const member = await newGroup('bob', [gus]);
        const direct = await createDirect(users.eve, 'gus');

        /** Counts calls of a Prisma delegate's method (its methods come from a proxy, which node:test's mock cannot wrap). */
        const calls = (name: 'groupBy' | 'findMany') => {
          const delegate = runtime.db.prisma.chatMember as unknown as Record<string, (...args: unknown[]) => unknown>;
          const original = delegate[name];
          const counter = { count: 0 };
          delegate[name] = (...args: unknown[]) => {
            counter.count += 1;
            return original?.apply(delegate, args);
          };
          t.after(() => {
            if (original) delegate[name] = original;
          });
          return counter;
        };
        const counts = calls('groupBy');
        const memberships = calls('findMany');
        const page = ok<{ chats: { edges: { node: { id: string; memberCount: number; viewerRole: string } }[] } }>(
          await run('query { chats(first: 10) { edges { node { id memberCount viewerRole } } } }', {}, 'gus'),
        );
        assert.deepEqual(
          page.chats.edges.map(({ node }) => node),
          [
            { id: direct.id, memberCount: 2, viewerRole: 'MEMBER' },
            { id: member, memberCount: 2, viewerRole: 'MEMBER' },
            { id: admin, memberCount: 5, viewerRole: 'ADMIN' },
            { id: owned, memberCount: 3, viewerRole: 'OWNER' },
          ],
        );
        assert.equal(counts.count, 1, 'member counts in one batch');
        assert.equal(memberships.count, 0, 'the viewer’s roles come with the page');
      });
    });

    describe('events', () => {
      /** Collects what is published on `topic` (the in-process bus delivers synchronously). */
      const listen = async (topic: string) => {
        const received: unknown[] = [];
        const id = await runtime.pubsub.subscribe(topic, (payload: unknown) => received.push(payload), {});
        return { received, stop: () => runtime.pubsub.unsubscribe(id) };
      };

      it('tells every member before and after a change, wakes the relay and drops member caches', async () => {
        const chatId = await newGroup('ann', [users.bob, users.cid]);
        const inbox = Object.fromEntries(
          await Promise.all(
            ([users.ann, users.bob, users.cid, users.dan] as const).map(
              async (id) => [id, await listen(Topics.userEvents(id))] as const,
            ),
          ),
        );
        const outbox = await listen(Topics.outbox);
        const membersChanged = await listen(Topics.membersChanged);
        const eventsOf = (id: string) => plain(inbox[id]?.received);
        try {
          await add(chatId, [users.dan], 'ann');
          const added = {
            type: 'MembershipChanged',
            chatId,
            action: 'MEMBERS_ADDED',
            actorId: users.ann,
            userIds: [users.dan],
            role: null,
          };
          for (const id of [users.ann, users.bob, users.cid, users.dan]) assert.deepEqual(eventsOf(id), [added], id);
          assert.deepEqual(plain(outbox.received), [{}]);
          assert.deepEqual(plain(membersChanged.received), [{ chatId }]);

          ok(await run(REMOVE, { c: chatId, u: users.cid }, 'ann'));
          const removed = {
            type: 'MembershipChanged',
            chatId,
            action: 'MEMBER_REMOVED',
            actorId: users.ann,
            userIds: [users.cid],
            role: null,
          };
          assert.deepEqual(eventsOf(users.cid), [added, removed], 'the removed member is told too');

          ok(await run(RENAME, { c: chatId, t: 'New name' }, 'ann'));
          const renamed = { type: 'ChatRenamed', chatId, actorId: users.ann, title: 'New name' };
          assert.deepEqual(eventsOf(users.bob), [added, removed, renamed]);
          assert.deepEqual(eventsOf(users.cid), [added, removed], 'a former member is not');
          assert.equal(membersChanged.received.length, 2, 'a rename changes no membership');

          await setRole(chatId, users.dan, 'ADMIN', 'ann');
          ok(await run(LEAVE, { c: chatId }, 'ann'));
          const left = {
            type: 'MembershipChanged',
            chatId,
            action: 'MEMBER_LEFT',
            actorId: users.ann,
            userIds: [users.ann],
            role: null,
          };
          const handedOver = {
            type: 'MembershipChanged',
            chatId,
            action: 'ROLE_CHANGED',
            actorId: users.ann,
            userIds: [users.dan],
            role: 'OWNER',
          };
          assert.deepEqual((eventsOf(users.ann) as unknown[]).slice(-2), [left, handedOver], 'the leaver is told too');
          assert.deepEqual((eventsOf(users.bob) as unknown[]).slice(-2), [left, handedOver]);
          assert.equal(outbox.received.length, 5);

          // Refusals and changes of nothing announce nothing.
          const before = (eventsOf(users.bob) as unknown[]).length;
          assert.equal(codeOf(await run(ADD, { c: chatId, u: [users.eve] }, 'bob')), 'FORBIDDEN');
          await add(chatId, [users.bob], 'dan');
          assert.equal((eventsOf(users.bob) as unknown[]).length, before);
          assert.equal(outbox.received.length, 5);
        } finally {
          for (const listener of [...Object.values(inbox), outbox, membersChanged]) listener.stop();
        }
      });

      it('wakes the relay when a group is created', async () => {
        const outbox = await listen(Topics.outbox);
        try {
          await newGroup('ann', [users.bob]);
          assert.deepEqual(plain(outbox.received), [{}]);
        } finally {
          outbox.stop();
        }
      });
    });
  });
});
