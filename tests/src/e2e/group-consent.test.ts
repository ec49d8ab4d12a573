/**
 * Nobody joins a group, or becomes visible, without consent (docs/GROUPS.md#consent),
 * end to end through started gateways over HTTP and graphql-ws, with
 * DIRECT_CHAT_POLICY=connections as in the report: empty searches list
 * nobody; a stranger put into a group is only invited, is no member (no
 * presence for the inviter, no messages, not in the chat) until they accept,
 * and hears of it live (GroupInvitationReceived); groupAddPolicy decides who
 * may add directly; blocks refuse adding and inviting both ways. Run on the
 * embedded gateway and on two gateways over Postgres + Redis (act through
 * one, subscribe through the other).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, gql, gqlOk, Subscription, wsClient, type GraphQLResponse } from '../kit/client.ts';
import { connect, directChat, registerUser, sendText, type TestUser } from '../kit/seed.ts';
import { startDistributed, startEmbedded } from '../kit/topology.ts';
import { eventually } from './chat-flow.ts';

const CHAT = 'id memberCount members { user { id } }';
const CREATE = `mutation ($input: CreateGroupChatInput!) { createGroupChat(input: $input) { ${CHAT} } }`;
const ADD = `mutation ($c: ID!, $u: [ID!]!) { addChatMembers(chatId: $c, userIds: $u) { ${CHAT} } }`;
const ACCEPT = `mutation ($c: ID!) { acceptGroupInvitation(chatId: $c) { ${CHAT} viewerRole } }`;
const DECLINE = 'mutation ($c: ID!) { declineGroupInvitation(chatId: $c) }';
const INVITATIONS =
  'query { groupInvitations(first: 100) { edges { node { chatId title inviter { id } } } pageInfo { hasNextPage } } }';
const SEARCH = 'query ($s: String) { users(search: $s, first: 100) { edges { node { id } } } }';
const PRESENCE = 'query ($id: ID!) { user(id: $id) { id presence { status } } }';
const SET_POLICY =
  'mutation ($v: Int!, $p: GroupAddPolicy!) { updateProfile(input: { version: $v, groupAddPolicy: $p }) { groupAddPolicy version } }';
const BLOCK = 'mutation ($u: ID!) { blockUser(userId: $u) { status } }';
const EVENTS = `subscription {
  chatEvents {
    __typename
    ... on MessageAdded { chat { id } message { kind text } }
    ... on MembershipChanged { chat { id } action users { id } }
    ... on GroupInvitationReceived { chatId invitation { chatId title inviter { id } } }
  }
}`;

interface ChatData {
  id: string;
  memberCount: number;
  members: { user: { id: string } }[];
}
interface Invitation {
  chatId: string;
  title: string;
  inviter: { id: string };
}
type Event = Record<string, any> & { __typename: string };

const reasonOf = (result: GraphQLResponse) => result.errors?.[0]?.extensions?.reason;
const memberIds = (chat: ChatData) => chat.members.map((member) => member.user.id).sort();

interface Topology {
  /** Where users send mutations and queries. */
  url: string;
  /** Where they subscribe. */
  watchUrl: string;
  stop(): Promise<void>;
}

const ENV = { DIRECT_CHAT_POLICY: 'connections' };

function consentSuite(name: string, start: () => Promise<Topology>): void {
  describe(name, () => {
    let url: string;
    let watchUrl: string;
    let stop: () => Promise<void>;

    before(async () => {
      ({ url, watchUrl, stop } = await start());
    });
    after(() => stop?.());

    const create = (owner: TestUser, title: string, members: TestUser[]) =>
      gql<{ createGroupChat: ChatData }>(
        url,
        CREATE,
        { input: { title, memberIds: members.map((m) => m.id) } },
        owner.token,
      );
    const invitationsOf = async (user: TestUser): Promise<Invitation[]> =>
      (
        await gqlOk<{ groupInvitations: { edges: { node: Invitation }[] } }>(url, INVITATIONS, {}, user.token)
      ).groupInvitations.edges.map((edge) => edge.node);
    const setPolicy = async (user: TestUser, policy: string) => {
      const { me } = await gqlOk<{ me: { version: number } }>(url, '{ me { version } }', {}, user.token);
      return gqlOk(url, SET_POLICY, { v: me.version, p: policy }, user.token);
    };

    it('lists nobody for a search of fewer than 2 characters', async () => {
      const zed = await registerUser(url, 'zz');
      for (const s of [null, '', '   ', 'z', ' z ']) {
        const found = await gqlOk<{ users: { edges: unknown[] } }>(url, SEARCH, { s }, zed.token);
        assert.deepEqual(found.users.edges, [], JSON.stringify(s));
      }
      const two = await gqlOk<{ users: { edges: { node: { id: string } }[] } }>(url, SEARCH, { s: 'zz' }, zed.token);
      assert.ok(
        two.users.edges.some((edge) => edge.node.id === zed.id),
        'two characters search',
      );
    });

    it('invites a stranger instead of adding them: no membership, no presence, no messages until they accept', async () => {
      const [ann, bob, carl] = (await Promise.all(['ann', 'bob', 'carl'].map((name) => registerUser(url, name)))) as [
        TestUser,
        TestUser,
        TestUser,
      ];
      await connect(url, ann, carl);
      // Bob's own chat with Carl gives his stream a warm-up message: proof it is live before the invitation.
      await connect(url, carl, bob);
      const warmChat = await directChat(url, carl, bob);
      await gqlOk(url, 'mutation { presenceHeartbeat(deviceId: "phone", active: true) { status } }', {}, bob.token);

      const client = wsClient(watchUrl, bob.token);
      const events = new Subscription<{ chatEvents: Event }>(client, EVENTS);
      try {
        for (let n = 1; ; n++) {
          await sendText(url, carl, warmChat, `warm-up ${n}`);
          try {
            await events.waitForMatch((e) => e.data?.chatEvents.__typename === 'MessageAdded', 500);
            break;
          } catch (error) {
            if (n >= 40) throw error;
          }
        }

        const created = await create(ann, 'Secret plans', [bob, carl]);
        assert.equal(created.errors, undefined, JSON.stringify(created.errors));
        const chat = created.data!.createGroupChat;
        assert.deepEqual(memberIds(chat), [ann.id, carl.id].sort(), 'the connection joins, the stranger does not');
        assert.equal(chat.memberCount, 2);

        const invited = await events.waitForMatch((e) => e.data?.chatEvents.__typename === 'GroupInvitationReceived');
        assert.deepEqual(invited.data?.chatEvents, {
          __typename: 'GroupInvitationReceived',
          chatId: chat.id,
          invitation: { chatId: chat.id, title: 'Secret plans', inviter: { id: ann.id } },
        });
        assert.deepEqual(await invitationsOf(bob), [
          { chatId: chat.id, title: 'Secret plans', inviter: { id: ann.id } },
        ]);

        // Until Bob accepts: Ann does not see his presence, he is not in the chat and receives none of it.
        const hidden = await gql<{ user: { presence: unknown } }>(url, PRESENCE, { id: bob.id }, ann.token);
        assert.deepEqual([hidden.data?.user.presence, codeOf(hidden)], [null, 'FORBIDDEN']);
        const annsClient = wsClient(watchUrl, ann.token);
        const watch = new Subscription(
          annsClient,
          'subscription ($ids: [ID!]) { presenceChanged(userIds: $ids) { id } }',
          { ids: [bob.id] },
        );
        await watch.done;
        await annsClient.dispose();
        assert.match(
          JSON.stringify(watch.events[0]?.errors ?? watch.error),
          /FORBIDDEN/,
          'presenceChanged refuses him too',
        );
        await sendText(url, ann, chat.id, 'before Bob accepted');
        const bobsChats = await gqlOk<{ chats: { edges: { node: { id: string } }[] } }>(
          url,
          '{ chats(first: 100) { edges { node { id } } } }',
          {},
          bob.token,
        );
        assert.ok(!bobsChats.chats.edges.some((edge) => edge.node.id === chat.id));
        const read = await gql(url, 'query ($id: ID!) { chat(id: $id) { id } }', { id: chat.id }, bob.token);
        assert.equal(codeOf(read), 'NOT_FOUND', 'the chat stays closed to him, as one that does not exist');
        const history = await gql(
          url,
          'query ($c: ID!) { messages(chatId: $c) { edges { node { text } } } }',
          { c: chat.id },
          bob.token,
        );
        assert.ok(history.errors, 'and its history');

        const joined = await gqlOk<{ acceptGroupInvitation: ChatData & { viewerRole: string } }>(
          url,
          ACCEPT,
          { c: chat.id },
          bob.token,
        );
        assert.equal(joined.acceptGroupInvitation.viewerRole, 'MEMBER');
        assert.equal(joined.acceptGroupInvitation.memberCount, 3);
        assert.deepEqual(await invitationsOf(bob), []);
        await events.waitForMatch(
          (e) => e.data?.chatEvents.__typename === 'MembershipChanged' && e.data.chatEvents.chat.id === chat.id,
        );
        await sendText(url, ann, chat.id, 'after Bob accepted');
        await events.waitForMatch((e) => e.data?.chatEvents.message?.text === 'after Bob accepted');
        const texts = events.events.flatMap((e) =>
          e.data?.chatEvents.chat?.id === chat.id && e.data.chatEvents.message ? [e.data.chatEvents.message.text] : [],
        );
        assert.deepEqual(
          texts,
          [`${ann.displayName} added ${bob.displayName}`, 'after Bob accepted'],
          'nothing sent before he accepted reached him',
        );
        const visible = await eventually(
          () => gql<{ user: { presence: { status: string } | null } }>(url, PRESENCE, { id: bob.id }, ann.token),
          (result) => result.data?.user.presence !== null,
        );
        assert.equal(codeOf(visible), undefined, 'a member shares his presence');
      } finally {
        events.stop();
        await client.dispose();
      }
    });

    it('lets each user choose who adds them directly: EVERYONE, CONNECTIONS (default) or NOBODY', async () => {
      const [ann, open, shut, plain] = (await Promise.all(
        ['ann', 'open', 'shut', 'plain'].map((name) => registerUser(url, name)),
      )) as [TestUser, TestUser, TestUser, TestUser];
      const { me } = await gqlOk<{ me: { groupAddPolicy: string } }>(url, '{ me { groupAddPolicy } }', {}, plain.token);
      assert.equal(me.groupAddPolicy, 'CONNECTIONS');
      await setPolicy(open, 'EVERYONE');
      await setPolicy(shut, 'NOBODY');
      await connect(url, ann, shut);
      const created = await gqlOk<{ createGroupChat: ChatData }>(
        url,
        CREATE,
        { input: { title: 'Policies', memberIds: [open.id, shut.id, plain.id] } },
        ann.token,
      );
      assert.deepEqual(memberIds(created.createGroupChat), [ann.id, open.id].sort());
      assert.equal((await invitationsOf(shut)).length, 1, 'NOBODY: even a connection only invites');
      assert.equal((await invitationsOf(plain)).length, 1);

      // Declined: gone, and the same group does not invite again at once.
      assert.equal(
        (await gqlOk<{ declineGroupInvitation: string }>(url, DECLINE, { c: created.createGroupChat.id }, plain.token))
          .declineGroupInvitation,
        created.createGroupChat.id,
      );
      assert.deepEqual(await invitationsOf(plain), []);
      await gqlOk(url, ADD, { c: created.createGroupChat.id, u: [plain.id] }, ann.token);
      assert.deepEqual(await invitationsOf(plain), [], 'no new invitation right after a decline');
      assert.equal(codeOf(await gql(url, ACCEPT, { c: created.createGroupChat.id }, plain.token)), 'NOT_FOUND');
    });

    it('holds blocks across groups: the blocked can neither add nor invite the blocker, nor the blocker them', async () => {
      const [ann, dave, erin, fay] = (await Promise.all(
        ['ann', 'dave', 'erin', 'fay'].map((name) => registerUser(url, name)),
      )) as [TestUser, TestUser, TestUser, TestUser];
      await setPolicy(dave, 'EVERYONE');
      await gqlOk(url, BLOCK, { u: ann.id }, dave.token);
      const byBlocked = await create(ann, 'Blocked', [dave]);
      assert.equal(codeOf(byBlocked), 'NOT_FOUND', 'as for a user who does not exist');
      assert.deepEqual(byBlocked.errors?.[0]?.extensions?.userIds, [dave.id]);
      const group = await gqlOk<{ createGroupChat: ChatData }>(
        url,
        CREATE,
        { input: { title: 'Later', memberIds: [] } },
        ann.token,
      );
      assert.equal(codeOf(await gql(url, ADD, { c: group.createGroupChat.id, u: [dave.id] }, ann.token)), 'NOT_FOUND');
      assert.deepEqual(await invitationsOf(dave), []);
      const byBlocker = await create(dave, 'Blocker', [ann]);
      assert.deepEqual([codeOf(byBlocker), reasonOf(byBlocker)], ['BAD_USER_INPUT', 'BLOCKED']);
      assert.deepEqual(await invitationsOf(ann), []);

      // A block after an invitation withdraws it.
      const invitation = await gqlOk<{ createGroupChat: ChatData }>(
        url,
        CREATE,
        { input: { title: 'Before the block', memberIds: [fay.id, erin.id] } },
        ann.token,
      );
      assert.equal((await invitationsOf(fay)).length, 1);
      await gqlOk(url, BLOCK, { u: ann.id }, fay.token);
      assert.deepEqual(await invitationsOf(fay), []);
      assert.equal(codeOf(await gql(url, ACCEPT, { c: invitation.createGroupChat.id }, fay.token)), 'NOT_FOUND');
      assert.equal((await invitationsOf(erin)).length, 1, 'others keep theirs');
    });
  });
}

describe('group consent end to end (DIRECT_CHAT_POLICY=connections)', { concurrency: true }, () => {
  consentSuite('on the embedded gateway', async () => {
    const gateway = await startEmbedded(ENV);
    return { url: gateway.url, watchUrl: gateway.url, stop: gateway.stop };
  });
  consentSuite('on Postgres + Redis: act via gateway A, subscribe via gateway B', async () => {
    const topology = await startDistributed({ env: ENV });
    return { url: topology.gatewayA.url, watchUrl: topology.gatewayB.url, stop: topology.stop };
  });
});
