/**
 * Connections and blocks end to end, through the gateway over HTTP and
 * graphql-ws: invitations, acceptance, cancelling, declining and removal with
 * `connectionChanged` on every device of both users; and what a block does
 * to the other subgraphs (no sending in the direct chat, no new direct chat,
 * no invitation, no presence either way, and never a word of it to the
 * blocked user). Run on the embedded gateway and on two gateways over
 * Postgres + Redis (act through one, watch through the other); then a gateway
 * of its own with DIRECT_CHAT_POLICY=connections.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'graphql-ws';
import { codeOf, gql, gqlOk, Subscription, wsClient, type GraphQLResponse } from '../kit/client.ts';
import { freePort, launch, migratedDataDir } from '../kit/launcher.ts';
import { warmUp } from '../kit/readiness.ts';
import { directChat, registerUser, sendText, type TestUser } from '../kit/seed.ts';
import { startDistributed, startEmbedded } from '../kit/topology.ts';
import { eventually } from './chat-flow.ts';

interface Topology {
  /** Where users send mutations and queries. */
  url: string;
  /** Where they subscribe: the other gateway in the distributed topology. */
  watchUrl: string;
  stop(): Promise<void>;
}

interface Contact {
  user: { id: string; username: string };
  status: string;
  since: string | null;
}

const CONTACT = 'user { id username } status since';
const MUTATIONS = {
  invite: `mutation ($u: ID!) { inviteConnection(userId: $u) { ${CONTACT} } }`,
  accept: `mutation ($u: ID!) { acceptConnection(userId: $u) { ${CONTACT} } }`,
  cancel: `mutation ($u: ID!) { cancelConnection(userId: $u) { ${CONTACT} } }`,
  remove: `mutation ($u: ID!) { removeConnection(userId: $u) { ${CONTACT} } }`,
  block: `mutation ($u: ID!) { blockUser(userId: $u) { ${CONTACT} } }`,
  unblock: `mutation ($u: ID!) { unblockUser(userId: $u) { ${CONTACT} } }`,
} as const;
type Action = keyof typeof MUTATIONS;

const CONNECTION_CHANGED = `subscription { connectionChanged { ${CONTACT} } }`;
const CONNECTIONS =
  'query ($s: ConnectionStatus) { connections(status: $s, first: 100) { edges { node { user { id } status } } } }';
const STATUS = 'query ($id: ID!) { user(id: $id) { connectionStatus } }';
const PRESENCE = 'query ($id: ID!) { user(id: $id) { id presence { status } } }';
const CREATE_DIRECT = 'mutation ($u: ID!) { createDirectChat(userId: $u) { id } }';
const SEND = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id text } }';
const HISTORY = 'query ($c: ID!) { messages(chatId: $c, first: 100) { edges { node { text sender { id } } } } }';

type Changed = { connectionChanged: Contact };

const reasonOf = (result: GraphQLResponse) => result.errors?.[0]?.extensions?.reason;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `connectionChanged` on one device (one WebSocket) of one user. */
class Device {
  readonly client: Client;
  readonly subscription: Subscription<Changed>;

  constructor(
    url: string,
    readonly owner: TestUser,
  ) {
    this.client = wsClient(url, owner.token);
    this.subscription = new Subscription<Changed>(this.client, CONNECTION_CHANGED);
  }

  /** The changes concerning `other`, in order, as (status). */
  statusesWith(other: TestUser): string[] {
    return this.subscription.events.flatMap((event) => {
      const change = event.data?.connectionChanged;
      return change?.user.id === other.id ? [change.status] : [];
    });
  }

  /** Waits for the `count`-th change concerning `other`, and returns it. */
  async nth(other: TestUser, count: number): Promise<Contact> {
    await this.subscription.waitForMatch(() => this.statusesWith(other).length >= count);
    const changes = this.subscription.events.flatMap((event) =>
      event.data?.connectionChanged.user.id === other.id ? [event.data.connectionChanged] : [],
    );
    return changes[count - 1]!;
  }

  async close(): Promise<void> {
    this.subscription.stop();
    await this.client.dispose();
  }
}

function connectionsSuite(name: string, start: () => Promise<Topology>): void {
  describe(name, () => {
    let topology: Topology;
    /** Sends the invitations that prove subscriptions live; nobody's contact in any test. */
    let prober: TestUser;

    before(async () => {
      topology = await start();
      prober = await registerUser(topology.url, 'probe');
    });
    after(() => topology?.stop());

    const run = (action: Action, viewer: TestUser, other: TestUser | string) =>
      gql<Record<string, Contact>>(
        topology.url,
        MUTATIONS[action],
        { u: typeof other === 'string' ? other : other.id },
        viewer.token,
      );
    const act = async (action: Action, viewer: TestUser, other: TestUser): Promise<Contact> => {
      const result = await run(action, viewer, other);
      assert.equal(result.errors, undefined, `${action}: ${JSON.stringify(result.errors)}`);
      return Object.values(result.data ?? {})[0]!;
    };
    const statusOf = async (viewer: TestUser, other: TestUser): Promise<string> =>
      (await gqlOk<{ user: { connectionStatus: string } }>(topology.url, STATUS, { id: other.id }, viewer.token)).user
        .connectionStatus;
    const listed = async (viewer: TestUser, status?: string) =>
      (
        await gqlOk<{ connections: { edges: { node: { user: { id: string }; status: string } }[] } }>(
          topology.url,
          CONNECTIONS,
          { s: status },
          viewer.token,
        )
      ).connections.edges.map((edge) => [edge.node.user.id, edge.node.status]);
    const history = async (chatId: string, viewer: TestUser) =>
      (
        await gqlOk<{ messages: { edges: { node: { text: string } }[] } }>(
          topology.url,
          HISTORY,
          { c: chatId },
          viewer.token,
        )
      ).messages.edges.map((edge) => edge.node.text);

    /**
     * The prober invites each device's owner and withdraws, until every device
     * has heard the invitation: the subscriptions are live end to end.
     */
    const untilLive = async (...devices: Device[]) => {
      const owners = [...new Map(devices.map((device) => [device.owner.id, device.owner])).values()];
      await warmUp(
        async () => {
          await Promise.all(owners.map((owner) => act('invite', prober, owner)));
          await Promise.all(owners.map((owner) => act('cancel', prober, owner)));
        },
        (ms) => {
          const heard = (event: GraphQLResponse<Changed>) => event.data?.connectionChanged.user.id === prober.id;
          return Promise.all(devices.map((device) => device.subscription.waitForMatch(heard, ms)));
        },
      );
    };

    it('invites, accepts, lists and removes, with connectionChanged on every device of both users', async () => {
      const [ann, bob] = await Promise.all([registerUser(topology.url, 'ann'), registerUser(topology.url, 'bob')]);
      const annPhone = new Device(topology.watchUrl, ann);
      const annLaptop = new Device(topology.url, ann);
      const bobPhone = new Device(topology.watchUrl, bob);
      const devices = [annPhone, annLaptop, bobPhone];
      try {
        await untilLive(...devices);
        const invited = await act('invite', ann, bob);
        assert.deepEqual([invited.user, invited.status], [{ id: bob.id, username: bob.username }, 'INVITE_SENT']);
        for (const device of [annPhone, annLaptop]) assert.deepEqual(await device.nth(bob, 1), invited);
        assert.deepEqual(await bobPhone.nth(ann, 1), {
          user: { id: ann.id, username: ann.username },
          status: 'INVITE_RECEIVED',
          since: invited.since,
        });
        assert.equal(await statusOf(bob, ann), 'INVITE_RECEIVED');
        assert.deepEqual(await listed(bob, 'INVITE_RECEIVED'), [[ann.id, 'INVITE_RECEIVED']]);

        const own = await run('accept', ann, bob);
        assert.deepEqual(
          [codeOf(own), reasonOf(own)],
          ['BAD_USER_INPUT', 'NO_INVITATION'],
          'an invitation you sent is not yours to accept',
        );
        const self = await run('invite', ann, ann);
        assert.deepEqual([codeOf(self), reasonOf(self)], ['BAD_USER_INPUT', 'SELF']);

        const accepted = await act('accept', bob, ann);
        assert.deepEqual([accepted.user.id, accepted.status], [ann.id, 'CONNECTED']);
        for (const device of [annPhone, annLaptop]) assert.equal((await device.nth(bob, 2)).status, 'CONNECTED');
        assert.equal((await bobPhone.nth(ann, 2)).status, 'CONNECTED');
        assert.deepEqual(await listed(ann), [[bob.id, 'CONNECTED']]);
        assert.deepEqual(await listed(bob), [[ann.id, 'CONNECTED']]);
        assert.deepEqual([await statusOf(ann, bob), await statusOf(bob, ann)], ['CONNECTED', 'CONNECTED']);

        assert.equal((await act('remove', bob, ann)).status, 'NONE');
        for (const device of devices)
          assert.equal((await device.nth(device.owner === ann ? bob : ann, 3)).status, 'NONE');
        assert.deepEqual(await listed(ann), []);
        const notConnected = await run('remove', ann, bob);
        assert.deepEqual([codeOf(notConnected), reasonOf(notConnected)], ['BAD_USER_INPUT', 'NOT_CONNECTED']);

        // Withdrawn by the inviter, then declined by the invitee.
        await act('invite', ann, bob);
        assert.equal((await act('cancel', ann, bob)).status, 'NONE');
        await act('invite', ann, bob);
        assert.equal((await act('cancel', bob, ann)).status, 'NONE');
        assert.equal((await bobPhone.nth(ann, 7)).status, 'NONE');
        for (const device of [annPhone, annLaptop]) await device.nth(bob, 7);
        assert.deepEqual(annPhone.statusesWith(bob), [
          'INVITE_SENT',
          'CONNECTED',
          'NONE',
          'INVITE_SENT',
          'NONE',
          'INVITE_SENT',
          'NONE',
        ]);
        assert.deepEqual(annLaptop.statusesWith(bob), annPhone.statusesWith(bob));
        assert.deepEqual(bobPhone.statusesWith(ann), [
          'INVITE_RECEIVED',
          'CONNECTED',
          'NONE',
          'INVITE_RECEIVED',
          'NONE',
          'INVITE_RECEIVED',
          'NONE',
        ]);
        assert.deepEqual(await listed(ann, 'INVITE_SENT'), []);
        assert.equal(await statusOf(ann, bob), 'NONE');
      } finally {
        await Promise.all(devices.map((device) => device.close()));
      }
    });

    it('connects two users who invite each other at once through both gateways (the pair’s lock orders them)', async () => {
      const pairs = await Promise.all(
        Array.from({ length: 20 }, () =>
          Promise.all([registerUser(topology.url, 'ann'), registerUser(topology.url, 'bob')]),
        ),
      );
      await Promise.all(
        pairs.map(async ([ann, bob]) => {
          const results = await Promise.all([
            gqlOk<{ inviteConnection: Contact }>(topology.url, MUTATIONS.invite, { u: bob.id }, ann.token),
            gqlOk<{ inviteConnection: Contact }>(topology.watchUrl, MUTATIONS.invite, { u: ann.id }, bob.token),
          ]);
          assert.deepEqual(results.map((result) => result.inviteConnection.status).sort(), [
            'CONNECTED',
            'INVITE_SENT',
          ]);
          assert.deepEqual([await statusOf(ann, bob), await statusOf(bob, ann)], ['CONNECTED', 'CONNECTED']);
        }),
      );
    });

    it('shows presence to connections who share no chat, and to nobody else', async () => {
      const [ann, bob, eve] = await Promise.all([
        registerUser(topology.url, 'ann'),
        registerUser(topology.url, 'bob'),
        registerUser(topology.url, 'eve'),
      ]);
      await act('invite', ann, bob);
      const invited = await gql(topology.url, PRESENCE, { id: ann.id }, bob.token);
      assert.equal(codeOf(invited), 'FORBIDDEN', 'an invitation is not a connection');
      await act('accept', bob, ann);
      assert.deepEqual((await gqlOk(topology.url, PRESENCE, { id: ann.id }, bob.token)).user, {
        id: ann.id,
        presence: { status: 'OFFLINE' },
      });
      assert.deepEqual((await gqlOk(topology.url, PRESENCE, { id: bob.id }, ann.token)).user, {
        id: bob.id,
        presence: { status: 'OFFLINE' },
      });
      assert.equal(codeOf(await gql(topology.url, PRESENCE, { id: ann.id }, eve.token)), 'FORBIDDEN');
    });

    it('blocks: the blocked user can neither send, start a chat, invite nor see presence, and is never told', async () => {
      const [ann, bob] = await Promise.all([registerUser(topology.url, 'ann'), registerUser(topology.url, 'bob')]);
      await act('invite', bob, ann);
      await act('accept', ann, bob);
      const chatId = await directChat(topology.url, bob, ann);
      await sendText(topology.url, bob, chatId, 'hi ann');
      await sendText(topology.url, ann, chatId, 'hi bob');
      assert.deepEqual(
        (await gqlOk(topology.url, PRESENCE, { id: ann.id }, bob.token)).user.presence,
        { status: 'OFFLINE' },
        'visible before the block',
      );
      const before = await eventually(
        () => history(chatId, ann),
        (texts) => texts.length === 2,
      );

      const bobDevice = new Device(topology.watchUrl, bob);
      const annDevice = new Device(topology.watchUrl, ann);
      try {
        await untilLive(bobDevice, annDevice);
        const blocked = await act('block', ann, bob);
        assert.deepEqual([blocked.user.id, blocked.status], [bob.id, 'BLOCKED']);
        assert.equal((await annDevice.nth(bob, 1)).status, 'BLOCKED');
        assert.deepEqual(
          await bobDevice.nth(ann, 1),
          { user: { id: ann.id, username: ann.username }, status: 'NONE', since: null },
          'only that the connection ended',
        );

        // Sending in the direct chat they share: refused both ways, history unchanged.
        for (const sender of [bob, ann]) {
          const refused = await gql(
            topology.url,
            SEND,
            { input: { chatId, text: 'still there?', clientMessageId: `blocked-${sender.id}` } },
            sender.token,
          );
          assert.equal(codeOf(refused), 'FORBIDDEN', JSON.stringify(refused.errors));
          assert.equal(refused.errors?.[0]?.message, 'You cannot send messages in this chat.');
        }
        // A new direct chat, either way (the existing one is not handed out either).
        for (const [from, to] of [
          [bob, ann],
          [ann, bob],
        ] as const) {
          const refused = await gql(topology.url, CREATE_DIRECT, { u: to.id }, from.token);
          assert.equal(codeOf(refused), 'FORBIDDEN');
          assert.equal(refused.errors?.[0]?.message, 'You cannot start a chat with this user.');
        }
        // An invitation: the answer for a user who does not exist.
        const invite = await run('invite', bob, ann);
        assert.deepEqual([codeOf(invite), reasonOf(invite)], ['NOT_FOUND', undefined]);
        assert.equal(invite.errors?.[0]?.message, `User ${ann.id} was not found.`);
        // Presence, both ways, although they share a chat.
        for (const [viewer, of] of [
          [bob, ann],
          [ann, bob],
        ] as const) {
          const presence = await gql<{ user: { id: string; presence: unknown } }>(
            topology.url,
            PRESENCE,
            { id: of.id },
            viewer.token,
          );
          assert.deepEqual(presence.data, { user: { id: of.id, presence: null } });
          assert.equal(codeOf(presence), 'FORBIDDEN');
          assert.deepEqual(presence.errors?.[0]?.path, ['user', 'presence']);
        }
        // Nothing says BLOCKED to bob.
        assert.equal(await statusOf(bob, ann), 'NONE');
        assert.deepEqual(await listed(bob), []);
        assert.deepEqual(await listed(bob, 'BLOCKED'), []);
        assert.equal(await statusOf(ann, bob), 'BLOCKED');
        assert.deepEqual(await listed(ann, 'BLOCKED'), [[bob.id, 'BLOCKED']]);

        // Unblocking tells bob nothing: the next thing he hears is the prober's invitation.
        assert.equal((await act('unblock', ann, bob)).status, 'NONE');
        assert.equal((await annDevice.nth(bob, 2)).status, 'NONE');
        const heard = bobDevice.subscription.events.length;
        await act('invite', prober, bob);
        const next = await bobDevice.subscription.waitForMatch(
          (event) => bobDevice.subscription.events.indexOf(event) >= heard,
        );
        assert.equal(next.data?.connectionChanged.user.id, prober.id);
        await act('cancel', prober, bob);
        await sleep(200);
        assert.deepEqual(bobDevice.statusesWith(ann), ['NONE']);
        assert.ok(
          bobDevice.subscription.events.every((event) => event.data?.connectionChanged.status !== 'BLOCKED'),
          'bob never receives BLOCKED',
        );
        assert.deepEqual(
          await eventually(
            () => history(chatId, bob),
            (texts) => texts.length >= 2,
          ),
          before,
          'history unchanged by the refusals',
        );

        // Sending works again; so does the direct chat (the same one).
        await sendText(topology.url, bob, chatId, 'back again');
        await eventually(
          () => history(chatId, ann),
          (texts) => texts[0] === 'back again' && texts.length === 3,
        );
        assert.equal((await gqlOk(topology.url, CREATE_DIRECT, { u: ann.id }, bob.token)).createDirectChat.id, chatId);
        assert.equal(await statusOf(ann, bob), 'NONE', 'connect again to be connected');
      } finally {
        await Promise.all([bobDevice.close(), annDevice.close()]);
      }
    });
  });
}

describe('connections end to end', { concurrency: true }, () => {
  connectionsSuite('connections on the embedded gateway', async () => {
    const gateway = await startEmbedded();
    return {
      url: gateway.url,
      watchUrl: gateway.url,
      stop: gateway.stop,
    };
  });

  connectionsSuite(
    'connections on Postgres + Redis: act via gateway A (in-process subgraphs), watch via gateway B (subgraph processes)',
    async () => {
      const topology = await startDistributed();
      return { url: topology.gatewayA.url, watchUrl: topology.gatewayB.url, stop: topology.stop };
    },
  );

  describe('DIRECT_CHAT_POLICY=connections on an embedded gateway of its own', () => {
    let url: string;
    let stop: () => Promise<void>;

    before(async () => {
      const data = await migratedDataDir();
      const gateway = await launch(
        'gateway',
        'gateway/src/main.ts',
        { DATA_DIR: data.path, DIRECT_CHAT_POLICY: 'connections' },
        await freePort(),
      );
      url = gateway.url;
      stop = async () => {
        await gateway.stop();
        data.remove();
      };
    });
    after(() => stop?.());

    it('starts a direct chat only between connections, and keeps group chats open', async () => {
      const [ann, bob, eve] = await Promise.all([
        registerUser(url, 'ann'),
        registerUser(url, 'bob'),
        registerUser(url, 'eve'),
      ]);
      const stranger = await gql(url, CREATE_DIRECT, { u: bob.id }, ann.token);
      assert.deepEqual([codeOf(stranger), reasonOf(stranger)], ['FORBIDDEN', 'NOT_CONNECTED']);
      await gqlOk(url, MUTATIONS.invite, { u: bob.id }, ann.token);
      const invited = await gql(url, CREATE_DIRECT, { u: bob.id }, ann.token);
      assert.deepEqual(
        [codeOf(invited), reasonOf(invited)],
        ['FORBIDDEN', 'NOT_CONNECTED'],
        'an invitation is not enough',
      );
      await gqlOk(url, MUTATIONS.accept, { u: ann.id }, bob.token);

      const chatId = await directChat(url, ann, bob);
      assert.equal(await directChat(url, bob, ann), chatId, 'from either side');
      await sendText(url, bob, chatId, 'connected');

      // Blocked: a stranger's answer, the same as for someone never connected.
      await gqlOk(url, MUTATIONS.block, { u: ann.id }, bob.token);
      const blocked = await gql(url, CREATE_DIRECT, { u: bob.id }, ann.token);
      assert.deepEqual([codeOf(blocked), reasonOf(blocked)], ['FORBIDDEN', 'NOT_CONNECTED']);

      const group = await gqlOk<{ createGroupChat: { id: string } }>(
        url,
        'mutation ($input: CreateGroupChatInput!) { createGroupChat(input: $input) { id } }',
        { input: { title: 'Open', memberIds: [eve.id] } },
        ann.token,
      );
      assert.ok(
        group.createGroupChat.id,
        'groups do not follow DIRECT_CHAT_POLICY: a stranger is invited (docs/GROUPS.md#consent)',
      );
    });
  });
});
