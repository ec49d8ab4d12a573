import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Topics, type Runtime } from '@chat/common';
import { codeOf, createSubgraphTestkit, plain, type SubgraphTestkit, type TestUser } from '@chat/common/testing';
import type { ExecutionResult } from 'graphql';
import { createChatsSubgraph } from './index.ts';
import { ChatStore, directKey } from './store/chat-store.ts';

const CHAT_FIELDS =
  'id kind title members { user { id } role joinedAt } lastMessage { id } unreadCount createdAt lastActivityAt';
const CREATE_GROUP = `mutation ($i: CreateGroupChatInput!) { createGroupChat(input: $i) { ${CHAT_FIELDS} } }`;

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
  let kit: SubgraphTestkit<ReturnType<typeof createChatsSubgraph>>;
  /** The kit's runtime: tests read and arrange the database directly. */
  let runtime: Runtime;
  const ids = { ann: '101', bob: '102', cid: '103', dan: '104', eve: '105' } as const;
  let users: Record<keyof typeof ids, TestUser>;

  /**
   * A user these tests act as: groupAddPolicy EVERYONE, so they join groups at
   * once (the consent tests make users of their own); a display name in
   * capitals, as the system messages quote it.
   */
  const seedMember = (name: string, id: string) =>
    kit.seed.user(name, { id, displayName: name.toUpperCase(), groupAddPolicy: 'EVERYONE' });

  const createDirect = async (userId: string, as: TestUser): Promise<ChatData> =>
    (
      await kit.ok<{ createDirectChat: ChatData }>(
        `mutation ($u: ID!) { createDirectChat(userId: $u) { ${CHAT_FIELDS} } }`,
        { u: userId },
        as,
      )
    ).createDirectChat;

  const createGroup = (title: string, memberIds: string[], as: TestUser) =>
    kit.run(CREATE_GROUP, { i: { title, memberIds } }, as);

  before(async () => {
    kit = await createSubgraphTestkit(createChatsSubgraph);
    runtime = kit.runtime;
    users = {} as typeof users;
    for (const [name, id] of Object.entries(ids) as [keyof typeof ids, string][])
      users[name] = await seedMember(name, id);
  });
  after(() => kit.close());

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
    for (const query of operations) assert.equal(codeOf(await kit.run(query)), 'UNAUTHENTICATED', query);
    const entities = await kit.run('query ($r: [_Any!]!) { _entities(representations: $r) { ... on Chat { id } } }', {
      r: [{ __typename: 'Chat', id: '1' }],
    });
    assert.equal(codeOf(entities), 'UNAUTHENTICATED');
  });

  describe('createDirectChat', () => {
    it('creates one chat per pair, whoever asks and however often', async () => {
      const first = await createDirect(ids.bob, users.ann);
      assert.equal(first.kind, 'DIRECT');
      assert.equal(first.title, null);
      assert.equal(first.lastMessage, null);
      assert.equal(first.unreadCount, 0);
      assert.deepEqual(first.members.map((m) => [m.user.id, m.role]).sort(), [
        [ids.ann, 'MEMBER'],
        [ids.bob, 'MEMBER'],
      ]);
      assert.equal(first.lastActivityAt, first.createdAt);
      assert.equal((await createDirect(ids.bob, users.ann)).id, first.id);
      assert.equal((await createDirect(ids.ann, users.bob)).id, first.id);
    });

    it('agrees on one chat when calls race, from both sides', async () => {
      const chats = await Promise.all([
        createDirect(ids.dan, users.cid),
        createDirect(ids.cid, users.dan),
        createDirect(ids.dan, users.cid),
        createDirect(ids.cid, users.dan),
      ]);
      assert.equal(new Set(chats.map((chat) => chat.id)).size, 1);
      const key = `${ids.cid}:${ids.dan}`;
      assert.equal(await runtime.db.prisma.chat.count({ where: { directKey: key } }), 1);
      assert.equal(await runtime.db.prisma.chatMember.count({ where: { chat: { directKey: key } } }), 2);
    });

    it('loses a race for a taken direct key without creating anything', async () => {
      const key = directKey(BigInt(ids.dan), BigInt(ids.cid));
      const chats = await runtime.db.prisma.chat.count();
      const members = await runtime.db.prisma.chatMember.count();
      const lost = await new ChatStore(runtime.db.prisma).insert({
        id: runtime.ids.next(),
        kind: 'DIRECT',
        title: null,
        directKey: key,
        createdById: BigInt(ids.dan),
        at: new Date(),
        members: [
          { userId: BigInt(ids.dan), role: 'MEMBER' },
          { userId: BigInt(ids.cid), role: 'MEMBER' },
        ],
      });
      assert.equal(lost, null);
      assert.equal(await runtime.db.prisma.chat.count(), chats);
      assert.equal(await runtime.db.prisma.chatMember.count(), members);
    });

    it('refuses a chat with yourself, an unknown user and a malformed ID', async () => {
      const mutation = 'mutation ($u: ID!) { createDirectChat(userId: $u) { id } }';
      assert.equal(codeOf(await kit.run(mutation, { u: ids.ann }, users.ann)), 'BAD_USER_INPUT');
      assert.equal(codeOf(await kit.run(mutation, { u: '0101' }, users.ann)), 'BAD_USER_INPUT');
      assert.equal(codeOf(await kit.run(mutation, { u: '999999' }, users.ann)), 'NOT_FOUND');
      assert.equal(codeOf(await kit.run(mutation, { u: 'abc' }, users.ann)), 'BAD_USER_INPUT');
    });
  });

  describe('createGroupChat', () => {
    it('creates a group with the viewer as OWNER and the others as MEMBER', async () => {
      const memberIds = [ids.bob, ids.cid, ids.bob, ids.ann];
      const { createGroupChat: chat } = await kit.ok<{ createGroupChat: ChatData }>(
        CREATE_GROUP,
        { i: { title: '  Weekend plans  ', memberIds } },
        users.ann,
      );
      assert.equal(chat.kind, 'GROUP');
      assert.equal(chat.title, 'Weekend plans');
      assert.deepEqual(chat.members.map((m) => [m.user.id, m.role]).sort(), [
        [ids.ann, 'OWNER'],
        [ids.bob, 'MEMBER'],
        [ids.cid, 'MEMBER'],
      ]);
    });

    it('allows a group of the viewer alone', async () => {
      const { createGroupChat: chat } = await kit.ok<{ createGroupChat: ChatData }>(
        CREATE_GROUP,
        { i: { title: 'Notes to self', memberIds: [ids.ann] } },
        users.ann,
      );
      assert.deepEqual(
        chat.members.map((m) => [m.user.id, m.role]),
        [[ids.ann, 'OWNER']],
      );
    });

    it('refuses unknown members, naming them, and creates nothing', async () => {
      const before = await runtime.db.prisma.chat.count();
      const result = await createGroup('Ghosts', [ids.bob, '999998', '999999'], users.ann);
      assert.equal(codeOf(result), 'NOT_FOUND');
      assert.match(result.errors?.[0]?.message ?? '', /999998, 999999/);
      assert.deepEqual(result.errors?.[0]?.extensions.userIds, ['999998', '999999']);
      assert.equal(await runtime.db.prisma.chat.count(), before);
    });

    it('enforces the title and member limits', async () => {
      const before = await runtime.db.prisma.chat.count();
      assert.equal(codeOf(await createGroup('   ', [ids.bob], users.ann)), 'BAD_USER_INPUT');
      assert.equal(codeOf(await createGroup('x'.repeat(101), [ids.bob], users.ann)), 'BAD_USER_INPUT');
      assert.equal(codeOf(await createGroup('ok', [ids.bob, 'nope'], users.ann)), 'BAD_USER_INPUT');
      const many = Array.from({ length: 256 }, (_, i) => String(10_000 + i));
      const tooMany = await createGroup('crowd', many, users.ann);
      assert.equal(codeOf(tooMany), 'BAD_USER_INPUT');
      assert.match(tooMany.errors?.[0]?.message ?? '', /memberIds/);
      assert.equal(await runtime.db.prisma.chat.count(), before);

      // 255 others plus the viewer and duplicates pass validation (then fail on the unknown users).
      const edge = await createGroup(
        `  ${'x'.repeat(100)}  `,
        [...many.slice(0, 255), ids.ann, many[0] ?? ''],
        users.ann,
      );
      assert.equal(codeOf(edge), 'NOT_FOUND');
    });
  });

  describe('chat(id)', () => {
    it('returns a chat to its member and refuses everyone else', async () => {
      const direct = await createDirect(ids.bob, users.ann);
      const query = `query ($id: ID!) { chat(id: $id) { ${CHAT_FIELDS} } }`;
      const own = await kit.ok<{ chat: ChatData }>(query, { id: direct.id }, users.bob);
      assert.equal(own.chat.id, direct.id);

      const stranger = await kit.run(query, { id: direct.id }, users.eve);
      // Exactly the answer for a chat that does not exist: chat IDs cannot be probed.
      const unknown = await kit.run(query, { id: '424242' }, users.eve);
      assert.equal(codeOf(stranger), 'NOT_FOUND');
      assert.deepEqual(plain(stranger.errors), plain(unknown.errors));
      assert.equal(codeOf(await kit.run(query, { id: 'x' }, users.eve)), 'BAD_USER_INPUT');
    });

    it('reads the unread count and last message written by the messages subgraph', async () => {
      const direct = await createDirect(ids.eve, users.dan);
      await runtime.db.prisma.chatMember.update({
        where: { chatId_userId: { chatId: BigInt(direct.id), userId: BigInt(ids.eve) } },
        data: { unreadCount: 3 },
      });
      await runtime.db.prisma.chat.update({ where: { id: BigInt(direct.id) }, data: { lastMessageId: 777n } });
      const query = 'query ($id: ID!) { chat(id: $id) { unreadCount lastMessage { id } } }';
      assert.deepEqual(await kit.ok(query, { id: direct.id }, users.eve), {
        chat: { unreadCount: 3, lastMessage: { id: '777' } },
      });
      assert.deepEqual(await kit.ok(query, { id: direct.id }, users.dan), {
        chat: { unreadCount: 0, lastMessage: { id: '777' } },
      });
    });
  });

  describe('chats', () => {
    it('pages through the viewer’s chats, most recently active first', async () => {
      const fay = await seedMember('fay', '106');

      const created: string[] = [];
      for (const other of [ids.ann, ids.bob, ids.cid, ids.dan, ids.eve])
        created.push((await createDirect(other, fay)).id);
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
        const page: Page['chats'] = (await kit.ok<Page>(query, { first: 2, after: cursor }, fay)).chats;
        seen.push(...page.edges.map((edge) => edge.node.id));
        pages += 1;
        if (!page.pageInfo.hasNextPage) break;
        cursor = page.pageInfo.endCursor;
      }
      assert.deepEqual(seen, expected);
      assert.equal(pages, 3);

      const all = await kit.ok<Page>(query, {}, fay);
      assert.deepEqual(
        all.chats.edges.map((edge) => edge.node.id),
        expected,
      );
      assert.equal(all.chats.pageInfo.hasNextPage, false);
    });

    it('refuses a bad cursor and an out-of-range page size', async () => {
      const query = 'query ($first: Int, $after: String) { chats(first: $first, after: $after) { edges { cursor } } }';
      assert.equal(codeOf(await kit.run(query, { after: 'garbage' }, users.ann)), 'BAD_USER_INPUT');
      assert.equal(codeOf(await kit.run(query, { after: '' }, users.ann)), 'BAD_USER_INPUT');
      const forged = Buffer.from(JSON.stringify(['not a date', '1'])).toString('base64url');
      assert.equal(codeOf(await kit.run(query, { after: forged }, users.ann)), 'BAD_USER_INPUT');
      // A time the database cannot hold (Postgres has no year 0) is refused, not passed on.
      for (const at of [
        '0000-01-01T00:00:00.000Z',
        '-271821-04-20T00:00:00.000Z',
        '+275760-09-13T00:00:00.000Z',
        '2026-02-30T00:00:00.000Z',
      ]) {
        const outOfRange = Buffer.from(JSON.stringify([at, '1'])).toString('base64url');
        assert.equal(codeOf(await kit.run(query, { after: outOfRange }, users.ann)), 'BAD_USER_INPUT', at);
      }
      assert.equal(codeOf(await kit.run(query, { first: 0 }, users.ann)), 'BAD_USER_INPUT');
      assert.equal(codeOf(await kit.run(query, { first: 101 }, users.ann)), 'BAD_USER_INPUT');
    });
  });

  describe('Chat entity', () => {
    const entities =
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Chat { id kind unreadCount members { user { id } } } } }';

    it('resolves chats of the viewer and null for unknown ones', async () => {
      const direct = await createDirect(ids.bob, users.ann);
      const result = await kit.ok<{ _entities: (ChatData | null)[] }>(
        entities,
        {
          r: [
            { __typename: 'Chat', id: direct.id },
            { __typename: 'Chat', id: '424242' },
          ],
        },
        users.bob,
      );
      const [chat, missing] = result._entities;
      assert.equal(chat?.id, direct.id);
      assert.equal(chat?.kind, 'DIRECT');
      assert.equal(chat?.members.length, 2);
      assert.equal(missing, null);
    });

    it('answers a chat the viewer is not a member of as an unknown one: null', async () => {
      const direct = await createDirect(ids.bob, users.ann);
      assert.deepEqual(await kit.ok(entities, { r: [{ __typename: 'Chat', id: direct.id }] }, users.eve), {
        _entities: [null],
      });
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

    const newGroup = async (as: TestUser, memberIds: string[], title = 'Group'): Promise<string> =>
      (await kit.ok<{ createGroupChat: ChatData }>(CREATE_GROUP, { i: { title, memberIds } }, as)).createGroupChat.id;
    const add = async (chatId: string, userIds: string[], as: TestUser) =>
      (await kit.ok<{ addChatMembers: GroupData }>(ADD, { c: chatId, u: userIds }, as)).addChatMembers;
    const setRole = async (chatId: string, userId: string, role: string, as: TestUser) =>
      (await kit.ok<{ setChatMemberRole: GroupData }>(SET_ROLE, { c: chatId, u: userId, r: role }, as))
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
      attempt: () => Promise<ExecutionResult>,
      code: string,
      reason?: string,
    ): Promise<ExecutionResult> => {
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
      const chatId = await newGroup(users.ann, [ids.bob], 'Weekend');
      assert.deepEqual(await systemRows(chatId), [
        {
          text: 'ANN created the group "Weekend"',
          system: { action: 'CHAT_CREATED', actorId: ids.ann, userIds: [], title: 'Weekend' },
        },
      ]);
      const direct = await createDirect(ids.cid, users.eve);
      assert.deepEqual(await systemRows(direct.id), [], 'direct chats have no system messages');
    });

    describe('addChatMembers', () => {
      it('adds members as MEMBER, skips those already in, and starts their receipts at the chat’s last message', async () => {
        const chatId = await newGroup(users.ann, [ids.bob]);
        await runtime.db.prisma.chat.update({ where: { id: BigInt(chatId) }, data: { lastSeq: 7n } });
        const chat = await add(chatId, [ids.cid, ids.bob, ids.dan, ids.cid, ids.ann], users.ann);
        assert.equal(chat.memberCount, 4);
        assert.equal(chat.viewerRole, 'OWNER');
        assert.deepEqual(rolesOf(chat), {
          [ids.ann]: 'OWNER',
          [ids.bob]: 'MEMBER',
          [ids.cid]: 'MEMBER',
          [ids.dan]: 'MEMBER',
        });
        const receipts = await runtime.db.prisma.chatMember.findMany({
          where: { chatId: BigInt(chatId) },
          orderBy: { userId: 'asc' },
        });
        assert.deepEqual(
          receipts.map((member) => [member.userId.toString(), member.deliveredSeq, member.seenSeq]),
          [
            [ids.ann, 0n, 0n],
            [ids.bob, 0n, 0n],
            [ids.cid, 7n, 7n],
            [ids.dan, 7n, 7n],
          ],
        );
        assert.deepEqual(await lastSystemRow(chatId), {
          text: 'ANN added CID and DAN',
          system: { action: 'MEMBERS_ADDED', actorId: ids.ann, userIds: [ids.cid, ids.dan] },
        });

        // Everyone already in: nothing changes, nothing is written.
        const rows = (await systemRows(chatId)).length;
        assert.equal((await add(chatId, [ids.bob, ids.cid], users.ann)).memberCount, 4);
        assert.equal((await systemRows(chatId)).length, rows);

        // An ADMIN may add too.
        await setRole(chatId, ids.bob, 'ADMIN', users.ann);
        const byAdmin = await add(chatId, [ids.eve], users.bob);
        assert.equal(byAdmin.memberCount, 5);
        assert.equal(byAdmin.viewerRole, 'ADMIN');
        assert.equal((await lastSystemRow(chatId))?.text, 'BOB added EVE');
      });

      it('names many added users briefly', async () => {
        const chatId = await newGroup(users.ann, []);
        await add(chatId, crowd.slice(280, 287), users.ann);
        assert.equal((await lastSystemRow(chatId))?.text, 'ANN added U20280, U20281, U20282, U20283 and 3 others');
      });

      it('refuses a MEMBER, a non-member, an unknown chat, a direct chat, unknown users and bad IDs, changing nothing', async () => {
        const chatId = await newGroup(users.ann, [ids.bob]);
        const direct = await createDirect(ids.bob, users.ann);
        await refused(chatId, () => kit.run(ADD, { c: chatId, u: [ids.cid] }, users.bob), 'FORBIDDEN');
        const stranger = await refused(chatId, () => kit.run(ADD, { c: chatId, u: [ids.cid] }, users.eve), 'NOT_FOUND');
        assert.equal(stranger.errors?.[0]?.message, 'Chat was not found.');
        await refused(chatId, () => kit.run(ADD, { c: '424242', u: [ids.cid] }, users.ann), 'NOT_FOUND');
        await refused(
          direct.id,
          () => kit.run(ADD, { c: direct.id, u: [ids.cid] }, users.ann),
          'BAD_USER_INPUT',
          'NOT_A_GROUP',
        );
        const unknown = await refused(
          chatId,
          () => kit.run(ADD, { c: chatId, u: [ids.cid, '999998', '999999'] }, users.ann),
          'NOT_FOUND',
        );
        assert.deepEqual(unknown.errors?.[0]?.extensions.userIds, ['999998', '999999']);
        await refused(chatId, () => kit.run(ADD, { c: chatId, u: [ids.cid, 'abc'] }, users.ann), 'BAD_USER_INPUT');
        await refused(chatId, () => kit.run(ADD, { c: 'abc', u: [ids.cid] }, users.ann), 'BAD_USER_INPUT');
        await refused(chatId, () => kit.run(ADD, { c: chatId, u: crowd.slice(0, 256) }, users.ann), 'BAD_USER_INPUT');
        await refused(chatId, () => kit.run(ADD, { c: chatId, u: [ids.cid] }), 'UNAUTHENTICATED');
      });

      it(`refuses to pass ${256} members (the owner included) with GROUP_FULL, adding nobody`, async () => {
        const chatId = await newGroup(users.ann, crowd.slice(0, 255));
        assert.equal(await runtime.db.prisma.chatMember.count({ where: { chatId: BigInt(chatId) } }), 256);
        const full = await refused(
          chatId,
          () => kit.run(ADD, { c: chatId, u: [ids.bob] }, users.ann),
          'BAD_USER_INPUT',
          'GROUP_FULL',
        );
        assert.equal(full.errors?.[0]?.extensions.limit, 256);
        await refused(
          chatId,
          () => kit.run(ADD, { c: chatId, u: [crowd[0] ?? '', ids.bob] }, users.ann),
          'BAD_USER_INPUT',
          'GROUP_FULL',
        );
        assert.equal(
          (await add(chatId, [crowd[0] ?? ''], users.ann)).memberCount,
          256,
          'adding a member already in still works',
        );

        await kit.ok(REMOVE, { c: chatId, u: crowd[1] }, users.ann);
        assert.equal((await add(chatId, [ids.bob], users.ann)).memberCount, 256);
      });

      it('holds the limit when adds race: exactly as many fit as there is room for', async () => {
        const chatId = await newGroup(users.ann, crowd.slice(0, 253));
        const [first, second] = await Promise.all([
          kit.run(ADD, { c: chatId, u: [ids.bob, ids.cid] }, users.ann),
          kit.run(ADD, { c: chatId, u: [ids.dan, ids.eve] }, users.ann),
        ]);
        const codes = [codeOf(first), codeOf(second)];
        assert.deepEqual(codes.filter((code) => code === undefined).length, 1, JSON.stringify(codes));
        const loser = codeOf(first) === undefined ? second : first;
        assert.equal(loser.errors?.[0]?.extensions.reason, 'GROUP_FULL');
        assert.equal(await runtime.db.prisma.chatMember.count({ where: { chatId: BigInt(chatId) } }), 256);

        const other = await newGroup(users.ann, crowd.slice(0, 249));
        const results = await Promise.all(
          crowd.slice(260, 270).map((userId) => kit.run(ADD, { c: other, u: [userId] }, users.ann)),
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
        const chatId = await newGroup(users.ann, [ids.bob, ids.cid, ids.dan, ids.eve]);
        await setRole(chatId, ids.bob, 'ADMIN', users.ann);
        await setRole(chatId, ids.cid, 'ADMIN', users.ann);
        const byAdmin = (await kit.ok<{ removeChatMember: GroupData }>(REMOVE, { c: chatId, u: ids.dan }, users.bob))
          .removeChatMember;
        assert.equal(byAdmin.memberCount, 4);
        assert.equal(rolesOf(byAdmin)[ids.dan], undefined);
        assert.deepEqual(await lastSystemRow(chatId), {
          text: 'BOB removed DAN',
          system: { action: 'MEMBER_REMOVED', actorId: ids.bob, userIds: [ids.dan] },
        });
        const byOwner = (await kit.ok<{ removeChatMember: GroupData }>(REMOVE, { c: chatId, u: ids.cid }, users.ann))
          .removeChatMember;
        assert.deepEqual(rolesOf(byOwner), { [ids.ann]: 'OWNER', [ids.bob]: 'ADMIN', [ids.eve]: 'MEMBER' });
        assert.equal((await lastSystemRow(chatId))?.text, 'ANN removed CID');
        assert.equal(
          codeOf(await kit.run('query ($id: ID!) { chat(id: $id) { id } }', { id: chatId }, users.cid)),
          'NOT_FOUND',
        );
      });

      it('refuses what the roles do not allow, yourself, non-members, and direct chats, changing nothing', async () => {
        const chatId = await newGroup(users.ann, [ids.bob, ids.cid, ids.dan]);
        await setRole(chatId, ids.bob, 'ADMIN', users.ann);
        await setRole(chatId, ids.cid, 'ADMIN', users.ann);
        const direct = await createDirect(ids.bob, users.ann);
        await refused(chatId, () => kit.run(REMOVE, { c: chatId, u: ids.cid }, users.bob), 'FORBIDDEN');
        await refused(chatId, () => kit.run(REMOVE, { c: chatId, u: ids.ann }, users.bob), 'FORBIDDEN');
        await refused(chatId, () => kit.run(REMOVE, { c: chatId, u: ids.bob }, users.dan), 'FORBIDDEN');
        await refused(chatId, () => kit.run(REMOVE, { c: chatId, u: ids.ann }, users.ann), 'FORBIDDEN');
        await refused(chatId, () => kit.run(REMOVE, { c: chatId, u: ids.dan }, users.eve), 'NOT_FOUND');
        const notMember = await refused(
          chatId,
          () => kit.run(REMOVE, { c: chatId, u: ids.eve }, users.ann),
          'NOT_FOUND',
        );
        assert.deepEqual(notMember.errors?.[0]?.extensions.userIds, [ids.eve]);
        await refused(chatId, () => kit.run(REMOVE, { c: chatId, u: '999999' }, users.ann), 'NOT_FOUND');
        await refused(chatId, () => kit.run(REMOVE, { c: chatId, u: 'x' }, users.ann), 'BAD_USER_INPUT');
        await refused(chatId, () => kit.run(REMOVE, { c: '424242', u: ids.bob }, users.ann), 'NOT_FOUND');
        await refused(
          direct.id,
          () => kit.run(REMOVE, { c: direct.id, u: ids.bob }, users.ann),
          'BAD_USER_INPUT',
          'NOT_A_GROUP',
        );
        await refused(chatId, () => kit.run(REMOVE, { c: chatId, u: ids.dan }), 'UNAUTHENTICATED');
      });
    });

    describe('setChatMemberRole', () => {
      it('lets the OWNER promote and demote others', async () => {
        const chatId = await newGroup(users.ann, [ids.bob, ids.cid]);
        assert.deepEqual(rolesOf(await setRole(chatId, ids.bob, 'ADMIN', users.ann)), {
          [ids.ann]: 'OWNER',
          [ids.bob]: 'ADMIN',
          [ids.cid]: 'MEMBER',
        });
        assert.deepEqual(await lastSystemRow(chatId), {
          text: 'ANN made BOB an admin',
          system: { action: 'ROLE_CHANGED', actorId: ids.ann, userIds: [ids.bob], role: 'ADMIN' },
        });
        const rows = (await systemRows(chatId)).length;
        await setRole(chatId, ids.bob, 'ADMIN', users.ann);
        assert.equal((await systemRows(chatId)).length, rows, 'the current role changes nothing');
        assert.equal(rolesOf(await setRole(chatId, ids.bob, 'MEMBER', users.ann))[ids.bob], 'MEMBER');
        assert.equal((await lastSystemRow(chatId))?.text, 'ANN made BOB a member');
      });

      it('refuses everyone but the OWNER, OWNER as a role, one’s own role and non-members, changing nothing', async () => {
        const chatId = await newGroup(users.ann, [ids.bob, ids.cid]);
        await setRole(chatId, ids.bob, 'ADMIN', users.ann);
        const direct = await createDirect(ids.bob, users.ann);
        await refused(chatId, () => kit.run(SET_ROLE, { c: chatId, u: ids.cid, r: 'ADMIN' }, users.bob), 'FORBIDDEN');
        await refused(chatId, () => kit.run(SET_ROLE, { c: chatId, u: ids.bob, r: 'MEMBER' }, users.cid), 'FORBIDDEN');
        await refused(chatId, () => kit.run(SET_ROLE, { c: chatId, u: ids.cid, r: 'ADMIN' }, users.eve), 'NOT_FOUND');
        await refused(
          chatId,
          () => kit.run(SET_ROLE, { c: chatId, u: ids.bob, r: 'OWNER' }, users.ann),
          'BAD_USER_INPUT',
        );
        await refused(
          chatId,
          () => kit.run(SET_ROLE, { c: chatId, u: ids.ann, r: 'MEMBER' }, users.ann),
          'BAD_USER_INPUT',
        );
        await refused(
          chatId,
          () => kit.run(SET_ROLE, { c: chatId, u: ids.bob, r: 'MEMBER' }, users.bob),
          'BAD_USER_INPUT',
        );
        await refused(chatId, () => kit.run(SET_ROLE, { c: chatId, u: ids.dan, r: 'ADMIN' }, users.ann), 'NOT_FOUND');
        await refused(chatId, () => kit.run(SET_ROLE, { c: chatId, u: 'x', r: 'ADMIN' }, users.ann), 'BAD_USER_INPUT');
        await refused(chatId, () => kit.run(SET_ROLE, { c: '424242', u: ids.bob, r: 'ADMIN' }, users.ann), 'NOT_FOUND');
        await refused(
          direct.id,
          () => kit.run(SET_ROLE, { c: direct.id, u: ids.bob, r: 'ADMIN' }, users.ann),
          'BAD_USER_INPUT',
          'NOT_A_GROUP',
        );
        await refused(chatId, () => kit.run(SET_ROLE, { c: chatId, u: ids.cid, r: 'ADMIN' }), 'UNAUTHENTICATED');
      });
    });

    describe('renameChat', () => {
      it('lets the OWNER and ADMINs rename, with the title rule of createGroupChat', async () => {
        const chatId = await newGroup(users.ann, [ids.bob, ids.cid], 'Old');
        await setRole(chatId, ids.bob, 'ADMIN', users.ann);
        const renamed = (await kit.ok<{ renameChat: GroupData }>(RENAME, { c: chatId, t: '  Trip  ' }, users.ann))
          .renameChat;
        assert.equal(renamed.title, 'Trip');
        assert.deepEqual(await lastSystemRow(chatId), {
          text: 'ANN renamed the group to "Trip"',
          system: { action: 'CHAT_RENAMED', actorId: ids.ann, userIds: [], title: 'Trip' },
        });
        const rows = (await systemRows(chatId)).length;
        await kit.ok(RENAME, { c: chatId, t: 'Trip' }, users.bob);
        assert.equal((await systemRows(chatId)).length, rows, 'the current title changes nothing');
        const long = 'é'.repeat(100);
        assert.equal(
          (await kit.ok<{ renameChat: GroupData }>(RENAME, { c: chatId, t: ` ${long} ` }, users.bob)).renameChat.title,
          long,
        );
        assert.equal((await lastSystemRow(chatId))?.text, `BOB renamed the group to "${long}"`);
        const read = await kit.ok<{ chat: { title: string } }>(
          'query ($id: ID!) { chat(id: $id) { title } }',
          { id: chatId },
          users.cid,
        );
        assert.equal(read.chat.title, long);
      });

      it('refuses a MEMBER, a non-member, a direct chat and invalid titles, changing nothing', async () => {
        const chatId = await newGroup(users.ann, [ids.bob], 'Kept');
        const direct = await createDirect(ids.bob, users.ann);
        await refused(chatId, () => kit.run(RENAME, { c: chatId, t: 'Mine' }, users.bob), 'FORBIDDEN');
        await refused(chatId, () => kit.run(RENAME, { c: chatId, t: 'Mine' }, users.eve), 'NOT_FOUND');
        for (const title of ['', '   ', 'x'.repeat(101), 'bell\u0007', 'two\nlines']) {
          await refused(chatId, () => kit.run(RENAME, { c: chatId, t: title }, users.ann), 'BAD_USER_INPUT');
        }
        await refused(chatId, () => kit.run(RENAME, { c: '424242', t: 'Mine' }, users.ann), 'NOT_FOUND');
        await refused(chatId, () => kit.run(RENAME, { c: 'x', t: 'Mine' }, users.ann), 'BAD_USER_INPUT');
        await refused(
          direct.id,
          () => kit.run(RENAME, { c: direct.id, t: 'Mine' }, users.ann),
          'BAD_USER_INPUT',
          'NOT_A_GROUP',
        );
        await refused(chatId, () => kit.run(RENAME, { c: chatId, t: 'Mine' }), 'UNAUTHENTICATED');
      });

      it('refuses control characters in a new group’s title too', async () => {
        assert.equal(codeOf(await createGroup('bell\u0007', [ids.bob], users.ann)), 'BAD_USER_INPUT');
      });

      it('refuses titles that impersonate or hide (INVALID_TEXT), at creation and renaming, and stores them in NFC', async () => {
        const chatId = await newGroup(users.ann, [ids.bob], 'Kept');
        for (const title of [
          'Trip\u202E',
          'Trip\u202Agoes',
          '\u2066Trip\u2069',
          '\u200B',
          '\u200B\u2060\uFEFF',
          'Trip\uD800',
        ]) {
          await refused(
            chatId,
            () => kit.run(RENAME, { c: chatId, t: title }, users.ann),
            'BAD_USER_INPUT',
            'INVALID_TEXT',
          );
          const created = await createGroup(title, [ids.bob], users.ann);
          assert.equal(created.errors?.[0]?.extensions.reason, 'INVALID_TEXT', JSON.stringify(title));
        }
        // Counted after NFC: 100 decomposed characters (200 UTF-16 units) fit.
        const renamed = (
          await kit.ok<{ renameChat: GroupData }>(RENAME, { c: chatId, t: 'e\u0301'.repeat(100) }, users.ann)
        ).renameChat;
        assert.equal(renamed.title, '\u00E9'.repeat(100));
      });
    });

    describe('leaveChat', () => {
      it('removes the viewer and returns the chat ID', async () => {
        const chatId = await newGroup(users.ann, [ids.bob, ids.cid]);
        assert.deepEqual(await kit.ok(LEAVE, { c: chatId }, users.bob), { leaveChat: chatId });
        assert.deepEqual(await lastSystemRow(chatId), {
          text: 'BOB left',
          system: { action: 'MEMBER_LEFT', actorId: ids.bob, userIds: [ids.bob] },
        });
        const chat = (
          await kit.ok<{ chat: GroupData }>(
            `query ($id: ID!) { chat(id: $id) { ${GROUP} } }`,
            { id: chatId },
            users.ann,
          )
        ).chat;
        assert.equal(chat.memberCount, 2);
        assert.equal(rolesOf(chat)[ids.bob], undefined);
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
        const tie = await newGroup(users.ann, [ids.bob, ids.cid, ids.dan]);
        await setRole(tie, ids.dan, 'ADMIN', users.ann);
        await setRole(tie, ids.cid, 'ADMIN', users.ann);
        await kit.ok(LEAVE, { c: tie }, users.ann);
        assert.deepEqual(await roleIn(tie), { [ids.bob]: 'MEMBER', [ids.cid]: 'OWNER', [ids.dan]: 'ADMIN' });
        assert.deepEqual((await systemRows(tie)).slice(-2), [
          { text: 'ANN left', system: { action: 'MEMBER_LEFT', actorId: ids.ann, userIds: [ids.ann] } },
          {
            text: 'CID is now the owner',
            system: { action: 'ROLE_CHANGED', actorId: ids.ann, userIds: [ids.cid], role: 'OWNER' },
          },
        ]);

        // Joining time first: the admin who joined earlier, though their ID is higher; an earlier MEMBER does not count.
        const early = await newGroup(users.ann, [ids.bob, ids.dan, ids.eve]);
        await setRole(early, ids.bob, 'ADMIN', users.ann);
        await setRole(early, ids.eve, 'ADMIN', users.ann);
        await joined(early, ids.dan, 1);
        await joined(early, ids.eve, 2);
        await joined(early, ids.bob, 3);
        await kit.ok(LEAVE, { c: early }, users.ann);
        assert.deepEqual(await roleIn(early), { [ids.bob]: 'ADMIN', [ids.dan]: 'MEMBER', [ids.eve]: 'OWNER' });

        // No admin: the longest-standing member.
        const members = await newGroup(users.ann, [ids.bob, ids.eve]);
        await joined(members, ids.eve, 1);
        await joined(members, ids.bob, 2);
        await kit.ok(LEAVE, { c: members }, users.ann);
        assert.deepEqual(await roleIn(members), { [ids.bob]: 'MEMBER', [ids.eve]: 'OWNER' });

        // The last member leaves an empty chat.
        const alone = await newGroup(users.ann, []);
        assert.deepEqual(await kit.ok(LEAVE, { c: alone }, users.ann), { leaveChat: alone });
        assert.equal(await runtime.db.prisma.chatMember.count({ where: { chatId: BigInt(alone) } }), 0);
        assert.equal(await runtime.db.prisma.chat.count({ where: { id: BigInt(alone) } }), 1);
        assert.equal((await lastSystemRow(alone))?.text, 'ANN left');
      });

      it('refuses a non-member, an unknown chat, a direct chat and a bad ID, changing nothing', async () => {
        const chatId = await newGroup(users.ann, [ids.bob]);
        const direct = await createDirect(ids.bob, users.ann);
        await refused(chatId, () => kit.run(LEAVE, { c: chatId }, users.eve), 'NOT_FOUND');
        await refused(chatId, () => kit.run(LEAVE, { c: '424242' }, users.ann), 'NOT_FOUND');
        await refused(chatId, () => kit.run(LEAVE, { c: 'x' }, users.ann), 'BAD_USER_INPUT');
        await refused(direct.id, () => kit.run(LEAVE, { c: direct.id }, users.ann), 'BAD_USER_INPUT', 'NOT_A_GROUP');
        await refused(chatId, () => kit.run(LEAVE, { c: chatId }), 'UNAUTHENTICATED');
      });
    });

    describe('Chat.memberCount and Chat.viewerRole', () => {
      it('reads them for a page of chats in one query each', async (t) => {
        const gus = await seedMember('gus', '107');
        const owned = await newGroup(gus, [ids.bob, ids.cid]);
        const admin = await newGroup(users.ann, [gus.id, ids.bob, ids.cid, ids.dan]);
        await setRole(admin, gus.id, 'ADMIN', users.ann);
        const member = await newGroup(users.bob, [gus.id]);
        const direct = await createDirect(ids.eve, gus);

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
        const page = await kit.ok<{
          chats: { edges: { node: { id: string; memberCount: number; viewerRole: string } }[] };
        }>('query { chats(first: 10) { edges { node { id memberCount viewerRole } } } }', {}, gus);
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
        const chatId = await newGroup(users.ann, [ids.bob, ids.cid]);
        const inbox = Object.fromEntries(
          await Promise.all(
            ([ids.ann, ids.bob, ids.cid, ids.dan] as const).map(
              async (id) => [id, await listen(Topics.userEvents(id))] as const,
            ),
          ),
        );
        const outbox = await listen(Topics.outbox);
        const membersChanged = await listen(Topics.membersChanged);
        const eventsOf = (id: string) => plain(inbox[id]?.received);
        try {
          await add(chatId, [ids.dan], users.ann);
          const added = {
            type: 'MembershipChanged',
            chatId,
            action: 'MEMBERS_ADDED',
            actorId: ids.ann,
            userIds: [ids.dan],
            role: null,
          };
          for (const id of [ids.ann, ids.bob, ids.cid, ids.dan]) assert.deepEqual(eventsOf(id), [added], id);
          assert.deepEqual(plain(outbox.received), [{}]);
          assert.deepEqual(plain(membersChanged.received), [{ chatId }]);

          await kit.ok(REMOVE, { c: chatId, u: ids.cid }, users.ann);
          const removed = {
            type: 'MembershipChanged',
            chatId,
            action: 'MEMBER_REMOVED',
            actorId: ids.ann,
            userIds: [ids.cid],
            role: null,
          };
          assert.deepEqual(eventsOf(ids.cid), [added, removed], 'the removed member is told too');

          await kit.ok(RENAME, { c: chatId, t: 'New name' }, users.ann);
          const renamed = { type: 'ChatRenamed', chatId, actorId: ids.ann, title: 'New name' };
          assert.deepEqual(eventsOf(ids.bob), [added, removed, renamed]);
          assert.deepEqual(eventsOf(ids.cid), [added, removed], 'a former member is not');
          assert.equal(membersChanged.received.length, 2, 'a rename changes no membership');

          await setRole(chatId, ids.dan, 'ADMIN', users.ann);
          await kit.ok(LEAVE, { c: chatId }, users.ann);
          const left = {
            type: 'MembershipChanged',
            chatId,
            action: 'MEMBER_LEFT',
            actorId: ids.ann,
            userIds: [ids.ann],
            role: null,
          };
          const handedOver = {
            type: 'MembershipChanged',
            chatId,
            action: 'ROLE_CHANGED',
            actorId: ids.ann,
            userIds: [ids.dan],
            role: 'OWNER',
          };
          assert.deepEqual((eventsOf(ids.ann) as unknown[]).slice(-2), [left, handedOver], 'the leaver is told too');
          assert.deepEqual((eventsOf(ids.bob) as unknown[]).slice(-2), [left, handedOver]);
          assert.equal(outbox.received.length, 5);

          // Refusals and changes of nothing announce nothing.
          const before = (eventsOf(ids.bob) as unknown[]).length;
          assert.equal(codeOf(await kit.run(ADD, { c: chatId, u: [ids.eve] }, users.bob)), 'FORBIDDEN');
          await add(chatId, [ids.bob], users.dan);
          assert.equal((eventsOf(ids.bob) as unknown[]).length, before);
          assert.equal(outbox.received.length, 5);
        } finally {
          for (const listener of [...Object.values(inbox), outbox, membersChanged]) listener.stop();
        }
      });

      it('wakes the relay when a group is created', async () => {
        const outbox = await listen(Topics.outbox);
        try {
          await newGroup(users.ann, [ids.bob]);
          assert.deepEqual(plain(outbox.received), [{}]);
        } finally {
          outbox.stop();
        }
      });
    });
  });
});
