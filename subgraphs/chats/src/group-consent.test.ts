/**
 * Consent to groups (docs/GROUPS.md#consent), in-process: who is added at
 * once and who is only invited (groupAddPolicy, connections, blocks), what
 * an invitee is not (a member anywhere), and the answers: accept, decline,
 * the wait before a re-invitation, lapsing, the member limit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { executeSubgraph, Topics, type Runtime } from '@chat/common';
import { createMemoryRuntime, openTestSession, plain, viewerOf } from '@chat/common/testing';
import { createChatsSubgraph } from './index.ts';
import { INVITATION_TTL_MS, REINVITE_WAIT_MS } from './services/group-admission.ts';

const CHAT = 'id memberCount members { user { id } }';
const CREATE = `mutation ($i: CreateGroupChatInput!) { createGroupChat(input: $i) { ${CHAT} } }`;
const ADD = `mutation ($c: ID!, $u: [ID!]!) { addChatMembers(chatId: $c, userIds: $u) { ${CHAT} } }`;
const ACCEPT = `mutation ($c: ID!) { acceptGroupInvitation(chatId: $c) { ${CHAT} viewerRole } }`;
const DECLINE = 'mutation ($c: ID!) { declineGroupInvitation(chatId: $c) }';
const INVITATIONS =
  'query ($after: String) { groupInvitations(first: 2, after: $after) { edges { node { chatId title inviter { id } invitedAt expiresAt } } pageInfo { hasNextPage endCursor } } }';
const CHATS = 'query { chats(first: 100) { edges { node { id } } } }';
const READ = `query ($id: ID!) { chat(id: $id) { ${CHAT} } }`;

interface ChatData {
  id: string;
  memberCount: number;
  members: { user: { id: string } }[];
}

interface Invitation {
  chatId: string;
  title: string;
  inviter: { id: string };
  invitedAt: string;
  expiresAt: string;
}

describe('group consent (in-process)', () => {
  let runtime: Runtime;
  let subgraph: ReturnType<typeof createChatsSubgraph>;
  const auth: Record<string, string> = {};
  /** ann invites; con is her connection; str a stranger; all three policies, and blocks both ways. */
  const users = {
    ann: '301',
    con: '302',
    str: '303',
    open: '304',
    shut: '305',
    foe: '306',
    hater: '307',
    other: '308',
  } as const;
  type Name = keyof typeof users;

  const run = async (query: string, variables: Record<string, unknown>, as: Name) =>
    executeSubgraph(subgraph, { query, variables, viewer: await viewerOf(runtime, auth[as]) });
  const ok = async <T>(query: string, variables: Record<string, unknown>, as: Name): Promise<T> => {
    const result = await run(query, variables, as);
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    return Object.values(plain(result.data) as Record<string, unknown>)[0] as T;
  };
  const errorOf = async (query: string, variables: Record<string, unknown>, as: Name) => {
    const [error] = (await run(query, variables, as)).errors ?? [];
    return { code: error?.extensions.code, reason: error?.extensions.reason, userIds: error?.extensions.userIds };
  };
  const memberIds = (chat: ChatData) => chat.members.map((member) => member.user.id).sort();
  const invitationsOf = async (as: Name) =>
    (await ok<{ edges: { node: Invitation }[] }>(INVITATIONS, {}, as)).edges.map((edge) => edge.node);
  const pendingCount = (chatId: string) =>
    runtime.db.prisma.groupInvitation.count({ where: { chatId: BigInt(chatId), declinedAt: null } });
  const group = (title: string, members: string[], as: Name = 'ann') =>
    ok<ChatData>(CREATE, { i: { title, memberIds: members } }, as);

  /** Collects what is published on `topic` (the in-process bus delivers synchronously). */
  const listen = async (topic: string) => {
    const received: unknown[] = [];
    const id = await runtime.pubsub.subscribe(topic, (payload: unknown) => received.push(payload), {});
    return { received, stop: () => runtime.pubsub.unsubscribe(id) };
  };

  before(async () => {
    runtime = await createMemoryRuntime();
    subgraph = createChatsSubgraph(runtime);
    const policies: Partial<Record<Name, 'EVERYONE' | 'NOBODY'>> = {
      open: 'EVERYONE',
      shut: 'NOBODY',
      foe: 'EVERYONE',
      hater: 'EVERYONE',
    };
    for (const [name, id] of Object.entries(users) as [Name, string][]) {
      await runtime.db.prisma.user.create({
        data: {
          id: BigInt(id),
          username: name,
          displayName: name.toUpperCase(),
          passwordHash: 'x',
          ...(policies[name] && { groupAddPolicy: policies[name] }),
        },
      });
      auth[name] = await openTestSession(runtime, { id, username: name });
    }
    const ann = BigInt(users.ann);
    // ann and con are connected (both rows, as the users subgraph writes them); so are ann and shut.
    for (const other of [BigInt(users.con), BigInt(users.shut)]) {
      await runtime.db.prisma.connection.createMany({
        data: [
          { userId: ann, otherId: other, state: 'CONNECTED' },
          { userId: other, otherId: ann, state: 'CONNECTED' },
        ],
      });
    }
    // ann blocked foe; hater blocked ann. Both would let anyone else add them.
    await runtime.db.prisma.block.createMany({
      data: [
        { blockerId: ann, blockedId: BigInt(users.foe) },
        { blockerId: BigInt(users.hater), blockedId: ann },
      ],
    });
  });
  after(() => runtime.close());

  it('adds connections and EVERYONE users at once, and only invites strangers and NOBODY users', async () => {
    const chat = await group('Trip', [users.con, users.str, users.open, users.shut]);
    assert.deepEqual(memberIds(chat), [users.ann, users.con, users.open].sort());
    assert.equal(chat.memberCount, 3, 'invitees are not counted');
    assert.deepEqual(
      (await invitationsOf('str')).map((invitation) => [invitation.chatId, invitation.title, invitation.inviter.id]),
      [[chat.id, 'Trip', users.ann]],
    );
    assert.equal((await invitationsOf('shut')).length, 1, 'NOBODY: an invitation even from a connection');
    assert.deepEqual(await invitationsOf('con'), []);

    // An invitee is no member: not in their chats, not allowed to read it.
    assert.deepEqual(await ok(CHATS, {}, 'str'), { edges: [] });
    assert.equal((await errorOf(READ, { id: chat.id }, 'str')).code, 'NOT_FOUND', 'as for a chat that does not exist');
    assert.equal(
      await runtime.db.prisma.chatMember.count({ where: { chatId: BigInt(chat.id), userId: BigInt(users.str) } }),
      0,
    );
  });

  it('sends GroupInvitationReceived to the invitee only, and MembershipChanged only for those added', async () => {
    const chat = await group('Events', [users.con]);
    const [str, con, ann] = await Promise.all([
      listen(Topics.userEvents(users.str)),
      listen(Topics.userEvents(users.con)),
      listen(Topics.userEvents(users.ann)),
    ]);
    try {
      await ok(ADD, { c: chat.id, u: [users.str] }, 'ann');
      assert.deepEqual(plain(str.received), [
        { type: 'GroupInvitationReceived', chatId: chat.id, inviterId: users.ann },
      ]);
      assert.deepEqual([con.received, ann.received], [[], []], 'members hear nothing of an invitation');

      const joined = await ok<ChatData & { viewerRole: string }>(ACCEPT, { c: chat.id }, 'str');
      assert.equal(joined.viewerRole, 'MEMBER');
      const added = {
        type: 'MembershipChanged',
        chatId: chat.id,
        action: 'MEMBERS_ADDED',
        actorId: users.ann,
        userIds: [users.str],
        role: null,
      };
      for (const inbox of [str, con, ann]) assert.deepEqual((plain(inbox.received) as unknown[]).slice(-1), [added]);
    } finally {
      for (const inbox of [str, con, ann]) inbox.stop();
    }
  });

  it('shows an invitation to its invitee only, as an entity too', async () => {
    const chat = await group('Entity', [users.str]);
    const query =
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on GroupInvitation { chatId title inviter { id } } } }';
    const representations = { r: [{ __typename: 'GroupInvitation', chatId: chat.id }] };
    assert.deepEqual(await ok(query, representations, 'str'), [
      { chatId: chat.id, title: 'Entity', inviter: { id: users.ann } },
    ]);
    assert.deepEqual(await ok(query, representations, 'other'), [null]);
  });

  it('refuses blocked users both ways, inviting nobody, and says NOT_FOUND to whom they blocked', async () => {
    const blockedByThem = await errorOf(CREATE, { i: { title: 'No', memberIds: [users.hater, users.str] } }, 'ann');
    assert.deepEqual(blockedByThem, { code: 'NOT_FOUND', reason: undefined, userIds: [users.hater] });
    const unknown = await errorOf(CREATE, { i: { title: 'No', memberIds: ['999999'] } }, 'ann');
    assert.deepEqual(
      unknown,
      { code: 'NOT_FOUND', reason: undefined, userIds: ['999999'] },
      'the same answer as for no such user',
    );
    const blockedByMe = await errorOf(CREATE, { i: { title: 'No', memberIds: [users.foe, users.str] } }, 'ann');
    assert.deepEqual(blockedByMe, { code: 'BAD_USER_INPUT', reason: 'BLOCKED', userIds: [users.foe] });
    assert.equal(await runtime.db.prisma.chat.count({ where: { title: 'No' } }), 0, 'nothing created');

    // The blocked can neither add nor invite the blocker into someone else's group either.
    const chat = await group('Mixed', [users.open, users.hater], 'other');
    await ok(
      `mutation ($c: ID!, $u: ID!) { setChatMemberRole(chatId: $c, userId: $u, role: ADMIN) { id } }`,
      { c: chat.id, u: users.open },
      'other',
    );
    assert.equal((await errorOf(ADD, { c: chat.id, u: [users.ann] }, 'other')).code, undefined, 'other may add ann');
    const strFoe = await group('Foe', [users.foe, users.con], 'other');
    await ok(
      `mutation ($c: ID!, $u: ID!) { setChatMemberRole(chatId: $c, userId: $u, role: ADMIN) { id } }`,
      { c: strFoe.id, u: users.foe },
      'other',
    );
    const byFoe = await errorOf(ADD, { c: strFoe.id, u: [users.ann] }, 'foe');
    assert.deepEqual(
      byFoe,
      { code: 'NOT_FOUND', reason: undefined, userIds: [users.ann] },
      'ann blocked foe: foe cannot add or invite her',
    );
    assert.equal(
      await runtime.db.prisma.groupInvitation.count({
        where: { chatId: BigInt(strFoe.id), userId: BigInt(users.ann) },
      }),
      0,
    );
  });

  it('accepts once; declines, then a re-invitation waits REINVITE_WAIT_MS', async () => {
    const chat = await group('Answers', [users.str, users.shut]);
    const joined = await ok<ChatData>(ACCEPT, { c: chat.id }, 'str');
    assert.deepEqual(memberIds(joined), [users.ann, users.str].sort());
    assert.deepEqual(await errorOf(ACCEPT, { c: chat.id }, 'str'), {
      code: 'NOT_FOUND',
      reason: undefined,
      userIds: undefined,
    });
    assert.equal((await errorOf(ACCEPT, { c: chat.id }, 'other')).code, 'NOT_FOUND', 'no invitation, no entry');

    assert.equal(await ok(DECLINE, { c: chat.id }, 'shut'), chat.id);
    assert.equal((await errorOf(DECLINE, { c: chat.id }, 'shut')).code, 'NOT_FOUND');
    assert.equal(
      (await errorOf(ACCEPT, { c: chat.id }, 'shut')).code,
      'NOT_FOUND',
      'a declined invitation cannot be accepted',
    );
    const invitedTo = async (name: Name) =>
      (await invitationsOf(name)).filter((invitation) => invitation.chatId === chat.id);
    await ok(ADD, { c: chat.id, u: [users.shut] }, 'ann');
    assert.deepEqual(await invitedTo('shut'), [], 'not invited again so soon');
    await runtime.db.prisma.groupInvitation.updateMany({
      where: { chatId: BigInt(chat.id), userId: BigInt(users.shut) },
      data: { declinedAt: new Date(Date.now() - REINVITE_WAIT_MS - 1000) },
    });
    await ok(ADD, { c: chat.id, u: [users.shut] }, 'ann');
    assert.equal((await invitedTo('shut')).length, 1, 'invited again after the wait');
  });

  it('lets an invitation lapse after INVITATION_TTL_MS', async () => {
    const chat = await group('Lapse', [users.str]);
    await runtime.db.prisma.groupInvitation.updateMany({
      where: { chatId: BigInt(chat.id) },
      data: { createdAt: new Date(Date.now() - INVITATION_TTL_MS - 1000) },
    });
    assert.ok(!(await invitationsOf('str')).some((invitation) => invitation.chatId === chat.id));
    assert.equal((await errorOf(ACCEPT, { c: chat.id }, 'str')).code, 'NOT_FOUND');
    await ok(ADD, { c: chat.id, u: [users.str] }, 'ann');
    const [fresh] = (await invitationsOf('str')).filter((invitation) => invitation.chatId === chat.id);
    assert.ok(fresh, 'a lapsed invitation may be sent again');
    assert.equal(new Date(fresh.expiresAt).getTime() - new Date(fresh.invitedAt).getTime(), INVITATION_TTL_MS);
  });

  it('pages the invitations, newest first', async () => {
    const created = [];
    for (const title of ['P1', 'P2', 'P3']) created.push((await group(title, [users.other], 'ann')).id);
    const first = await ok<{ edges: { node: Invitation }[]; pageInfo: { hasNextPage: boolean; endCursor: string } }>(
      INVITATIONS,
      {},
      'other',
    );
    assert.deepEqual(
      first.edges.map((edge) => edge.node.title),
      ['P3', 'P2'],
    );
    assert.equal(first.pageInfo.hasNextPage, true);
    const next = await ok<{ edges: { node: Invitation }[] }>(INVITATIONS, { after: first.pageInfo.endCursor }, 'other');
    assert.deepEqual(next.edges.map((edge) => edge.node.title).slice(0, 1), ['P1']);
  });

  it('counts pending invitations against the member limit', async () => {
    const crowd = Array.from({ length: 254 }, (_, i) => String(40_000 + i));
    await runtime.db.prisma.user.createMany({
      data: crowd.map((id) => ({
        id: BigInt(id),
        username: `c${id}`,
        displayName: `C${id}`,
        passwordHash: 'x',
        groupAddPolicy: 'EVERYONE' as const,
      })),
    });
    const chat = await group('Full', [...crowd, users.str]);
    assert.equal(chat.memberCount, 255);
    const full = await errorOf(ADD, { c: chat.id, u: [users.shut] }, 'ann');
    assert.deepEqual(
      [full.code, full.reason],
      ['BAD_USER_INPUT', 'GROUP_FULL'],
      '255 members and one invitation: full',
    );
    assert.equal(await pendingCount(chat.id), 1);
    // Accepting fills the last place, within the limit.
    assert.equal((await ok<ChatData>(ACCEPT, { c: chat.id }, 'str')).memberCount, 256);
  });
});
