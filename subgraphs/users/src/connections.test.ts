import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryEntityCache, Topics } from '@chat/common';
import {
  codeOf,
  createSubgraphTestkit,
  errorOf,
  plain,
  type SubgraphTestkit,
  type TestUser,
} from '@chat/common/testing';
import type { PrismaClient } from '@chat/prisma';
import { createUsersSubgraph } from './index.ts';
import type { ConnectionEvent } from './services/connection-service.ts';
import { ConnectionStore } from './store/connection-store.ts';

/** Lets published events reach their subscribers. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

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
const FIELDS: Record<Action, string> = {
  invite: 'inviteConnection',
  accept: 'acceptConnection',
  cancel: 'cancelConnection',
  remove: 'removeConnection',
  block: 'blockUser',
  unblock: 'unblockUser',
};
const CONNECTIONS = `query ($s: ConnectionStatus, $first: Int, $after: String) {
  connections(status: $s, first: $first, after: $after) {
    edges { cursor node { user { id } status since } }
    pageInfo { hasNextPage endCursor hasPreviousPage startCursor }
  }
}`;
const STATUS = 'query ($id: ID!) { user(id: $id) { connectionStatus } }';

interface Contact {
  user: { id: string; username: string };
  status: string;
  since: string | null;
}

describe('connections and blocks (in-process)', () => {
  let kit: SubgraphTestkit<ReturnType<typeof createUsersSubgraph>>;
  let prisma: PrismaClient;

  /** A user of the test's own, with a token (no password hashing: fast). */
  const person = (name: string) => kit.seed.user(name);
  type Person = TestUser;

  const act = async (action: Action, viewer: Person, other: Person | string): Promise<Contact> => {
    // Not kit.ok: a failure names the action.
    const result = await kit.run(MUTATIONS[action], { u: typeof other === 'string' ? other : other.id }, viewer);
    assert.equal(result.errors, undefined, `${action}: ${JSON.stringify(result.errors)}`);
    return plain(result.data)[FIELDS[action]];
  };
  /** The refusal of `action`: its code and reason. */
  const refusal = async (action: Action, viewer: Person | null, other: Person | string) => {
    const result = await kit.run(MUTATIONS[action], { u: typeof other === 'string' ? other : other.id }, viewer);
    assert.equal(result.data, null, `${action} should be refused`);
    const { extensions = {} } = errorOf(result);
    return { code: extensions.code, reason: extensions.reason };
  };
  const statusOf = async (viewer: Person, other: Person): Promise<string> =>
    (await kit.ok(STATUS, { id: other.id }, viewer)).user.connectionStatus;
  const list = async (viewer: Person, variables: Record<string, unknown> = {}) =>
    (await kit.ok(CONNECTIONS, variables, viewer)).connections as {
      edges: { cursor: string; node: { user: { id: string }; status: string; since: string } }[];
      pageInfo: {
        hasNextPage: boolean;
        endCursor: string | null;
        hasPreviousPage: boolean;
        startCursor: string | null;
      };
    };
  /** Both rows and both blocks of a pair, as stored: what a refusal must leave alone. */
  const stored = async (a: Person, b: Person) => {
    const ids = [BigInt(a.id), BigInt(b.id)];
    const rows = await prisma.connection.findMany({
      where: { userId: { in: ids }, otherId: { in: ids } },
      orderBy: { userId: 'asc' },
    });
    const blocks = await prisma.block.findMany({
      where: { blockerId: { in: ids }, blockedId: { in: ids } },
      orderBy: { blockerId: 'asc' },
    });
    return JSON.stringify({ rows, blocks }, (_key, value: unknown) =>
      typeof value === 'bigint' ? value.toString() : value,
    );
  };

  /** Collects what is published on each person's connections topic. */
  const listen = async (...people: Person[]) => {
    const events = new Map<string, ConnectionEvent[]>(people.map((who) => [who.id, []]));
    const ids = await Promise.all(
      people.map((who) =>
        kit.runtime.pubsub.subscribe(
          Topics.userConnections(who.id),
          (event: ConnectionEvent) => events.get(who.id)!.push(event),
          {},
        ),
      ),
    );
    return {
      /** `who`'s events so far, as (other user, status). */
      of: (who: Person) => events.get(who.id)!.map((event) => [event.userId, event.status]),
      all: (who: Person) => events.get(who.id)!,
      stop: () => ids.forEach((id) => kit.runtime.pubsub.unsubscribe(id)),
    };
  };

  before(async () => {
    kit = await createSubgraphTestkit(createUsersSubgraph);
    prisma = kit.runtime.db.prisma;
  });
  after(() => kit.close());

  it('invites and accepts: both users see their side, and each is told on their own topic', async () => {
    const [ann, bob] = [await person('ann'), await person('bob')];
    const events = await listen(ann, bob);
    try {
      const invited = await act('invite', ann, bob);
      assert.deepEqual([invited.user, invited.status], [{ id: bob.id, username: bob.username }, 'INVITE_SENT']);
      assert.ok(!Number.isNaN(Date.parse(invited.since!)));
      assert.equal(await statusOf(ann, bob), 'INVITE_SENT');
      assert.equal(await statusOf(bob, ann), 'INVITE_RECEIVED');
      assert.deepEqual(
        (await list(bob, { s: 'INVITE_RECEIVED' })).edges.map((edge) => edge.node.user.id),
        [ann.id],
      );
      assert.deepEqual(
        (await list(ann, { s: 'INVITE_SENT' })).edges.map((edge) => edge.node.user.id),
        [bob.id],
      );
      assert.deepEqual((await list(ann)).edges, [], 'CONNECTED by default: nobody yet');

      const accepted = await act('accept', bob, ann);
      assert.deepEqual([accepted.user.id, accepted.status], [ann.id, 'CONNECTED']);
      assert.equal(await statusOf(ann, bob), 'CONNECTED');
      assert.equal(await statusOf(bob, ann), 'CONNECTED');
      assert.deepEqual(
        (await list(ann)).edges.map((edge) => [edge.node.user.id, edge.node.status, edge.node.since]),
        [[bob.id, 'CONNECTED', accepted.since]],
      );
      assert.deepEqual(
        (await list(bob)).edges.map((edge) => edge.node.user.id),
        [ann.id],
      );
      assert.deepEqual((await list(bob, { s: 'INVITE_RECEIVED' })).edges, []);

      await settle();
      assert.deepEqual(events.of(ann), [
        [bob.id, 'INVITE_SENT'],
        [bob.id, 'CONNECTED'],
      ]);
      assert.deepEqual(events.of(bob), [
        [ann.id, 'INVITE_RECEIVED'],
        [ann.id, 'CONNECTED'],
      ]);
      assert.equal(events.all(ann)[1]!.since, accepted.since, 'the event carries when it changed, as an ISO string');
    } finally {
      events.stop();
    }
  });

  it('connects two users who invite each other, whichever comes first or both at once', async () => {
    const [ann, bob, cat, dan] = [await person('ann'), await person('bob'), await person('cat'), await person('dan')];
    await act('invite', ann, bob);
    const mutual = await act('invite', bob, ann);
    assert.equal(mutual.status, 'CONNECTED');
    assert.equal(await statusOf(ann, bob), 'CONNECTED');

    // At once: the pair's lock orders them, so one invites and the other connects.
    const events = await listen(cat, dan);
    try {
      const results = await Promise.all([act('invite', cat, dan), act('invite', dan, cat)]);
      assert.deepEqual(results.map((result) => result.status).sort(), ['CONNECTED', 'INVITE_SENT']);
      assert.equal(await statusOf(cat, dan), 'CONNECTED');
      assert.equal(await statusOf(dan, cat), 'CONNECTED');
      await settle();
      for (const who of [cat, dan]) assert.equal(events.of(who).at(-1)?.[1], 'CONNECTED');
    } finally {
      events.stop();
    }
  });

  it('refuses invitations by the rules, changing nothing and telling nobody', async () => {
    const [ann, bob, cat, dan, eve] = [
      await person('ann'),
      await person('bob'),
      await person('cat'),
      await person('dan'),
      await person('eve'),
    ];
    await act('invite', ann, bob);
    await act('invite', ann, cat);
    await act('accept', cat, ann);
    await act('block', dan, ann); // dan blocked ann
    await act('block', ann, eve); // ann blocked eve
    const before = await Promise.all([bob, cat, dan, eve].map((other) => stored(ann, other)));
    const events = await listen(ann, bob, cat, dan, eve);
    try {
      assert.deepEqual(await refusal('invite', ann, ann), { code: 'BAD_USER_INPUT', reason: 'SELF' });
      assert.deepEqual(await refusal('invite', ann, '42'), { code: 'NOT_FOUND', reason: undefined });
      assert.deepEqual(await refusal('invite', ann, 'not-an-id'), { code: 'BAD_USER_INPUT', reason: undefined });
      assert.deepEqual(await refusal('invite', null, bob), { code: 'UNAUTHENTICATED', reason: undefined });
      assert.deepEqual(
        await refusal('invite', ann, bob),
        { code: 'BAD_USER_INPUT', reason: 'ALREADY' },
        'already invited',
      );
      assert.deepEqual(
        await refusal('invite', ann, cat),
        { code: 'BAD_USER_INPUT', reason: 'ALREADY' },
        'already connected',
      );
      assert.deepEqual(
        await refusal('invite', ann, eve),
        { code: 'BAD_USER_INPUT', reason: 'BLOCKED' },
        'the viewer blocked them',
      );

      // Blocked by dan: the same answer as for a user who does not exist, message included.
      const blocked = await kit.run(MUTATIONS.invite, { u: dan.id }, ann);
      const unknown = await kit.run(MUTATIONS.invite, { u: '42' }, ann);
      assert.equal(codeOf(blocked), 'NOT_FOUND');
      assert.equal(blocked.errors?.[0]?.message, `User ${dan.id} was not found.`);
      assert.equal(unknown.errors?.[0]?.message, 'User 42 was not found.');
      assert.deepEqual(plain(blocked.errors?.[0]?.extensions), plain(unknown.errors?.[0]?.extensions));

      assert.deepEqual(await Promise.all([bob, cat, dan, eve].map((other) => stored(ann, other))), before);
      assert.equal(await statusOf(ann, bob), 'INVITE_SENT');
      await settle();
      for (const who of [ann, bob, cat, dan, eve])
        assert.deepEqual(events.of(who), [], `nothing told to ${who.username}`);
    } finally {
      events.stop();
    }
  });

  it('accepts only an invitation received, cancels or declines only an invitation, removes only a connection', async () => {
    const [ann, bob, cat] = [await person('ann'), await person('bob'), await person('cat')];
    await act('invite', ann, bob);
    let before = await stored(ann, bob);
    assert.deepEqual(
      await refusal('accept', ann, bob),
      { code: 'BAD_USER_INPUT', reason: 'NO_INVITATION' },
      'an invitation the viewer sent',
    );
    assert.deepEqual(await refusal('accept', ann, cat), { code: 'BAD_USER_INPUT', reason: 'NO_INVITATION' });
    assert.deepEqual(await refusal('accept', ann, '42'), { code: 'BAD_USER_INPUT', reason: 'NO_INVITATION' });
    assert.deepEqual(
      await refusal('remove', ann, bob),
      { code: 'BAD_USER_INPUT', reason: 'NOT_CONNECTED' },
      'only invited',
    );
    assert.deepEqual(await refusal('cancel', ann, cat), { code: 'BAD_USER_INPUT', reason: 'NO_INVITATION' });
    for (const action of ['accept', 'cancel', 'remove', 'block', 'unblock'] as const) {
      assert.equal((await refusal(action, null, bob)).code, 'UNAUTHENTICATED', action);
      assert.equal((await refusal(action, ann, 'x1')).code, 'BAD_USER_INPUT', action);
    }
    assert.equal(await stored(ann, bob), before);

    const events = await listen(ann, bob);
    try {
      // Withdrawn by the inviter.
      assert.deepEqual(await act('cancel', ann, bob), {
        user: { id: bob.id, username: bob.username },
        status: 'NONE',
        since: null,
      });
      assert.equal(await statusOf(bob, ann), 'NONE');
      // Declined by the invitee.
      await act('invite', ann, bob);
      assert.equal((await act('cancel', bob, ann)).status, 'NONE');
      assert.equal(await statusOf(ann, bob), 'NONE');
      assert.deepEqual((await list(ann, { s: 'INVITE_SENT' })).edges, []);
      // Connected, then removed by either.
      await act('invite', ann, bob);
      await act('accept', bob, ann);
      before = await stored(ann, bob);
      assert.deepEqual(
        await refusal('cancel', ann, bob),
        { code: 'BAD_USER_INPUT', reason: 'NO_INVITATION' },
        'connected, not invited',
      );
      assert.deepEqual(await refusal('accept', bob, ann), { code: 'BAD_USER_INPUT', reason: 'NO_INVITATION' });
      assert.equal(await stored(ann, bob), before);
      assert.equal((await act('remove', bob, ann)).status, 'NONE');
      assert.equal(await statusOf(ann, bob), 'NONE');
      assert.deepEqual((await list(ann)).edges, []);
      before = await stored(ann, bob);
      assert.deepEqual(await refusal('remove', ann, bob), { code: 'BAD_USER_INPUT', reason: 'NOT_CONNECTED' });
      assert.equal(await stored(ann, bob), before);
      await settle();
      assert.deepEqual(events.of(ann), [
        [bob.id, 'NONE'],
        [bob.id, 'INVITE_SENT'],
        [bob.id, 'NONE'],
        [bob.id, 'INVITE_SENT'],
        [bob.id, 'CONNECTED'],
        [bob.id, 'NONE'],
      ]);
      assert.deepEqual(events.of(bob), [
        [ann.id, 'NONE'],
        [ann.id, 'INVITE_RECEIVED'],
        [ann.id, 'NONE'],
        [ann.id, 'INVITE_RECEIVED'],
        [ann.id, 'CONNECTED'],
        [ann.id, 'NONE'],
      ]);
    } finally {
      events.stop();
    }
  });

  it('blocks: ends the connection, shows BLOCKED to the blocker only, and tells the blocked user only that it ended', async () => {
    const [ann, bob, eve] = [await person('ann'), await person('bob'), await person('eve')];
    await act('invite', ann, bob);
    await act('accept', bob, ann);
    const events = await listen(ann, bob, eve);
    try {
      const blocked = await act('block', bob, ann);
      assert.deepEqual([blocked.user.id, blocked.status], [ann.id, 'BLOCKED']);
      assert.equal(
        await prisma.connection.count({ where: { OR: [{ userId: BigInt(ann.id) }, { otherId: BigInt(ann.id) }] } }),
        0,
      );
      assert.equal(await statusOf(bob, ann), 'BLOCKED');
      assert.equal(await statusOf(ann, bob), 'NONE', 'the blocked user sees NONE');
      assert.deepEqual((await list(ann)).edges, []);
      assert.deepEqual((await list(ann, { s: 'BLOCKED' })).edges, [], 'ann blocked nobody');
      assert.deepEqual(
        (await list(bob, { s: 'BLOCKED' })).edges.map((edge) => [edge.node.user.id, edge.node.status, edge.node.since]),
        [[ann.id, 'BLOCKED', blocked.since]],
      );

      // Again: nothing changes, nobody is told.
      const before = await stored(ann, bob);
      assert.deepEqual(await act('block', bob, ann), blocked);
      assert.equal(await stored(ann, bob), before);

      // A stranger blocked: they are told nothing at all.
      await act('block', bob, eve);
      assert.deepEqual(await refusal('block', bob, bob), { code: 'BAD_USER_INPUT', reason: 'SELF' });
      assert.deepEqual(await refusal('block', bob, '42'), { code: 'NOT_FOUND', reason: undefined });
      assert.deepEqual(await refusal('unblock', bob, '42'), { code: 'NOT_FOUND', reason: undefined });
      await settle();
      assert.deepEqual(events.of(bob), [
        [ann.id, 'BLOCKED'],
        [eve.id, 'BLOCKED'],
      ]);
      assert.deepEqual(events.of(ann), [[bob.id, 'NONE']], 'the connection ended; no word of a block');
      assert.deepEqual(events.of(eve), []);

      // The blocked user cannot come back, however they try.
      assert.deepEqual(await refusal('invite', ann, bob), { code: 'NOT_FOUND', reason: undefined });
      assert.deepEqual(await refusal('accept', ann, bob), { code: 'BAD_USER_INPUT', reason: 'NO_INVITATION' });
      // The blocker unblocks: NONE for both, and the blocked user is not told.
      assert.deepEqual(await act('unblock', bob, ann), {
        user: { id: ann.id, username: ann.username },
        status: 'NONE',
        since: null,
      });
      assert.equal(await statusOf(bob, ann), 'NONE');
      assert.deepEqual(
        await act('unblock', bob, ann),
        { user: { id: ann.id, username: ann.username }, status: 'NONE', since: null },
        'idempotent',
      );
      assert.deepEqual(
        (await list(bob, { s: 'BLOCKED' })).edges.map((edge) => edge.node.user.id),
        [eve.id],
      );
      await settle();
      assert.deepEqual(events.of(bob).slice(2), [[ann.id, 'NONE']], 'one event for the one change');
      assert.deepEqual(events.of(ann), [[bob.id, 'NONE']], 'nothing on unblock');
      assert.equal((await act('invite', ann, bob)).status, 'INVITE_SENT', 'they may invite again');
    } finally {
      events.stop();
    }
  });

  it('blocks a pending invitation from either side, and refuses an invitation to someone the viewer blocked', async () => {
    const [ann, bob, cat] = [await person('ann'), await person('bob'), await person('cat')];
    await act('invite', ann, bob);
    await act('invite', cat, ann);
    const events = await listen(ann, bob, cat);
    try {
      await act('block', ann, bob); // ann's own invitation ends
      await act('block', ann, cat); // cat's invitation to ann ends
      await settle();
      assert.deepEqual(events.of(bob), [[ann.id, 'NONE']]);
      assert.deepEqual(events.of(cat), [[ann.id, 'NONE']]);
      assert.equal(await statusOf(cat, ann), 'NONE');
      assert.deepEqual((await list(cat, { s: 'INVITE_SENT' })).edges, []);
      const before = await stored(ann, cat);
      assert.deepEqual(await refusal('invite', ann, cat), { code: 'BAD_USER_INPUT', reason: 'BLOCKED' });
      assert.deepEqual(await refusal('invite', cat, ann), { code: 'NOT_FOUND', reason: undefined });
      assert.equal(await stored(ann, cat), before);
    } finally {
      events.stop();
    }
  });

  it('pages contacts, most recently changed first, with opaque cursors', async () => {
    const ann = await person('ann');
    const others: Person[] = [];
    for (let i = 0; i < 5; i++) {
      const other = await person(`friend${i}`);
      await act('invite', other, ann);
      await act('accept', ann, other);
      others.push(other);
    }
    // Two changed in the same millisecond: ordered by ID.
    const same = new Date('2000-01-01T00:00:00.000Z');
    await prisma.connection.updateMany({
      where: { userId: BigInt(ann.id), otherId: { in: [BigInt(others[0]!.id), BigInt(others[1]!.id)] } },
      data: { updatedAt: same },
    });
    const expected = [others[4], others[3], others[2], others[0], others[1]].map((other) => other!.id);

    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 3; page++) {
      const result = await list(ann, { first: 2, after });
      seen.push(...result.edges.map((edge) => edge.node.user.id));
      assert.equal(result.pageInfo.hasNextPage, page < 2);
      assert.equal(result.pageInfo.hasPreviousPage, false);
      assert.equal(result.pageInfo.startCursor, result.edges[0]?.cursor ?? null);
      after = result.pageInfo.endCursor;
    }
    assert.deepEqual(seen, expected);
    assert.deepEqual(
      (await list(ann, { first: 100 })).edges.map((edge) => edge.node.user.id),
      expected,
    );
    // Changing a connection moves it to the front.
    await act('remove', ann, others[0]!);
    await act('invite', ann, others[0]!);
    await act('accept', others[0]!, ann);
    assert.equal((await list(ann, { first: 1 })).edges[0]?.node.user.id, others[0]!.id);

    for (const variables of [
      { s: 'NONE' },
      { first: 0 },
      { first: 101 },
      { after: 'garbage' },
      { after: Buffer.from('["x","1"]').toString('base64url') },
    ]) {
      const result = await kit.run(CONNECTIONS, variables, ann);
      assert.equal(codeOf(result), 'BAD_USER_INPUT', JSON.stringify(variables));
    }
    assert.equal(codeOf(await kit.run(CONNECTIONS, {})), 'UNAUTHENTICATED');
  });

  it('shows connectionStatus for a page of users with one query, NONE for the viewer', async () => {
    const [ann, bob, cat, dan, eve] = [
      await person('ann'),
      await person('bob'),
      await person('cat'),
      await person('dan'),
      await person('eve'),
    ];
    await act('invite', ann, bob);
    await act('invite', cat, ann);
    await act('invite', dan, ann);
    await act('accept', ann, dan);
    await act('block', ann, eve);
    const result = await kit.ok(
      'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { id connectionStatus } } }',
      { r: [ann, bob, cat, dan, eve].map((who) => ({ __typename: 'User', id: who.id })) },
      ann,
    );
    assert.deepEqual(
      result._entities.map((user: { connectionStatus: string }) => user.connectionStatus),
      ['NONE', 'INVITE_SENT', 'INVITE_RECEIVED', 'CONNECTED', 'BLOCKED'],
    );
    const me = await kit.run('{ me { connectionStatus } }', {}, ann);
    assert.deepEqual(plain(me.data), { me: { connectionStatus: 'NONE' } });

    // The store's loader: the viewer's whole contact list in one read of each table, then the entity cache.
    let queries = 0;
    const counted = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(object, property) {
          const value = Reflect.get(object, property, object);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            queries += 1;
            return (value as (...a: unknown[]) => unknown).apply(object, args);
          };
        },
      });
    const counting = new Proxy(prisma, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property === 'connection' || property === 'block') return counted(value as object);
        if (property !== '$queryRaw') return value;
        return counted({ run: value as (...a: unknown[]) => unknown }).run;
      },
    });
    const cache = new MemoryEntityCache();
    const store = new ConnectionStore(counting, cache);
    const everyone = [bob, cat, dan, eve, { id: '42' }];
    const first = store.statusLoader(ann.id);
    const statuses = await Promise.all(everyone.map((who) => first.load(who.id)));
    assert.deepEqual(statuses, ['INVITE_SENT', 'INVITE_RECEIVED', 'CONNECTED', 'BLOCKED', 'NONE']);
    assert.equal(queries, 2, 'one read of connections, one of blocks, for the whole batch');
    const loader = store.statusLoader(ann.id);
    assert.deepEqual(await Promise.all(everyone.map((who) => loader.load(who.id))), statuses);
    assert.equal(queries, 2, 'the next request is answered from the cache');
    await store.invalidate([ann.id]);
    const afterChange = store.statusLoader(ann.id);
    await Promise.all(everyone.map((who) => afterChange.load(who.id)));
    assert.equal(queries, 4, 'an invalidated list is read again');
  });

  it('delivers connectionChanged to every subscription of the viewer, as the viewer sees it', async () => {
    const [ann, bob] = [await person('ann'), await person('bob')];
    const subscribe = async (who: Person) => {
      const stream = await kit.subscribe(
        'subscription { connectionChanged { user { id username } status since } }',
        {},
        who,
      );
      assert.ok(Symbol.asyncIterator in stream, JSON.stringify(stream));
      const received: Contact[] = [];
      const pump = (async () => {
        for await (const result of stream) {
          assert.equal(result.errors, undefined, JSON.stringify(result.errors));
          received.push(plain(result.data).connectionChanged);
        }
      })();
      return { received, stop: async () => void (await stream.return?.(), await pump) };
    };
    const [phone, laptop, other] = [await subscribe(ann), await subscribe(ann), await subscribe(bob)];
    try {
      const invited = await act('invite', ann, bob);
      await settle();
      for (const device of [phone, laptop]) assert.deepEqual(device.received, [invited]);
      assert.deepEqual(other.received, [
        { user: { id: ann.id, username: ann.username }, status: 'INVITE_RECEIVED', since: invited.since },
      ]);
    } finally {
      await Promise.all([phone.stop(), laptop.stop(), other.stop()]);
    }
    const anonymous = await kit.subscribe('subscription { connectionChanged { status } }');
    assert.ok(!(Symbol.asyncIterator in anonymous));
    assert.equal(codeOf(anonymous), 'UNAUTHENTICATED');
  });

  it('keeps a pair consistent under concurrent changes from both sides', async () => {
    const [ann, bob] = [await person('ann'), await person('bob')];
    for (let round = 0; round < 5; round++) {
      await Promise.all([
        kit.run(MUTATIONS.invite, { u: bob.id }, ann),
        kit.run(MUTATIONS.invite, { u: ann.id }, bob),
        kit.run(MUTATIONS.block, { u: ann.id }, bob),
        kit.run(MUTATIONS.accept, { u: bob.id }, ann),
        kit.run(MUTATIONS.unblock, { u: ann.id }, bob),
      ]);
      const rows = await prisma.connection.findMany({
        where: { userId: { in: [BigInt(ann.id), BigInt(bob.id)] }, otherId: { in: [BigInt(ann.id), BigInt(bob.id)] } },
      });
      const blocks = await prisma.block.count({ where: { blockerId: BigInt(bob.id), blockedId: BigInt(ann.id) } });
      const states = rows.map((row) => `${row.userId === BigInt(ann.id) ? 'ann' : 'bob'}:${row.state}`).sort();
      assert.ok(
        [
          [],
          ['ann:CONNECTED', 'bob:CONNECTED'],
          ['ann:INVITE_SENT', 'bob:INVITE_RECEIVED'],
          ['ann:INVITE_RECEIVED', 'bob:INVITE_SENT'],
        ].some((valid) => JSON.stringify(valid) === JSON.stringify(states)),
        `round ${round}: ${states.join(', ')}`,
      );
      if (blocks > 0) assert.deepEqual(states, [], 'a block leaves no connection');
      await act('unblock', bob, ann);
      if (rows.length > 0)
        await kit.run(rows[0]!.state === 'CONNECTED' ? MUTATIONS.remove : MUTATIONS.cancel, { u: bob.id }, ann);
    }
  });
});
