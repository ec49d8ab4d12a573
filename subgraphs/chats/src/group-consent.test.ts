/**
 * Consent to groups (docs/GROUPS.md#consent), in-process: who is added at
 * once and who is only invited (groupAddPolicy, connections, blocks), what
 * an invitee is not (a member anywhere), and the answers: accept, decline,
 * the wait before a re-invitation, lapsing, the member limit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Topics, type Runtime } from '@chat/common';
import { codeOf, createSubgraphTestkit, plain, type SubgraphTestkit, type TestUser } from '@chat/common/testing';
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
  let kit: SubgraphTestkit<ReturnType<typeof createChatsSubgraph>>;
  /** The kit's runtime: tests read and arrange the database directly. */
  let runtime: Runtime;
  /** ann invites; con is her connection; str a stranger; all three policies, and blocks both ways. */
  const ids = {
    ann: '301',
    con: '302',
    str: '303',
    open: '304',
    shut: '305',
    foe: '306',
    hater: '307',
    other: '308',
  } as const;
  type Name = keyof typeof ids;
  let users: Record<Name, TestUser>;

  /** The one root field of an operation that must succeed. */
  const field = async <T>(query: string, variables: Record<string, unknown>, as: TestUser): Promise<T> =>
    Object.values(await kit.ok<Record<string, unknown>>(query, variables, as))[0] as T;
  /** What these refusals differ by: the code, reason and user IDs of the one error. */
  const refusal = async (query: string, variables: Record<string, unknown>, as: TestUser) => {
    const { extensions } = await kit.refusal(query, variables, as);
    return { code: extensions.code, reason: extensions.reason, userIds: extensions.userIds };
  };
  const memberIds = (chat: ChatData) => chat.members.map((member) => member.user.id).sort();
  const invitationsOf = async (as: TestUser) =>
    (await field<{ edges: { node: Invitation }[] }>(INVITATIONS, {}, as)).edges.map((edge) => edge.node);
  const pendingCount = (chatId: string) =>
    runtime.db.prisma.groupInvitation.count({ where: { chatId: BigInt(chatId), declinedAt: null } });
  const group = (title: string, members: string[], as: TestUser = users.ann) =>
    field<ChatData>(CREATE, { i: { title, memberIds: members } }, as);

  /** Collects what is published on `topic` (the in-process bus delivers synchronously). */
  const listen = async (topic: string) => {
    const received: unknown[] = [];
    const id = await runtime.pubsub.subscribe(topic, (payload: unknown) => received.push(payload), {});
    return { received, stop: () => runtime.pubsub.unsubscribe(id) };
  };

  before(async () => {
    kit = await createSubgraphTestkit(createChatsSubgraph);
    runtime = kit.runtime;
    const policies: Partial<Record<Name, 'EVERYONE' | 'NOBODY'>> = {
      open: 'EVERYONE',
      shut: 'NOBODY',
      foe: 'EVERYONE',
      hater: 'EVERYONE',
    };
    users = {} as typeof users;
    for (const [name, id] of Object.entries(ids) as [Name, string][]) {
      const groupAddPolicy = policies[name];
      users[name] = await kit.seed.user(name, {
        id,
        displayName: name.toUpperCase(),
        ...(groupAddPolicy && { groupAddPolicy }),
      });
    }
    const ann = BigInt(ids.ann);
    // ann and con are connected (both rows, as the users subgraph writes them); so are ann and shut.
    for (const other of [BigInt(ids.con), BigInt(ids.shut)]) {
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
        { blockerId: ann, blockedId: BigInt(ids.foe) },
        { blockerId: BigInt(ids.hater), blockedId: ann },
      ],
    });
  });
  after(() => kit.close());

  it('adds connections and EVERYONE users at once, and only invites strangers and NOBODY users', async () => {
    const chat = await group('Trip', [ids.con, ids.str, ids.open, ids.shut]);
    assert.deepEqual(memberIds(chat), [ids.ann, ids.con, ids.open].sort());
    assert.equal(chat.memberCount, 3, 'invitees are not counted');
    assert.deepEqual(
      (await invitationsOf(users.str)).map((invitation) => [
        invitation.chatId,
        invitation.title,
        invitation.inviter.id,
      ]),
      [[chat.id, 'Trip', ids.ann]],
    );
    assert.equal((await invitationsOf(users.shut)).length, 1, 'NOBODY: an invitation even from a connection');
    assert.deepEqual(await invitationsOf(users.con), []);

    // An invitee is no member: not in their chats, not allowed to read it.
    assert.deepEqual(await field(CHATS, {}, users.str), { edges: [] });
    assert.equal(
      (await refusal(READ, { id: chat.id }, users.str)).code,
      'NOT_FOUND',
      'as for a chat that does not exist',
    );
    assert.equal(
      await runtime.db.prisma.chatMember.count({ where: { chatId: BigInt(chat.id), userId: BigInt(ids.str) } }),
      0,
    );
  });

  it('sends GroupInvitationReceived to the invitee only, and MembershipChanged only for those added', async () => {
    const chat = await group('Events', [ids.con]);
    const [str, con, ann] = await Promise.all([
      listen(Topics.userEvents(ids.str)),
      listen(Topics.userEvents(ids.con)),
      listen(Topics.userEvents(ids.ann)),
    ]);
    try {
      await field(ADD, { c: chat.id, u: [ids.str] }, users.ann);
      assert.deepEqual(plain(str.received), [{ type: 'GroupInvitationReceived', chatId: chat.id, inviterId: ids.ann }]);
      assert.deepEqual([con.received, ann.received], [[], []], 'members hear nothing of an invitation');

      const joined = await field<ChatData & { viewerRole: string }>(ACCEPT, { c: chat.id }, users.str);
      assert.equal(joined.viewerRole, 'MEMBER');
      const added = {
        type: 'MembershipChanged',
        chatId: chat.id,
        action: 'MEMBERS_ADDED',
        actorId: ids.ann,
        userIds: [ids.str],
        role: null,
      };
      for (const inbox of [str, con, ann]) assert.deepEqual((plain(inbox.received) as unknown[]).slice(-1), [added]);
    } finally {
      for (const inbox of [str, con, ann]) inbox.stop();
    }
  });

  it('shows an invitation to its invitee only, as an entity too', async () => {
    const chat = await group('Entity', [ids.str]);
    const query =
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on GroupInvitation { chatId title inviter { id } } } }';
    const representations = { r: [{ __typename: 'GroupInvitation', chatId: chat.id }] };
    assert.deepEqual(await field(query, representations, users.str), [
      { chatId: chat.id, title: 'Entity', inviter: { id: ids.ann } },
    ]);
    assert.deepEqual(await field(query, representations, users.other), [null]);
  });

  it('refuses blocked users both ways, inviting nobody, and says NOT_FOUND to whom they blocked', async () => {
    const blockedByThem = await refusal(CREATE, { i: { title: 'No', memberIds: [ids.hater, ids.str] } }, users.ann);
    assert.deepEqual(blockedByThem, { code: 'NOT_FOUND', reason: undefined, userIds: [ids.hater] });
    const unknown = await refusal(CREATE, { i: { title: 'No', memberIds: ['999999'] } }, users.ann);
    assert.deepEqual(
      unknown,
      { code: 'NOT_FOUND', reason: undefined, userIds: ['999999'] },
      'the same answer as for no such user',
    );
    const blockedByMe = await refusal(CREATE, { i: { title: 'No', memberIds: [ids.foe, ids.str] } }, users.ann);
    assert.deepEqual(blockedByMe, { code: 'BAD_USER_INPUT', reason: 'BLOCKED', userIds: [ids.foe] });
    assert.equal(await runtime.db.prisma.chat.count({ where: { title: 'No' } }), 0, 'nothing created');

    // The blocked can neither add nor invite the blocker into someone else's group either.
    const chat = await group('Mixed', [ids.open, ids.hater], users.other);
    await field(
      `mutation ($c: ID!, $u: ID!) { setChatMemberRole(chatId: $c, userId: $u, role: ADMIN) { id } }`,
      { c: chat.id, u: ids.open },
      users.other,
    );
    assert.equal(codeOf(await kit.run(ADD, { c: chat.id, u: [ids.ann] }, users.other)), undefined, 'other may add ann');
    const strFoe = await group('Foe', [ids.foe, ids.con], users.other);
    await field(
      `mutation ($c: ID!, $u: ID!) { setChatMemberRole(chatId: $c, userId: $u, role: ADMIN) { id } }`,
      { c: strFoe.id, u: ids.foe },
      users.other,
    );
    const byFoe = await refusal(ADD, { c: strFoe.id, u: [ids.ann] }, users.foe);
    assert.deepEqual(
      byFoe,
      { code: 'NOT_FOUND', reason: undefined, userIds: [ids.ann] },
      'ann blocked foe: foe cannot add or invite her',
    );
    assert.equal(
      await runtime.db.prisma.groupInvitation.count({
        where: { chatId: BigInt(strFoe.id), userId: BigInt(ids.ann) },
      }),
      0,
    );
  });

  it('accepts once; declines, then a re-invitation waits REINVITE_WAIT_MS', async () => {
    const chat = await group('Answers', [ids.str, ids.shut]);
    const joined = await field<ChatData>(ACCEPT, { c: chat.id }, users.str);
    assert.deepEqual(memberIds(joined), [ids.ann, ids.str].sort());
    assert.deepEqual(await refusal(ACCEPT, { c: chat.id }, users.str), {
      code: 'NOT_FOUND',
      reason: undefined,
      userIds: undefined,
    });
    assert.equal((await refusal(ACCEPT, { c: chat.id }, users.other)).code, 'NOT_FOUND', 'no invitation, no entry');

    assert.equal(await field(DECLINE, { c: chat.id }, users.shut), chat.id);
    assert.equal((await refusal(DECLINE, { c: chat.id }, users.shut)).code, 'NOT_FOUND');
    assert.equal(
      (await refusal(ACCEPT, { c: chat.id }, users.shut)).code,
      'NOT_FOUND',
      'a declined invitation cannot be accepted',
    );
    const invitedTo = async (name: TestUser) =>
      (await invitationsOf(name)).filter((invitation) => invitation.chatId === chat.id);
    await field(ADD, { c: chat.id, u: [ids.shut] }, users.ann);
    assert.deepEqual(await invitedTo(users.shut), [], 'not invited again so soon');
    await runtime.db.prisma.groupInvitation.updateMany({
      where: { chatId: BigInt(chat.id), userId: BigInt(ids.shut) },
      data: { declinedAt: new Date(Date.now() - REINVITE_WAIT_MS - 1000) },
    });
    await field(ADD, { c: chat.id, u: [ids.shut] }, users.ann);
    assert.equal((await invitedTo(users.shut)).length, 1, 'invited again after the wait');
  });

  it('lets an invitation lapse after INVITATION_TTL_MS', async () => {
    const chat = await group('Lapse', [ids.str]);
    await runtime.db.prisma.groupInvitation.updateMany({
      where: { chatId: BigInt(chat.id) },
      data: { createdAt: new Date(Date.now() - INVITATION_TTL_MS - 1000) },
    });
    assert.ok(!(await invitationsOf(users.str)).some((invitation) => invitation.chatId === chat.id));
    assert.equal((await refusal(ACCEPT, { c: chat.id }, users.str)).code, 'NOT_FOUND');
    await field(ADD, { c: chat.id, u: [ids.str] }, users.ann);
    const [fresh] = (await invitationsOf(users.str)).filter((invitation) => invitation.chatId === chat.id);
    assert.ok(fresh, 'a lapsed invitation may be sent again');
    assert.equal(new Date(fresh.expiresAt).getTime() - new Date(fresh.invitedAt).getTime(), INVITATION_TTL_MS);
  });

  it('pages the invitations, newest first', async () => {
    const created = [];
    for (const title of ['P1', 'P2', 'P3']) created.push((await group(title, [ids.other], users.ann)).id);
    const first = await field<{ edges: { node: Invitation }[]; pageInfo: { hasNextPage: boolean; endCursor: string } }>(
      INVITATIONS,
      {},
      users.other,
    );
    assert.deepEqual(
      first.edges.map((edge) => edge.node.title),
      ['P3', 'P2'],
    );
    assert.equal(first.pageInfo.hasNextPage, true);
    const next = await field<{ edges: { node: Invitation }[] }>(
      INVITATIONS,
      { after: first.pageInfo.endCursor },
      users.other,
    );
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
    const chat = await group('Full', [...crowd, ids.str]);
    assert.equal(chat.memberCount, 255);
    const full = await refusal(ADD, { c: chat.id, u: [ids.shut] }, users.ann);
    assert.deepEqual(
      [full.code, full.reason],
      ['BAD_USER_INPUT', 'GROUP_FULL'],
      '255 members and one invitation: full',
    );
    assert.equal(await pendingCount(chat.id), 1);
    // Accepting fills the last place, within the limit.
    assert.equal((await field<ChatData>(ACCEPT, { c: chat.id }, users.str)).memberCount, 256);
  });
});
