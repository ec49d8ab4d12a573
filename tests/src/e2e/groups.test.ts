/**
 * Group chats end to end, through the real gateway over HTTP and WebSocket:
 * roles (OWNER, ADMIN, MEMBER), the member limit, the SYSTEM messages each
 * change leaves in history, and the `chatEvents` that announce it to every
 * member and every device. Run on the embedded default and on the
 * distributed topology (Postgres + Redis, no backplane).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, gql, gqlOk, Subscription, wsClient, type GraphQLResponse } from '../kit/client.ts';
import { warmUp } from '../kit/readiness.ts';
import { connectAll, directChat, openToGroups, registerUser, sendText, type TestUser } from '../kit/seed.ts';
import { startDistributed, startEmbedded } from '../kit/topology.ts';
import { eventually } from './chat-flow.ts';

/** The member limit of a group, its owner included (MAX_GROUP_MEMBERS of the chats subgraph). */
const MAX_GROUP_MEMBERS = 256;

interface Topology {
  /** Where clients send mutations and queries. */
  url: string;
  /** Another gateway process in the distributed topology. */
  otherUrl: string;
  stop(): Promise<void>;
}

const CHAT = 'id title memberCount viewerRole members { user { id } role }';
const CREATE = `mutation ($input: CreateGroupChatInput!) { createGroupChat(input: $input) { ${CHAT} } }`;
const ADD = `mutation ($c: ID!, $u: [ID!]!) { addChatMembers(chatId: $c, userIds: $u) { ${CHAT} } }`;
const REMOVE = `mutation ($c: ID!, $u: ID!) { removeChatMember(chatId: $c, userId: $u) { ${CHAT} } }`;
const LEAVE = 'mutation ($c: ID!) { leaveChat(chatId: $c) }';
const SET_ROLE = `mutation ($c: ID!, $u: ID!, $r: ChatRole!) { setChatMemberRole(chatId: $c, userId: $u, role: $r) { ${CHAT} } }`;
const RENAME = `mutation ($c: ID!, $t: String!) { renameChat(chatId: $c, title: $t) { ${CHAT} } }`;
const READ = `query ($id: ID!) { chat(id: $id) { ${CHAT} } }`;
const HISTORY = `query ($c: ID!) {
  messages(chatId: $c, first: 100) {
    edges { node { kind text sender { id } systemEvent { action actor { id } users { id } role title } } }
  }
}`;
const CHAT_EVENTS = `subscription ($c: ID) {
  chatEvents(chatId: $c) {
    __typename
    ... on MessageAdded { message { text } }
    ... on MembershipChanged { chat { id } action actor { id } users { id } role }
    ... on ChatRenamed { chat { id } title actor { id } }
  }
}`;

interface ChatData {
  id: string;
  title: string | null;
  memberCount: number;
  viewerRole: string;
  members: { user: { id: string }; role: string }[];
}

interface SystemEvent {
  action: string;
  actor: { id: string };
  users: { id: string }[];
  role: string | null;
  title: string | null;
}

interface HistoryNode {
  kind: string;
  text: string;
  sender: { id: string };
  systemEvent: SystemEvent | null;
}

/** A chatEvents event, as selected by CHAT_EVENTS. */
type ChatEvent = Record<string, unknown> & { __typename: string };

const rolesOf = (chat: ChatData) => Object.fromEntries(chat.members.map((member) => [member.user.id, member.role]));
const reasonOf = (result: GraphQLResponse) => result.errors?.[0]?.extensions?.reason;

/**
 * Registers `count` users, `batch` at a time (each registration hashes a
 * password), spread over `urls` (gateways that may hash in different
 * processes), each open to being added to groups by anyone.
 */
async function registerMany(urls: readonly string[], count: number, batch = 32): Promise<TestUser[]> {
  const users: TestUser[] = [];
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start);
    const register = async (url: string) => {
      const user = await registerUser(url, 'crowd');
      await openToGroups(url, user);
      return user;
    };
    users.push(...(await Promise.all(Array.from({ length: size }, (_, i) => register(urls[i % urls.length] ?? '')))));
  }
  return users;
}

function groupsSuite(name: string, start: () => Promise<Topology>): void {
  describe(name, () => {
    let topology: Topology;
    let ann: TestUser;
    let bob: TestUser;
    let cid: TestUser;
    let dan: TestUser;
    let eve: TestUser;

    before(async () => {
      topology = await start();
      [ann, bob, cid, dan, eve] = await Promise.all([
        registerUser(topology.url, 'ann'),
        registerUser(topology.url, 'bob'),
        registerUser(topology.url, 'cid'),
        registerUser(topology.url, 'dan'),
        registerUser(topology.url, 'eve'),
      ]);
      // Connected with Ann, who adds them to her groups at once (strangers would only be invited: group-consent.test.ts).
      await connectAll(topology.url, ann, [bob, cid, dan, eve]);
    });
    after(() => topology?.stop());

    const mutate = (query: string, variables: Record<string, unknown>, user: TestUser) =>
      gql<Record<string, ChatData>>(topology.url, query, variables, user.token);
    const ok = async (query: string, variables: Record<string, unknown>, user: TestUser): Promise<ChatData> => {
      const data = await gqlOk<Record<string, ChatData>>(topology.url, query, variables, user.token);
      return Object.values(data)[0] as ChatData;
    };
    const createGroup = (owner: TestUser, title: string, members: TestUser[]) =>
      ok(CREATE, { input: { title, memberIds: members.map((member) => member.id) } }, owner);
    const read = (chatId: string, user: TestUser) => ok(READ, { id: chatId }, user);

    /** The chat's SYSTEM messages, oldest first, once there are `count` of them (the relay places them a moment later). */
    const systemHistory = async (chatId: string, user: TestUser, count: number): Promise<HistoryNode[]> => {
      const page = await eventually(
        () => gqlOk<{ messages: { edges: { node: HistoryNode }[] } }>(topology.url, HISTORY, { c: chatId }, user.token),
        (data) => data.messages.edges.filter((edge) => edge.node.kind === 'SYSTEM').length >= count,
      );
      return page.messages.edges
        .map((edge) => edge.node)
        .filter((node) => node.kind === 'SYSTEM')
        .reverse();
    };

    /** Opens a chatEvents subscription of `user` to `chatId` (one WebSocket: one device). */
    const subscribe = (url: string, user: TestUser, chatId: string) => {
      const client = wsClient(url, user.token);
      const subscription = new Subscription<{ chatEvents: ChatEvent }>(client, CHAT_EVENTS, { c: chatId });
      return { client, subscription };
    };
    /** Sends warm-up messages until every subscription has delivered one: proof that they are live. */
    const untilLive = async (
      subscriptions: Subscription<{ chatEvents: ChatEvent }>[],
      chatId: string,
      sender: TestUser,
    ) => {
      await warmUp(
        (n) => sendText(topology.url, sender, chatId, `warm-up ${n}`),
        (ms) => {
          const added = (e: GraphQLResponse<{ chatEvents: ChatEvent }>) =>
            e.data?.chatEvents.__typename === 'MessageAdded';
          return Promise.all(subscriptions.map((subscription) => subscription.waitForMatch(added, ms)));
        },
      );
    };

    it('runs a group through every change, with SYSTEM messages in history and chatEvents on every member’s devices', async () => {
      const created = await createGroup(ann, '  Trip  ', [bob]);
      const chatId = created.id;
      assert.equal(created.title, 'Trip');
      assert.equal(created.memberCount, 2);
      assert.equal(created.viewerRole, 'OWNER');

      // Another member, and a second device of the actor (the first device makes the changes over HTTP).
      const member = subscribe(topology.otherUrl, bob, chatId);
      const device = subscribe(topology.otherUrl, ann, chatId);
      const streams = [member.subscription, device.subscription];
      try {
        await untilLive(streams, chatId, ann);
        /** Waits until every stream has the event that `match` describes. */
        const everyoneGets = async (match: (event: ChatEvent) => boolean) => {
          for (const stream of streams) {
            const event = await stream.waitForMatch(
              (e) => e.data !== undefined && e.data !== null && match(e.data.chatEvents),
            );
            assert.equal(event.errors, undefined, JSON.stringify(event.errors));
          }
        };
        const membership =
          (action: string, actor: TestUser, users: TestUser[], role: string | null) => (event: ChatEvent) =>
            event.__typename === 'MembershipChanged' &&
            JSON.stringify(event) ===
              JSON.stringify({
                __typename: 'MembershipChanged',
                chat: { id: chatId },
                action,
                actor: { id: actor.id },
                users: users.map((u) => ({ id: u.id })),
                role,
              });

        const added = await ok(ADD, { c: chatId, u: [cid.id, dan.id, bob.id] }, ann);
        assert.equal(added.memberCount, 4);
        assert.deepEqual(rolesOf(added), {
          [ann.id]: 'OWNER',
          [bob.id]: 'MEMBER',
          [cid.id]: 'MEMBER',
          [dan.id]: 'MEMBER',
        });
        await everyoneGets(membership('MEMBERS_ADDED', ann, [cid, dan], null));

        const promoted = await ok(SET_ROLE, { c: chatId, u: bob.id, r: 'ADMIN' }, ann);
        assert.equal(rolesOf(promoted)[bob.id], 'ADMIN');
        await everyoneGets(membership('ROLE_CHANGED', ann, [bob], 'ADMIN'));

        const renamed = await ok(RENAME, { c: chatId, t: 'Trip 2026' }, bob);
        assert.equal(renamed.title, 'Trip 2026');
        assert.equal(renamed.viewerRole, 'ADMIN');
        await everyoneGets(
          (event) =>
            JSON.stringify(event) ===
            JSON.stringify({
              __typename: 'ChatRenamed',
              chat: { id: chatId },
              title: 'Trip 2026',
              actor: { id: bob.id },
            }),
        );

        const removed = await ok(REMOVE, { c: chatId, u: dan.id }, bob);
        assert.equal(removed.memberCount, 3);
        await everyoneGets(membership('MEMBER_REMOVED', bob, [dan], null));
        assert.equal(
          codeOf(await gql(topology.url, READ, { id: chatId }, dan.token)),
          'NOT_FOUND',
          'a removed member no longer sees the chat',
        );

        const demoted = await ok(SET_ROLE, { c: chatId, u: bob.id, r: 'MEMBER' }, ann);
        assert.equal(rolesOf(demoted)[bob.id], 'MEMBER');
        await everyoneGets(membership('ROLE_CHANGED', ann, [bob], 'MEMBER'));
        await ok(SET_ROLE, { c: chatId, u: cid.id, r: 'ADMIN' }, ann);
        await everyoneGets(membership('ROLE_CHANGED', ann, [cid], 'ADMIN'));

        // The owner leaves: the longest-standing ADMIN (cid) takes over.
        const left = await gqlOk<{ leaveChat: string }>(topology.url, LEAVE, { c: chatId }, ann.token);
        assert.equal(left.leaveChat, chatId);
        await everyoneGets(membership('MEMBER_LEFT', ann, [ann], null));
        await everyoneGets(membership('ROLE_CHANGED', ann, [cid], 'OWNER'));
        const after = await read(chatId, cid);
        assert.equal(after.viewerRole, 'OWNER');
        assert.equal(after.memberCount, 2);
        assert.deepEqual(rolesOf(after), { [bob.id]: 'MEMBER', [cid.id]: 'OWNER' });
        assert.equal(codeOf(await gql(topology.url, READ, { id: chatId }, ann.token)), 'NOT_FOUND');
      } finally {
        for (const stream of streams) stream.stop();
        await Promise.all([member.client.dispose(), device.client.dispose()]);
      }

      const history = await systemHistory(chatId, bob, 9);
      const user = (u: TestUser) => ({ id: u.id });
      assert.deepEqual(
        history.map((node) => ({ text: node.text, sender: node.sender.id, ...node.systemEvent })),
        [
          {
            text: `${ann.displayName} created the group "Trip"`,
            sender: ann.id,
            action: 'CHAT_CREATED',
            actor: user(ann),
            users: [],
            role: null,
            title: 'Trip',
          },
          {
            text: `${ann.displayName} added ${cid.displayName} and ${dan.displayName}`,
            sender: ann.id,
            action: 'MEMBERS_ADDED',
            actor: user(ann),
            users: [user(cid), user(dan)],
            role: null,
            title: null,
          },
          {
            text: `${ann.displayName} made ${bob.displayName} an admin`,
            sender: ann.id,
            action: 'ROLE_CHANGED',
            actor: user(ann),
            users: [user(bob)],
            role: 'ADMIN',
            title: null,
          },
          {
            text: `${bob.displayName} renamed the group to "Trip 2026"`,
            sender: bob.id,
            action: 'CHAT_RENAMED',
            actor: user(bob),
            users: [],
            role: null,
            title: 'Trip 2026',
          },
          {
            text: `${bob.displayName} removed ${dan.displayName}`,
            sender: bob.id,
            action: 'MEMBER_REMOVED',
            actor: user(bob),
            users: [user(dan)],
            role: null,
            title: null,
          },
          {
            text: `${ann.displayName} made ${bob.displayName} a member`,
            sender: ann.id,
            action: 'ROLE_CHANGED',
            actor: user(ann),
            users: [user(bob)],
            role: 'MEMBER',
            title: null,
          },
          {
            text: `${ann.displayName} made ${cid.displayName} an admin`,
            sender: ann.id,
            action: 'ROLE_CHANGED',
            actor: user(ann),
            users: [user(cid)],
            role: 'ADMIN',
            title: null,
          },
          {
            text: `${ann.displayName} left`,
            sender: ann.id,
            action: 'MEMBER_LEFT',
            actor: user(ann),
            users: [user(ann)],
            role: null,
            title: null,
          },
          {
            text: `${cid.displayName} is now the owner`,
            sender: ann.id,
            action: 'ROLE_CHANGED',
            actor: user(ann),
            users: [user(cid)],
            role: 'OWNER',
            title: null,
          },
        ],
      );
    });

    it('refuses a MEMBER, a non-member and a direct chat, changing nothing', async () => {
      const group = await createGroup(ann, 'Closed', [bob]);
      const memberAdds = await mutate(ADD, { c: group.id, u: [eve.id] }, bob);
      assert.equal(codeOf(memberAdds), 'FORBIDDEN');
      const memberRenames = await mutate(RENAME, { c: group.id, t: 'Mine' }, bob);
      assert.equal(codeOf(memberRenames), 'FORBIDDEN');
      const memberRemoves = await mutate(REMOVE, { c: group.id, u: ann.id }, bob);
      assert.equal(codeOf(memberRemoves), 'FORBIDDEN');
      const strangerAdds = await mutate(ADD, { c: group.id, u: [eve.id] }, eve);
      assert.equal(codeOf(strangerAdds), 'NOT_FOUND', 'as for an unknown chat');
      const strangerLeaves = await mutate(LEAVE, { c: group.id }, eve);
      assert.equal(codeOf(strangerLeaves), 'NOT_FOUND');
      const ownerRole = await mutate(SET_ROLE, { c: group.id, u: bob.id, r: 'OWNER' }, ann);
      assert.equal(codeOf(ownerRole), 'BAD_USER_INPUT');
      const unknown = await mutate(ADD, { c: group.id, u: ['999999999'] }, ann);
      assert.equal(codeOf(unknown), 'NOT_FOUND');
      assert.deepEqual(unknown.errors?.[0]?.extensions?.userIds, ['999999999']);
      const anonymous = await gql(topology.url, ADD, { c: group.id, u: [eve.id] });
      assert.equal(codeOf(anonymous), 'UNAUTHENTICATED');

      const unchanged = await read(group.id, ann);
      assert.equal(unchanged.title, 'Closed');
      assert.deepEqual(rolesOf(unchanged), { [ann.id]: 'OWNER', [bob.id]: 'MEMBER' });

      const direct = await directChat(topology.url, ann, bob);
      for (const [query, variables] of [
        [ADD, { c: direct, u: [eve.id] }],
        [REMOVE, { c: direct, u: bob.id }],
        [LEAVE, { c: direct }],
        [SET_ROLE, { c: direct, u: bob.id, r: 'ADMIN' }],
        [RENAME, { c: direct, t: 'Us' }],
      ] as const) {
        const result = await mutate(query, variables, ann);
        assert.equal(codeOf(result), 'BAD_USER_INPUT', query);
        assert.equal(reasonOf(result), 'NOT_A_GROUP', query);
      }
      const stillDirect = await gqlOk<{ chat: { kind: string; title: string | null; members: unknown[] } }>(
        topology.url,
        'query ($id: ID!) { chat(id: $id) { kind title members { role } } }',
        { id: direct },
        bob.token,
      );
      assert.deepEqual(stillDirect.chat, {
        kind: 'DIRECT',
        title: null,
        members: [{ role: 'MEMBER' }, { role: 'MEMBER' }],
      });

      // Only the creation is in the group's history: no refusal left a trace.
      await sendText(topology.url, ann, group.id, 'marker');
      const history = await eventually(
        () =>
          gqlOk<{ messages: { edges: { node: HistoryNode }[] } }>(topology.url, HISTORY, { c: group.id }, ann.token),
        (data) => data.messages.edges.some((edge) => edge.node.text === 'marker'),
      );
      const system = history.messages.edges
        .filter((edge) => edge.node.kind === 'SYSTEM')
        .map((edge) => edge.node.systemEvent?.action);
      assert.deepEqual(system, ['CHAT_CREATED']);
    });

    it(`refuses to pass ${MAX_GROUP_MEMBERS} members with GROUP_FULL, and lets exactly one of two racing adds fit`, async () => {
      const crowd = await registerMany([topology.url, topology.otherUrl], MAX_GROUP_MEMBERS - 1);
      const full = await createGroup(ann, 'Full house', crowd);
      assert.equal(full.memberCount, MAX_GROUP_MEMBERS);

      const refused = await mutate(ADD, { c: full.id, u: [eve.id] }, ann);
      assert.equal(codeOf(refused), 'BAD_USER_INPUT');
      assert.equal(reasonOf(refused), 'GROUP_FULL');
      const unchanged = await read(full.id, ann);
      assert.equal(unchanged.memberCount, MAX_GROUP_MEMBERS);
      assert.equal(rolesOf(unchanged)[eve.id], undefined);
      assert.equal(codeOf(await gql(topology.url, READ, { id: full.id }, eve.token)), 'NOT_FOUND');

      // Room for two; two adds of two each race, through both gateways.
      await ok(REMOVE, { c: full.id, u: crowd[0]?.id }, ann);
      await ok(REMOVE, { c: full.id, u: crowd[1]?.id }, ann);
      const [first, second] = await Promise.all([
        gql<Record<string, ChatData>>(topology.url, ADD, { c: full.id, u: [bob.id, cid.id] }, ann.token),
        gql<Record<string, ChatData>>(topology.otherUrl, ADD, { c: full.id, u: [dan.id, eve.id] }, ann.token),
      ]);
      const outcomes = [first, second].map((result) => (result.errors ? reasonOf(result) : 'ADDED')).sort();
      assert.deepEqual(outcomes, ['ADDED', 'GROUP_FULL']);
      assert.equal((await read(full.id, ann)).memberCount, MAX_GROUP_MEMBERS);

      const history = await systemHistory(full.id, ann, 4);
      assert.deepEqual(
        history.map((node) => node.systemEvent?.action),
        ['CHAT_CREATED', 'MEMBER_REMOVED', 'MEMBER_REMOVED', 'MEMBERS_ADDED'],
      );
    });
  });
}

groupsSuite('groups on the embedded default: one gateway process', async () => {
  const gateway = await startEmbedded();
  return {
    url: gateway.url,
    otherUrl: gateway.url,
    stop: gateway.stop,
  };
});

groupsSuite('groups distributed on Postgres + Redis: changes via gateway A, subscriptions via gateway B', async () => {
  const topology = await startDistributed();
  return { url: topology.gatewayA.url, otherUrl: topology.gatewayB.url, stop: topology.stop };
});
