import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { executeQueryPlan, buildOperationContext } from '@apollo/gateway';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { QueryPlanner, type PlanNode } from '@apollo/query-planner';
import { executeSubgraph, Topics, type Runtime, type Subgraph } from '@chat/common';
import { createMemoryRuntime, seedUser, type TestUser, type TestUserOptions } from '@chat/common/testing';
import { createChatsSubgraph } from '@chat/subgraph-chats';
import { createMessagesSubgraph } from '@chat/subgraph-messages';
import { createPresenceSubgraph } from '@chat/subgraph-presence';
import { createUsersSubgraph, SHARED_FIELDS } from '@chat/subgraph-users';
import { parse, type ExecutionResult } from 'graphql';
import { inProcessHost } from '../subgraph-hosts.ts';
import { SubscriptionBridge } from './bridge.ts';

const supergraphSdl = readFileSync(new URL('../../../schema/supergraph.graphql', import.meta.url), 'utf8');
const FEDERATED = parse(`subscription ($chatId: ID) {
  messageAdded(chatId: $chatId) { text sender { displayName presence { status } } chat { title } }
}`);

/** Every fetch in a plan node, depth first. */
function fetches(node: PlanNode | undefined): { serviceName: string }[] {
  if (!node) return [];
  switch (node.kind) {
    case 'Fetch':
      return [node];
    case 'Sequence':
    case 'Parallel':
      return node.nodes.flatMap(fetches);
    case 'Flatten':
      return fetches(node.node);
    default:
      return [];
  }
}

describe('subscription planning', () => {
  it('plans a primary subscription on the owning subgraph and entity fetches for the rest', () => {
    const bridge = new SubscriptionBridge(supergraphSdl, new Map());
    const plan = bridge.plan(FEDERATED);
    assert.equal(plan.primary.serviceName, 'messages');
    assert.equal(plan.primary.operationKind, 'subscription');
    assert.deepEqual(plan.primary.variableUsages, ['chatId']);
    const sequence = plan.perEvent.node;
    assert.equal(sequence?.kind, 'Sequence');
    const rest = fetches(sequence)
      .slice(1)
      .map((fetch) => fetch.serviceName);
    assert.deepEqual([...new Set(rest)].sort(), ['chats', 'presence', 'users']);
  });

  it('plans a subscription that needs no other subgraph as the primary fetch alone', () => {
    const bridge = new SubscriptionBridge(supergraphSdl, new Map());
    const plan = bridge.plan(parse('subscription { messageAdded { id text } }'));
    assert.equal(plan.perEvent.node?.kind, 'Fetch');
  });

  it('marks a plan shareable only when every field its rest fetches is declared the same for every viewer', () => {
    const bridge = new SubscriptionBridge(supergraphSdl, new Map(), {
      sharedFields: new Map([['users', new Set(SHARED_FIELDS)]]),
    });
    const shareable = (query: string) => bridge.plan(parse(query)).shareable;
    assert.equal(shareable('subscription { messageAdded { text sender { id displayName username } } }'), true);
    assert.equal(
      shareable('subscription { messageAdded { text sender { displayName connectionStatus } } }'),
      false,
      'the viewer’s own relationship',
    );
    assert.equal(shareable('subscription { messageAdded { text sender { displayName email } } }'), false, 'owner-only');
    assert.equal(
      shareable('subscription { messageAdded { text sender { displayName presence { status } } } }'),
      false,
      'presence declares nothing shared',
    );
    assert.equal(shareable('subscription { messageAdded { id text } }'), false, 'no rest: nothing to share');
    assert.equal(
      new SubscriptionBridge(supergraphSdl, new Map()).plan(
        parse('subscription { messageAdded { sender { displayName } } }'),
      ).shareable,
      false,
    );
  });

  it('pins the gap the bridge fills: stock @apollo/gateway execution refuses subscriptions', async () => {
    const supergraph = Supergraph.build(supergraphSdl);
    const apiSchema = supergraph.apiSchema();
    const plan = new QueryPlanner(supergraph).buildQueryPlan(operationFromDocument(apiSchema, FEDERATED));
    const operationContext = buildOperationContext({
      schema: apiSchema.toGraphQLJSSchema(),
      operationDocument: FEDERATED,
    });
    await assert.rejects(
      executeQueryPlan(
        plan,
        {},
        { request: {}, context: {}, metrics: {} } as never,
        operationContext,
        supergraph.schema.toGraphQLJSSchema(),
        apiSchema,
      ),
      /Execution of subscriptions not supported by gateway/,
    );
  });
});

describe('subscription bridge over in-process subgraphs', () => {
  let runtime: Runtime;
  let bridge: SubscriptionBridge;
  let subgraphs: Map<string, Subgraph>;

  before(async () => {
    runtime = await createMemoryRuntime();
    const all: Subgraph[] = [
      createUsersSubgraph(runtime),
      createChatsSubgraph(runtime),
      createMessagesSubgraph(runtime),
      createPresenceSubgraph(runtime),
    ];
    subgraphs = new Map(all.map((subgraph) => [subgraph.name, subgraph]));
    bridge = new SubscriptionBridge(
      supergraphSdl,
      new Map(all.map((subgraph) => [subgraph.name, inProcessHost(subgraph)])),
      {
        sharedFields: new Map([['users', new Set(SHARED_FIELDS)]]),
      },
    );
  });
  after(async () => {
    // Subgraphs first: the messages subgraph's relay and the presence sweeper use the runtime.
    await Promise.all([...subgraphs.values()].map(async (subgraph) => subgraph.close?.()));
    await runtime.close();
  });

  /** Runs an operation on the subgraph named `subgraph`, as `as` (anonymous without), that must succeed. */
  const call = async (subgraph: string, query: string, variables: Record<string, unknown>, as?: TestUser) => {
    const result = await executeSubgraph(subgraphs.get(subgraph)!, { query, variables, viewer: as?.viewer ?? null });
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    return result.data as Record<string, any>;
  };
  /** A user with a session, shown in capitals (as the payloads compare them). */
  const seed = (name: string, options: TestUserOptions = {}) =>
    seedUser(runtime, name, { displayName: name.toUpperCase(), ...options });

  it('delivers federated payloads and ends the subgraph stream when the client ends', async () => {
    const ann = await seed('bridge_ann');
    const bob = await seed('bridge_bob');
    const chat = await call(
      'chats',
      'mutation ($userId: ID!) { createDirectChat(userId: $userId) { id } }',
      { userId: bob.id },
      ann,
    );
    const chatId = chat.createDirectChat.id as string;

    const stream = await bridge.subscribe({
      schema: undefined as never,
      document: FEDERATED,
      variableValues: { chatId },
      contextValue: { authorization: bob.auth, viewer: bob.viewer },
    });
    assert.ok(Symbol.asyncIterator in stream, JSON.stringify(stream));
    const next = stream.next();
    await call(
      'messages',
      'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
      { input: { chatId, text: 'over the bridge', clientMessageId: 'bridge-1' } },
      ann,
    );
    const event = (await next).value as ExecutionResult;
    assert.deepEqual(JSON.parse(JSON.stringify(event)), {
      data: {
        messageAdded: {
          text: 'over the bridge',
          sender: { displayName: 'BRIDGE_ANN', presence: { status: 'OFFLINE' } },
          chat: { title: null },
        },
      },
    });

    const emitter = (runtime.pubsub as unknown as { ee: import('node:events').EventEmitter }).ee;
    assert.equal(emitter.listenerCount(Topics.userEvents(bob.id)), 1);
    await stream.return?.();
    assert.equal(
      emitter.listenerCount(Topics.userEvents(bob.id)),
      0,
      'the subgraph subscription ended with the client’s',
    );
  });

  it('passes a refusal of the owning subgraph through as a result', async () => {
    const result = await bridge.subscribe({
      schema: undefined as never,
      document: FEDERATED,
      variableValues: {},
      contextValue: { authorization: null, viewer: null },
    });
    assert.ok(!(Symbol.asyncIterator in result));
    assert.equal(result.errors?.[0]?.extensions.code, 'UNAUTHENTICATED');
  });

  it('fetches shared fields once for all the subscribers of an event, and viewer-dependent ones once each', async () => {
    const ann = await seed('share_ann');
    // Open to groups, so Ann adds them at once without connecting (which would change what this test compares).
    const bob = await seed('share_bob', { groupAddPolicy: 'EVERYONE' });
    const cat = await seed('share_cat', { groupAddPolicy: 'EVERYONE' });
    const chat = await call(
      'chats',
      'mutation ($input: CreateGroupChatInput!) { createGroupChat(input: $input) { id } }',
      { input: { title: 'shared', memberIds: [bob.id, cat.id] } },
      ann,
    );
    const chatId = chat.createGroupChat.id as string;
    // Bob's relationship with Ann differs from Cat's: what a viewer-dependent field must show each.
    await call(
      'users',
      'mutation ($userId: ID!) { inviteConnection(userId: $userId) { status } }',
      { userId: ann.id },
      bob,
    );

    const subscribeAll = async (query: string) =>
      Promise.all(
        [ann, bob, cat].map(async (user) => {
          const stream = await bridge.subscribe({
            schema: undefined as never,
            document: parse(query),
            variableValues: { chatId },
            contextValue: { authorization: user.auth, viewer: user.viewer },
          });
          assert.ok(Symbol.asyncIterator in stream, JSON.stringify(stream));
          return stream;
        }),
      );
    let sent = 0;
    const deliver = async (streams: AsyncIterableIterator<ExecutionResult>[]) => {
      const next = streams.map((stream) => stream.next());
      const before = { ...bridge.counts };
      await call(
        'messages',
        'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
        { input: { chatId, text: `shared ${++sent}`, clientMessageId: `share-${sent}` } },
        ann,
      );
      const events = (await Promise.all(next)).map((step) => JSON.parse(JSON.stringify(step.value)) as ExecutionResult);
      await Promise.all(streams.map(async (stream) => stream.return?.()));
      return {
        events,
        executed: bridge.counts.executed - before.executed,
        shared: bridge.counts.shared - before.shared,
      };
    };

    const publicOnly = await deliver(
      await subscribeAll(
        'subscription ($chatId: ID) { messageAdded(chatId: $chatId) { text sender { id displayName } } }',
      ),
    );
    for (const event of publicOnly.events) {
      assert.deepEqual(event, {
        data: { messageAdded: { text: 'shared 1', sender: { id: ann.id, displayName: 'SHARE_ANN' } } },
      });
    }
    assert.deepEqual([publicOnly.executed, publicOnly.shared], [1, 2], 'one execution for three subscribers');

    const perViewer = await deliver(
      await subscribeAll(
        'subscription ($chatId: ID) { messageAdded(chatId: $chatId) { text sender { displayName connectionStatus } } }',
      ),
    );
    assert.deepEqual(
      perViewer.events.map((event) => (event.data as any).messageAdded.sender.connectionStatus),
      ['NONE', 'INVITE_SENT', 'NONE'],
      'each viewer sees their own relationship with the sender',
    );
    assert.deepEqual([perViewer.executed, perViewer.shared], [3, 0]);
  });

  it('runs copies of one subscription from one session as one: one subgraph stream, one execution per event', async () => {
    const sam = await seed('copy_sam');
    const tia = await seed('copy_tia');
    const chatId = (
      await call(
        'chats',
        'mutation ($userId: ID!) { createDirectChat(userId: $userId) { id } }',
        { userId: tia.id },
        sam,
      )
    ).createDirectChat.id as string;
    const subscribe = (variables: Record<string, unknown>) =>
      bridge.subscribe({
        schema: undefined as never,
        document: FEDERATED,
        variableValues: variables,
        contextValue: { authorization: tia.auth, viewer: tia.viewer },
      }) as Promise<AsyncIterableIterator<ExecutionResult>>;
    const before = { ...bridge.counts };
    const copies = await Promise.all(Array.from({ length: 10 }, () => subscribe({ chatId })));
    assert.equal(bridge.counts.joined - before.joined, 9);
    const next = copies.map((copy) => copy.next());
    const emitter = (runtime.pubsub as unknown as { ee: import('node:events').EventEmitter }).ee;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(emitter.listenerCount(Topics.userEvents(tia.id)), 1, 'one subgraph subscription for ten copies');
    await call(
      'messages',
      'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
      { input: { chatId, text: 'once for all', clientMessageId: 'copies-1' } },
      sam,
    );
    const events = await Promise.all(next);
    assert.ok(events.every((event) => (event.value as any).data.messageAdded.text === 'once for all'));
    assert.ok(
      events.every((event) => event.value === events[0]!.value),
      'the same result for every copy',
    );
    assert.equal(bridge.counts.executed - before.executed, 1, 'one execution for ten copies');

    // Leaving one by one keeps the stream for the rest; the last one out ends it.
    for (const copy of copies.slice(1)) await copy.return?.();
    assert.equal(emitter.listenerCount(Topics.userEvents(tia.id)), 1);
    await copies[0]!.return?.();
    assert.equal(emitter.listenerCount(Topics.userEvents(tia.id)), 0);
  });
});
