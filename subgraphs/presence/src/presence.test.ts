import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { executeSubgraph, subscribeSubgraph } from '@chat/common';
import { codeOf, createSubgraphTestkit, plain, type SubgraphTestkit, type TestUser } from '@chat/common/testing';
import { createPresenceSubgraph, type PresenceSubgraph } from './index.ts';
import { PresenceVisibility } from './services/presence-visibility.ts';
import type { PresenceStore } from './store/presence-store.ts';

const SECOND = 1000;
const DEVICE_TIMEOUT = 60 * SECOND;
const IDLE = 300 * SECOND;
const HEARTBEAT =
  'mutation ($d: String!, $a: Boolean) { presenceHeartbeat(deviceId: $d, active: $a) { status lastSeenAt } }';
const SIGN_OFF = 'mutation ($d: String!) { presenceSignOff(deviceId: $d) { status lastSeenAt } }';
const SET_PRESENCE =
  'mutation ($s: PresenceStatus!, $d: String) { setPresence(status: $s, deviceId: $d) { id presence { status lastSeenAt } } }';
const ENTITY_PRESENCE =
  'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { presence { status lastSeenAt } } } }';
/** Lets in-process events reach their subscribers. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

interface Change {
  id: string;
  presence: { status: string; lastSeenAt: string | null };
}

describe('presence subgraph (in-process)', () => {
  let kit: SubgraphTestkit<PresenceSubgraph>;
  /** The clock of the subgraph: tests move it. */
  let now = Date.parse('2026-11-25T12:00:00.000Z');
  const advance = (ms: number) => (now += ms);
  /** Timeouts and the clock of a subgraph instance. */
  const timing = (sweepMs = 60_000) => ({
    deviceTimeoutMs: DEVICE_TIMEOUT,
    idleMs: IDLE,
    sweepMs,
    now: () => new Date(now),
  });
  const at = (ms = now) => new Date(ms).toISOString();

  before(async () => {
    // The sweeper's timer never fires here: tests sweep when they move the clock.
    kit = await createSubgraphTestkit((runtime) => createPresenceSubgraph(runtime, timing()));
  });
  after(() => kit.close());

  /** Two users who share a direct chat, and a stranger to both. */
  const people = async () => {
    const [ann, bob, eve] = [await kit.seed.user('ann'), await kit.seed.user('bob'), await kit.seed.user('eve')];
    await kit.seed.chat({ kind: 'DIRECT', createdBy: ann, members: [bob] });
    return { ann, bob, eve };
  };

  const beat = async (who: TestUser, deviceId: string, active?: boolean) =>
    (await kit.ok(HEARTBEAT, { d: deviceId, a: active }, who)).presenceHeartbeat;
  const signOff = async (who: TestUser, deviceId: string) =>
    (await kit.ok(SIGN_OFF, { d: deviceId }, who)).presenceSignOff;
  const choose = async (who: TestUser, status: string, deviceId?: string) =>
    (await kit.ok(SET_PRESENCE, { s: status, d: deviceId }, who)).setPresence.presence;
  /** `of`'s presence as `viewer` sees it through the entity resolver. */
  const read = async (of: TestUser, viewer: TestUser = of) =>
    (await kit.ok(ENTITY_PRESENCE, { r: [{ __typename: 'User', id: of.id }] }, viewer))._entities[0].presence;

  /** Sweeps, and returns the changes it made to `who` (earlier tests leave users behind). */
  const sweepFor = async (who: TestUser, target: PresenceSubgraph = kit.subgraph) =>
    (await target.sweeper.sweep()).filter((change) => change.userId === who.id);

  /** Collects `presenceChanged` events as `watcher` receives them, from `target` (another instance, if given). */
  const watch = async (watcher: TestUser, userIds?: string[], target: PresenceSubgraph = kit.subgraph) => {
    const stream = await subscribeSubgraph(target, {
      query: 'subscription ($ids: [ID!]) { presenceChanged(userIds: $ids) { id presence { status lastSeenAt } } }',
      variables: { ids: userIds },
      viewer: watcher.viewer,
    });
    assert.ok(Symbol.asyncIterator in stream, JSON.stringify(stream));
    const events: Change[] = [];
    const pump = (async () => {
      for await (const result of stream)
        events.push((plain(result.data) as { presenceChanged: Change }).presenceChanged);
    })();
    const statuses = () => events.map((event) => event.presence.status);
    return {
      events,
      statuses,
      stop: async () => {
        await stream.return?.();
        await pump;
      },
    };
  };

  it('refuses an anonymous caller on every operation', async () => {
    for (const query of [
      'mutation { setPresence(status: ONLINE) { id } }',
      'mutation { presenceHeartbeat(deviceId: "phone") { status } }',
      'mutation { presenceSignOff(deviceId: "phone") { status } }',
      'query { _entities(representations: [{ __typename: "User", id: "1" }]) { ... on User { presence { status } } } }',
    ]) {
      assert.equal(codeOf(await kit.run(query)), 'UNAUTHENTICATED', query);
    }
    const stream = await kit.subscribe('subscription { presenceChanged { id } }');
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.equal(codeOf(stream), 'UNAUTHENTICATED');
  });

  it('shows OFFLINE with no lastSeenAt for a user who never connected', async () => {
    const { ann, bob } = await people();
    assert.deepEqual(await read(ann, bob), { status: 'OFFLINE', lastSeenAt: null });
  });

  it('aggregates devices: ONLINE while one is connected, OFFLINE when the last signs off, each change announced once', async () => {
    const { ann, bob } = await people();
    const changes = await watch(bob, [ann.id]);
    const first = at();
    assert.deepEqual(await beat(ann, 'phone'), { status: 'ONLINE', lastSeenAt: first });
    advance(SECOND);
    assert.deepEqual(await beat(ann, 'laptop', true), { status: 'ONLINE', lastSeenAt: at() });
    advance(SECOND);
    assert.deepEqual(await signOff(ann, 'laptop'), { status: 'ONLINE', lastSeenAt: at() });
    assert.equal((await read(ann, bob)).status, 'ONLINE');
    advance(SECOND);
    const gone = at();
    assert.deepEqual(await signOff(ann, 'phone'), { status: 'OFFLINE', lastSeenAt: gone });
    assert.deepEqual(
      await signOff(ann, 'phone'),
      { status: 'OFFLINE', lastSeenAt: gone },
      'signing off twice changes nothing',
    );
    await settle();
    assert.deepEqual(changes.events, [
      { id: ann.id, presence: { status: 'ONLINE', lastSeenAt: first } },
      { id: ann.id, presence: { status: 'OFFLINE', lastSeenAt: gone } },
    ]);
    assert.deepEqual(await read(ann, bob), { status: 'OFFLINE', lastSeenAt: gone });
    await changes.stop();
  });

  it('expires a device that stops beating, through the sweeper, keeping its last heartbeat as lastSeenAt', async () => {
    const { ann, bob } = await people();
    const changes = await watch(bob, [ann.id]);
    await beat(ann, 'phone');
    advance(30 * SECOND);
    const last = at();
    await beat(ann, 'phone', true);
    advance(DEVICE_TIMEOUT - 1);
    assert.deepEqual(await sweepFor(ann), [], 'still live a millisecond before it expires');
    advance(1);
    const swept = await sweepFor(ann);
    assert.deepEqual(
      swept.map((change) => [change.userId, change.status, change.lastSeenAt?.toISOString()]),
      [[ann.id, 'OFFLINE', last]],
    );
    assert.deepEqual(await sweepFor(ann), [], 'a second sweep finds nothing');
    await settle();
    assert.deepEqual(changes.statuses(), ['ONLINE', 'OFFLINE']);
    assert.deepEqual(await read(ann, bob), { status: 'OFFLINE', lastSeenAt: last });
    await changes.stop();
  });

  it('shows AWAY when every live device has been idle for the idle timeout, and ONLINE again on activity', async () => {
    const { ann, bob } = await people();
    const changes = await watch(bob, [ann.id]);
    await beat(ann, 'phone', true);
    await beat(ann, 'laptop', false);
    for (let elapsed = 0; elapsed < IDLE - 30 * SECOND; elapsed += 30 * SECOND) {
      advance(30 * SECOND);
      assert.equal((await beat(ann, 'phone')).status, 'ONLINE', 'a later beat without `active` is not activity');
      await beat(ann, 'laptop', false);
    }
    advance(30 * SECOND);
    // The idle timeout passed between heartbeats: the sweeper notices.
    assert.deepEqual(
      (await sweepFor(ann)).map((change) => change.status),
      ['AWAY'],
    );
    assert.equal((await beat(ann, 'laptop', false)).status, 'AWAY');
    assert.equal((await beat(ann, 'laptop', true)).status, 'ONLINE');
    await settle();
    assert.deepEqual(changes.statuses(), ['ONLINE', 'AWAY', 'ONLINE']);
    await changes.stop();
  });

  it('counts a first heartbeat without `active` as activity, and one with active: false as none', async () => {
    const { ann } = await people();
    assert.equal((await beat(ann, 'tv', false)).status, 'AWAY');
    assert.equal((await beat(ann, 'phone')).status, 'ONLINE');
  });

  it('shows the chosen BUSY and AWAY while connected, and OFFLINE when appearing offline', async () => {
    const { ann, bob } = await people();
    const changes = await watch(bob, [ann.id]);
    assert.deepEqual(await choose(ann, 'BUSY', 'phone'), { status: 'BUSY', lastSeenAt: at() });
    advance(IDLE);
    await beat(ann, 'phone', false);
    assert.deepEqual(await sweepFor(ann), [], 'BUSY does not become AWAY when idle');
    assert.equal((await read(ann, bob)).status, 'BUSY');
    assert.equal((await choose(ann, 'AWAY', 'phone')).status, 'AWAY');
    assert.equal((await choose(ann, 'OFFLINE', 'phone')).status, 'OFFLINE');
    assert.equal((await beat(ann, 'phone', true)).status, 'OFFLINE', 'heartbeats do not undo appearing offline');
    assert.equal((await read(ann, bob)).status, 'OFFLINE');
    assert.equal((await read(ann)).status, 'OFFLINE', 'the user sees what others see');
    assert.equal((await choose(ann, 'ONLINE')).status, 'ONLINE', 'the default device');
    advance(DEVICE_TIMEOUT);
    assert.deepEqual(
      (await sweepFor(ann)).map((change) => change.status),
      ['OFFLINE'],
    );
    assert.equal((await choose(ann, 'BUSY')).status, 'BUSY', 'setPresence connects the device it names');
    await settle();
    assert.deepEqual(changes.statuses(), ['BUSY', 'AWAY', 'OFFLINE', 'ONLINE', 'OFFLINE', 'BUSY']);
    await changes.stop();
  });

  it('announces a change once when heartbeats, sign-offs and sweeps of several instances race', async () => {
    const { ann, bob } = await people();
    const other = createPresenceSubgraph(kit.runtime, timing());
    const changes = await watch(bob, [ann.id]);
    try {
      const devices = ['a', 'b', 'c', 'd', 'e', 'f'];
      /** As ann, on `target`: the kit runs operations on its own instance only. */
      const asAnnOn = (target: PresenceSubgraph, query: string, deviceId: string) =>
        executeSubgraph(target, { query, variables: { d: deviceId }, viewer: ann.viewer });
      const beatOn = (target: PresenceSubgraph, deviceId: string) =>
        asAnnOn(target, 'mutation ($d: String!) { presenceHeartbeat(deviceId: $d) { status } }', deviceId);
      const signOffOn = (target: PresenceSubgraph, deviceId: string) =>
        asAnnOn(target, 'mutation ($d: String!) { presenceSignOff(deviceId: $d) { status } }', deviceId);
      const beats = await Promise.all(
        devices.flatMap((deviceId) => [beatOn(kit.subgraph, deviceId), beatOn(other, deviceId)]),
      );
      assert.ok(
        beats.every((result) => result.errors === undefined),
        JSON.stringify(beats),
      );
      // Every device but the last signs off while both instances sweep: ann stays ONLINE.
      const [signOffs, idleSweeps] = await Promise.all([
        Promise.all(devices.slice(0, -1).map((deviceId, n) => signOffOn(n % 2 ? other : kit.subgraph, deviceId))),
        Promise.all([sweepFor(ann), sweepFor(ann, other)]),
      ]);
      assert.ok(
        signOffs.every((result) => result.errors === undefined),
        JSON.stringify(signOffs),
      );
      assert.deepEqual(idleSweeps.flat(), []);
      assert.equal((await read(ann, bob)).status, 'ONLINE');
      advance(DEVICE_TIMEOUT);
      const sweeps = await Promise.all([sweepFor(ann), sweepFor(ann, other), sweepFor(ann), sweepFor(ann, other)]);
      assert.equal(sweeps.flat().length, 1);
      await settle();
      assert.deepEqual(changes.statuses(), ['ONLINE', 'OFFLINE']);
    } finally {
      await changes.stop();
      await other.close();
    }
  });

  it('sweeps on its own timer, and stops with close()', async () => {
    const { ann, bob } = await people();
    const timed = createPresenceSubgraph(kit.runtime, timing(50));
    const changes = await watch(bob, [ann.id], timed);
    try {
      await beat(ann, 'phone');
      advance(DEVICE_TIMEOUT);
      const deadline = Date.now() + 5_000;
      while (changes.events.length < 2 && Date.now() < deadline) await settle();
      assert.deepEqual(changes.statuses(), ['ONLINE', 'OFFLINE']);
    } finally {
      await changes.stop();
      await timed.close();
    }
  });

  it('forgets devices long expired', async () => {
    const { ann } = await people();
    await beat(ann, 'old-phone');
    advance(DEVICE_TIMEOUT);
    await kit.subgraph.sweeper.sweep();
    assert.equal(
      await kit.runtime.db.prisma.presenceDevice.count({ where: { userId: BigInt(ann.id) } }),
      1,
      'kept a while after expiring',
    );
    // Kept for ten sweep intervals (or one device timeout if longer): ten minutes here.
    advance(600 * SECOND);
    await kit.subgraph.sweeper.sweep();
    assert.equal(await kit.runtime.db.prisma.presenceDevice.count({ where: { userId: BigInt(ann.id) } }), 0);
  });

  it('shows presence only to the user and those who share a chat with them', async () => {
    const { ann, bob, eve } = await people();
    await beat(ann, 'phone');
    assert.equal((await read(ann)).status, 'ONLINE');
    assert.equal((await read(ann, bob)).status, 'ONLINE');
    const refused = await kit.run(
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { presence { status } } } }',
      {
        r: [
          { __typename: 'User', id: ann.id },
          { __typename: 'User', id: eve.id },
        ],
      },
      eve,
    );
    assert.deepEqual(plain(refused.data), { _entities: [{ presence: null }, { presence: { status: 'OFFLINE' } }] });
    assert.deepEqual(
      refused.errors?.map((error) => [error.extensions.code, error.path?.join('.')]),
      [['FORBIDDEN', '_entities.0.presence']],
    );

    for (const ids of [[ann.id], [eve.id, ann.id], [bob.id]]) {
      const stream = await kit.subscribe(
        'subscription ($ids: [ID!]) { presenceChanged(userIds: $ids) { id } }',
        { ids },
        eve,
      );
      assert.ok(!(Symbol.asyncIterator in stream), `eve may not watch ${ids}`);
      assert.equal(codeOf(stream), 'FORBIDDEN');
    }
    const own = await watch(eve, [eve.id]);
    await beat(eve, 'laptop');
    await settle();
    assert.deepEqual(own.statuses(), ['ONLINE'], 'the user watches their own presence');
    await own.stop();
  });

  it('watches everyone who shares a chat with the viewer when userIds is omitted', async () => {
    const { ann, bob, eve } = await people();
    const partners = await watch(bob);
    await beat(eve, 'phone');
    await beat(ann, 'phone');
    await settle();
    assert.deepEqual(
      partners.events.map((event) => event.id),
      [ann.id],
    );
    await partners.stop();
  });

  it('checks the visibility of one operation’s users in one query', async () => {
    const calls: string[][] = [];
    const store = {
      visibleAmong: async (_viewerId: string, ids: readonly string[]) => {
        calls.push([...ids]);
        return new Set(ids.filter((id) => id !== '3'));
      },
    } as unknown as PresenceStore;
    const loader = new PresenceVisibility(store).loader('1');
    assert.deepEqual(await Promise.all(['1', '2', '3', '4'].map((id) => loader.load(id))), [true, true, false, true]);
    assert.deepEqual(calls, [['2', '3', '4']]);
  });

  it('refuses a malformed device ID and changes nothing', async () => {
    const { ann, bob } = await people();
    const changes = await watch(bob, [ann.id]);
    for (const deviceId of ['', 'x'.repeat(65), 'my phone', 'phone/1', 'téléphone']) {
      for (const [query, variables] of [
        ['mutation ($d: String!) { presenceHeartbeat(deviceId: $d) { status } }', { d: deviceId }],
        ['mutation ($d: String!) { presenceSignOff(deviceId: $d) { status } }', { d: deviceId }],
        ['mutation ($d: String) { setPresence(status: BUSY, deviceId: $d) { id } }', { d: deviceId }],
      ] as const) {
        const result = await kit.run(query, variables, ann);
        assert.equal(codeOf(result), 'BAD_USER_INPUT', `${query} with ${JSON.stringify(deviceId)}`);
        assert.match(result.errors?.[0]?.message ?? '', /deviceId/);
      }
    }
    assert.equal((await beat(ann, 'x'.repeat(64))).status, 'ONLINE', '64 characters are fine');
    assert.equal((await signOff(ann, 'x'.repeat(64))).status, 'OFFLINE');
    assert.equal((await beat(ann, 'Web.tab_2:a-b')).status, 'ONLINE');
    await settle();
    assert.deepEqual(changes.statuses(), ['ONLINE', 'OFFLINE', 'ONLINE']);
    await changes.stop();
  });

  it('refuses a malformed user ID', async () => {
    const { ann } = await people();
    const stream = await kit.subscribe('subscription { presenceChanged(userIds: ["abc"]) { id } }', {}, ann);
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.equal(codeOf(stream), 'BAD_USER_INPUT');
  });
});
