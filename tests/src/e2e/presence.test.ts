/**
 * Presence end to end, through the gateway over HTTP and graphql-ws, with
 * short timeouts (a device is gone 3 s after its last heartbeat, a user is
 * idle after 5 s, the sweeper runs every 200 ms): devices aggregate per user,
 * a vanished device and an idle user change by themselves, chosen statuses
 * win, and a stranger sees nothing. Run on the embedded gateway and on two
 * gateways over Postgres + Redis (act through one, watch through the other,
 * with two sweepers racing on one database).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'graphql-ws';
import { gql, gqlOk, Subscription, wsClient } from '../kit/client.ts';
import { warmUp } from '../kit/readiness.ts';
import { directChat, openToGroups, registerUser, type TestUser } from '../kit/seed.ts';
import { startDistributed, startEmbedded } from '../kit/topology.ts';

/**
 * Short, but not so short that a machine three times slower misses its own heartbeats: with a 1 s device
 * timeout, a heartbeat (sent every 200 ms) that took a second through the gateway on a loaded 2-core
 * machine let the device lapse (an extra OFFLINE, ONLINE), and events came 1.5 s past their bound.
 */
const TIMING = { PRESENCE_DEVICE_TIMEOUT_SECONDS: '3', PRESENCE_IDLE_SECONDS: '5', PRESENCE_SWEEP_MS: '200' };
const DEVICE_TIMEOUT_MS = 3_000;
const IDLE_MS = 5_000;
const SWEEP_MS = 200;
/** Slack for a loaded test machine, on top of the documented bounds: the time an event takes to arrive. */
const SLACK_MS = 3_000;
/** Heartbeats come this often: well within the device timeout. */
const BEAT_EVERY_MS = 200;

interface Topology {
  /** Where users send mutations and queries. */
  actUrl: string;
  /** Where they subscribe: the other gateway in the distributed topology. */
  watchUrl: string;
  stop(): Promise<void>;
}

interface PresenceData {
  status: string;
  lastSeenAt: string | null;
}

interface Changed {
  presenceChanged: { id: string; username: string; presence: PresenceData };
}

const PRESENCE_CHANGED =
  'subscription ($ids: [ID!]) { presenceChanged(userIds: $ids) { id username presence { status lastSeenAt } } }';
const HEARTBEAT =
  'mutation ($d: String!, $a: Boolean) { presenceHeartbeat(deviceId: $d, active: $a) { status lastSeenAt } }';
const SIGN_OFF = 'mutation ($d: String!) { presenceSignOff(deviceId: $d) { status lastSeenAt } }';
const SET_PRESENCE =
  'mutation ($s: PresenceStatus!, $d: String) { setPresence(status: $s, deviceId: $d) { id presence { status lastSeenAt } } }';
const USER_PRESENCE = 'query ($id: ID!) { user(id: $id) { id presence { status lastSeenAt } } }';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const heartbeat = async (url: string, user: TestUser, deviceId: string, active?: boolean): Promise<PresenceData> =>
  (await gqlOk<{ presenceHeartbeat: PresenceData }>(url, HEARTBEAT, { d: deviceId, a: active }, user.token))
    .presenceHeartbeat;
const signOff = async (url: string, user: TestUser, deviceId: string): Promise<PresenceData> =>
  (await gqlOk<{ presenceSignOff: PresenceData }>(url, SIGN_OFF, { d: deviceId }, user.token)).presenceSignOff;
const setPresence = async (url: string, user: TestUser, status: string, deviceId?: string): Promise<PresenceData> =>
  (await gqlOk<{ setPresence: { presence: PresenceData } }>(url, SET_PRESENCE, { s: status, d: deviceId }, user.token))
    .setPresence.presence;
const presenceOf = async (url: string, of: TestUser, viewer: TestUser): Promise<PresenceData> =>
  (await gqlOk<{ user: { presence: PresenceData } }>(url, USER_PRESENCE, { id: of.id }, viewer.token)).user.presence;

/** A device that beats every BEAT_EVERY_MS until stopped. */
function keepBeating(url: string, user: TestUser, deviceId: string, active: boolean) {
  let running = true;
  let last: PresenceData | undefined;
  const loop = (async () => {
    while (running) {
      last = await heartbeat(url, user, deviceId, active);
      await sleep(BEAT_EVERY_MS);
    }
  })();
  return {
    /** @returns the answer to the last heartbeat, whose lastSeenAt is when it was made. */
    stop: async (): Promise<PresenceData> => {
      running = false;
      await loop;
      return last!;
    },
  };
}

/** `presenceChanged` as seen by one client; the test proper counts events from `base`. */
class Watch {
  readonly client: Client;
  readonly subscription: Subscription<Changed>;
  base = 0;
  /** Where `next` looks from. */
  #cursor = 0;

  constructor(url: string, viewer: TestUser, userIds?: string[]) {
    this.client = wsClient(url, viewer.token);
    this.subscription = new Subscription<Changed>(this.client, PRESENCE_CHANGED, { ids: userIds });
  }

  /** Counts events from now on. */
  reset(): void {
    this.base = this.#cursor = this.subscription.events.length;
  }

  /** The statuses of `of` announced since `base`. */
  changes(of: TestUser): string[] {
    return this.subscription.events
      .slice(this.base)
      .map((event) => event.data!.presenceChanged)
      .filter((change) => change.id === of.id)
      .map((change) => change.presence.status);
  }

  /** Waits for the next change of `of` to `status` after those `next` returned before, at most `ms`. */
  async next(of: TestUser, status: string, ms = 10_000): Promise<{ change: Changed['presenceChanged']; at: number }> {
    const events = this.subscription.events;
    const event = await this.subscription.waitForMatch((candidate) => {
      const change = candidate.data?.presenceChanged;
      return change?.id === of.id && change.presence.status === status && events.indexOf(candidate) >= this.#cursor;
    }, ms);
    this.#cursor = events.indexOf(event) + 1;
    return { change: event.data!.presenceChanged, at: Date.now() };
  }

  async close(): Promise<void> {
    this.subscription.stop();
    await this.client.dispose();
  }
}

/**
 * Connects and disconnects a warm-up device of `user` until every watch has
 * seen the last disconnection (told apart from earlier ones by its
 * lastSeenAt): the subscriptions are live end to end, nothing of the warm-up
 * is still on its way, and `user` is OFFLINE again. Tests count from there.
 */
async function untilLive(url: string, user: TestUser, ...watches: Watch[]): Promise<void> {
  let lastSeenAt: string | null = null;
  await warmUp(
    async () => {
      await heartbeat(url, user, 'warm-up');
      ({ lastSeenAt } = await signOff(url, user, 'warm-up'));
    },
    async (ms) => {
      for (const watch of watches) {
        await watch.subscription.waitForMatch((event) => {
          const change = event.data?.presenceChanged;
          return (
            change?.id === user.id && change.presence.status === 'OFFLINE' && change.presence.lastSeenAt === lastSeenAt
          );
        }, ms);
      }
    },
  );
  for (const watch of watches) watch.reset();
}

const refusal = (subscription: Subscription) => JSON.stringify(subscription.events[0]?.errors ?? subscription.error);

function presenceSuite(name: string, start: () => Promise<Topology>): void {
  describe(name, () => {
    let topology: Topology;
    let eve: TestUser;

    /** Two users who share a direct chat. */
    const pair = async () => {
      const [ann, bob] = await Promise.all([
        registerUser(topology.actUrl, 'ann'),
        registerUser(topology.actUrl, 'bob'),
      ]);
      await directChat(topology.actUrl, ann, bob);
      return { ann, bob };
    };

    before(async () => {
      topology = await start();
      eve = await registerUser(topology.actUrl, 'eve');
    });
    after(() => topology?.stop());

    it('shows a heartbeat to a chat partner, aggregates devices, and takes a vanished device OFFLINE by itself', async (t) => {
      const { ann, bob } = await pair();
      const watch = new Watch(topology.watchUrl, bob);
      try {
        await untilLive(topology.actUrl, ann, watch);
        assert.equal((await heartbeat(topology.actUrl, ann, 'phone', true)).status, 'ONLINE');
        // Beating from here on: however long the event takes to arrive, the phone does not lapse meanwhile.
        const phone = keepBeating(topology.actUrl, ann, 'phone', true);
        const online = await watch.next(ann, 'ONLINE');
        assert.equal(online.change.username, ann.username, 'fields of other subgraphs are fetched for the event');

        const laptop = keepBeating(topology.actUrl, ann, 'laptop', true);
        await sleep(3 * BEAT_EVERY_MS);
        await laptop.stop();
        assert.equal((await signOff(topology.actUrl, ann, 'laptop')).status, 'ONLINE', 'another device is connected');
        await sleep(DEVICE_TIMEOUT_MS + SWEEP_MS);
        assert.equal((await presenceOf(topology.actUrl, ann, bob)).status, 'ONLINE');
        assert.deepEqual(watch.changes(ann), ['ONLINE']);

        const last = await phone.stop();
        const offline = await watch.next(ann, 'OFFLINE', DEVICE_TIMEOUT_MS + SWEEP_MS + SLACK_MS + 5_000);
        const after = offline.at - Date.parse(last.lastSeenAt!);
        t.diagnostic(
          `OFFLINE seen ${after} ms after the last heartbeat (bound: ${DEVICE_TIMEOUT_MS} + ${SWEEP_MS} ms)`,
        );
        assert.ok(
          after >= DEVICE_TIMEOUT_MS - 100,
          `OFFLINE ${after} ms after the last heartbeat: not before the device timeout`,
        );
        assert.ok(after <= DEVICE_TIMEOUT_MS + SWEEP_MS + SLACK_MS, `OFFLINE ${after} ms after the last heartbeat`);
        assert.equal(offline.change.presence.lastSeenAt, last.lastSeenAt, 'lastSeenAt is the last heartbeat');
        assert.deepEqual(await presenceOf(topology.watchUrl, ann, bob), {
          status: 'OFFLINE',
          lastSeenAt: last.lastSeenAt,
        });
        await sleep(2 * SWEEP_MS);
        assert.deepEqual(watch.changes(ann), ['ONLINE', 'OFFLINE'], 'each change announced once');
      } finally {
        await watch.close();
      }
    });

    it('shows an idle user AWAY by itself, and ONLINE again on activity', async (t) => {
      const { ann, bob } = await pair();
      const watch = new Watch(topology.watchUrl, bob, [ann.id]);
      try {
        await untilLive(topology.actUrl, ann, watch);
        const active = Date.parse((await heartbeat(topology.actUrl, ann, 'desk', true)).lastSeenAt!);
        // Beating (inactive) from here on: however long the event takes to arrive, the desk does not lapse meanwhile.
        const desk = keepBeating(topology.actUrl, ann, 'desk', false);
        try {
          await watch.next(ann, 'ONLINE');
          const away = await watch.next(ann, 'AWAY', IDLE_MS + SWEEP_MS + SLACK_MS + 5_000);
          const idle = away.at - active;
          t.diagnostic(`AWAY seen ${idle} ms after the last activity (bound: ${IDLE_MS} + ${SWEEP_MS} ms)`);
          assert.ok(
            idle >= IDLE_MS - 100 && idle <= IDLE_MS + SWEEP_MS + SLACK_MS,
            `AWAY after ${idle} ms without activity`,
          );
          assert.equal((await presenceOf(topology.actUrl, ann, bob)).status, 'AWAY');
          assert.equal((await heartbeat(topology.actUrl, ann, 'desk', true)).status, 'ONLINE');
          await watch.next(ann, 'ONLINE');
        } finally {
          await desk.stop();
        }
        assert.equal((await signOff(topology.actUrl, ann, 'desk')).status, 'OFFLINE');
        await watch.next(ann, 'OFFLINE');
        assert.deepEqual(watch.changes(ann), ['ONLINE', 'AWAY', 'ONLINE', 'OFFLINE']);
      } finally {
        await watch.close();
      }
    });

    it('shows a chosen BUSY, and OFFLINE while appearing offline, to partners and to the user’s own other device', async () => {
      const { ann, bob } = await pair();
      const partner = new Watch(topology.watchUrl, bob);
      const own = new Watch(topology.watchUrl, ann, [ann.id]);
      try {
        await untilLive(topology.actUrl, ann, partner, own);
        assert.equal((await setPresence(topology.actUrl, ann, 'BUSY', 'phone')).status, 'BUSY');
        await Promise.all([partner.next(ann, 'BUSY'), own.next(ann, 'BUSY')]);
        const phone = keepBeating(topology.actUrl, ann, 'phone', true);
        try {
          assert.equal((await setPresence(topology.actUrl, ann, 'OFFLINE', 'phone')).status, 'OFFLINE');
          await Promise.all([partner.next(ann, 'OFFLINE'), own.next(ann, 'OFFLINE')]);
          // Connected and beating, yet OFFLINE to everyone, for longer than a device timeout.
          await sleep(DEVICE_TIMEOUT_MS + 2 * SWEEP_MS);
          assert.equal((await presenceOf(topology.actUrl, ann, bob)).status, 'OFFLINE');
          assert.equal((await presenceOf(topology.watchUrl, ann, ann)).status, 'OFFLINE');
          assert.equal((await setPresence(topology.actUrl, ann, 'ONLINE', 'phone')).status, 'ONLINE');
          await Promise.all([partner.next(ann, 'ONLINE'), own.next(ann, 'ONLINE')]);
        } finally {
          await phone.stop();
        }
        await signOff(topology.actUrl, ann, 'phone');
        await Promise.all([partner.next(ann, 'OFFLINE'), own.next(ann, 'OFFLINE')]);
        for (const watch of [partner, own])
          assert.deepEqual(watch.changes(ann), ['BUSY', 'OFFLINE', 'ONLINE', 'OFFLINE']);
      } finally {
        await Promise.all([partner.close(), own.close()]);
      }
    });

    it('announces each change once when heartbeats arrive through both gateways at once', async () => {
      const { ann, bob } = await pair();
      const watch = new Watch(topology.watchUrl, bob, [ann.id]);
      try {
        await untilLive(topology.actUrl, ann, watch);
        const devices = ['d1', 'd2', 'd3', 'd4', 'd5', 'd6'];
        const beats = await Promise.all(
          devices.flatMap((deviceId) => [
            heartbeat(topology.actUrl, ann, deviceId, true),
            heartbeat(topology.watchUrl, ann, deviceId, true),
          ]),
        );
        assert.ok(beats.every((beat) => beat.status === 'ONLINE'));
        await watch.next(ann, 'ONLINE');
        await watch.next(ann, 'OFFLINE', DEVICE_TIMEOUT_MS + SWEEP_MS + SLACK_MS + 5_000);
        await sleep(3 * SWEEP_MS);
        assert.deepEqual(watch.changes(ann), ['ONLINE', 'OFFLINE']);
      } finally {
        await watch.close();
      }
    });

    it('stops announcing a user to someone who no longer shares a chat with them, without resubscribing', async () => {
      const [ann, bob, carl] = await Promise.all(
        ['ann', 'bob', 'carl'].map((name) => registerUser(topology.actUrl, name)),
      );
      // Open to groups rather than connected: a connection would let Carl see Ann after leaving too.
      await openToGroups(topology.actUrl, carl!);
      const group = (
        await gqlOk<{ createGroupChat: { id: string } }>(
          topology.actUrl,
          'mutation ($input: CreateGroupChatInput!) { createGroupChat(input: $input) { id } }',
          { input: { title: 'Climbing', memberIds: [carl!.id] } },
          ann!.token,
        )
      ).createGroupChat.id;
      await directChat(topology.actUrl, bob!, carl!);
      const watch = new Watch(topology.watchUrl, carl!); // everyone Carl shares a chat with: Ann and Bob
      try {
        await untilLive(topology.actUrl, ann!, watch);
        await gqlOk(
          topology.actUrl,
          'mutation ($chatId: ID!) { leaveChat(chatId: $chatId) }',
          { chatId: group },
          carl!.token,
        );
        await setPresence(topology.actUrl, ann!, 'BUSY', 'laptop');
        await setPresence(topology.actUrl, bob!, 'BUSY', 'phone');
        await watch.next(bob!, 'BUSY');
        assert.deepEqual(watch.changes(ann!), [], "Ann's change, made before Bob's, was not shown to Carl");
      } finally {
        await watch.close();
      }
    });

    it('refuses strangers, malformed device IDs and anonymous callers, and changes nothing', async () => {
      const { ann, bob } = await pair();
      const stranger = await gql<{ user: { id: string; presence: PresenceData | null } }>(
        topology.actUrl,
        USER_PRESENCE,
        { id: ann.id },
        eve.token,
      );
      assert.deepEqual(stranger.data, { user: { id: ann.id, presence: null } });
      assert.equal(stranger.errors?.[0]?.extensions?.code, 'FORBIDDEN');
      assert.deepEqual(stranger.errors?.[0]?.path, ['user', 'presence']);

      const strangerClient = wsClient(topology.watchUrl, eve.token);
      const strangerWatch = new Subscription(strangerClient, PRESENCE_CHANGED, { ids: [ann.id] });
      const anonymousClient = wsClient(topology.watchUrl);
      const anonymousWatch = new Subscription(anonymousClient, PRESENCE_CHANGED, {});
      try {
        await Promise.all([strangerWatch.done, anonymousWatch.done]);
        assert.match(refusal(strangerWatch), /FORBIDDEN/);
        assert.match(refusal(anonymousWatch), /UNAUTHENTICATED/);
      } finally {
        strangerWatch.stop();
        anonymousWatch.stop();
        await Promise.all([strangerClient.dispose(), anonymousClient.dispose()]);
      }

      for (const deviceId of ['', 'my phone', 'x'.repeat(65)]) {
        for (const [query, variables] of [
          [HEARTBEAT, { d: deviceId }],
          [SIGN_OFF, { d: deviceId }],
          [SET_PRESENCE, { s: 'BUSY', d: deviceId }],
        ] as const) {
          const result = await gql(topology.actUrl, query, variables, ann.token);
          assert.equal(
            result.errors?.[0]?.extensions?.code,
            'BAD_USER_INPUT',
            `${JSON.stringify(deviceId)}: ${JSON.stringify(result.errors)}`,
          );
        }
      }
      for (const [query, variables] of [
        [HEARTBEAT, { d: 'phone' }],
        [SIGN_OFF, { d: 'phone' }],
        [SET_PRESENCE, { s: 'ONLINE' }],
        [USER_PRESENCE, { id: ann.id }],
      ] as const) {
        const result = await gql(topology.actUrl, query, variables);
        assert.equal(result.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', query);
      }

      assert.deepEqual(
        await presenceOf(topology.watchUrl, ann, bob),
        { status: 'OFFLINE', lastSeenAt: null },
        'ann never connected',
      );
      assert.deepEqual(await presenceOf(topology.watchUrl, eve, eve), { status: 'OFFLINE', lastSeenAt: null });
    });
  });
}

// The two topologies start (the slow part) and run side by side; each runs its tests in order.
describe('presence end to end', { concurrency: true }, () => {
  presenceSuite('presence on the embedded gateway', async () => {
    const gateway = await startEmbedded({ ...TIMING });
    return {
      actUrl: gateway.url,
      watchUrl: gateway.url,
      stop: gateway.stop,
    };
  });

  presenceSuite(
    'presence on Postgres + Redis: act via gateway A (in-process subgraphs), watch via gateway B (subgraph processes)',
    async () => {
      const topology = await startDistributed({ env: TIMING });
      return { actUrl: topology.gatewayA.url, watchUrl: topology.gatewayB.url, stop: topology.stop };
    },
  );
});
