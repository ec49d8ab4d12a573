import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { executeQueryPlan, buildOperationContext } from '@apollo/gateway';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { QueryPlanner, type PlanNode } from '@apollo/query-planner';
import { createMemoryRuntime, executeSubgraph, Topics, type Runtime, type Subgraph, viewerOf } from '@chat/common';
import { createChatsSubgraph } from '@chat/subgraph-chats';
import { createMessagesSubgraph } from '@chat/subgraph-messages';
import { createPresenceSubgraph } from '@chat/subgraph-presence';
import { createUsersSubgraph } from '@chat/subgraph-users';
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
    const rest = fetches(sequence).slice(1).map((fetch) => fetch.serviceName);
    assert.deepEqual([...new Set(rest)].sort(), ['chats', 'presence', 'users']);
  });

  it('plans a subscription that needs no other subgraph as the primary fetch alone', () => {
    const bridge = new SubscriptionBridge(supergraphSdl, new Map());
    const plan = bridge.plan(parse('subscription { messageAdded { id text } }'));
    assert.equal(plan.perEvent.node?.kind, 'Fetch');
  });

  it('pins the gap the bridge fills: stock @apollo/gateway execution refuses subscriptions', async () => {
    const supergraph = Supergraph.build(supergraphSdl);
    const apiSchema = supergraph.apiSchema();
    const plan = new QueryPlanner(supergraph).buildQueryPlan(operationFromDocument(apiSchema, FEDERATED));
    const operationContext = buildOperationContext({ schema: apiSchema.toGraphQLJSSchema(), operationDocument: FEDERATED });
    await assert.rejects(
      executeQueryPlan(plan, {}, { request: {}, context: {}, metrics: {} } as never, operationContext, supergraph.schema.toGraphQLJSSchema(), apiSchema),
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
    const all: Subgraph[] = [createUsersSubgraph(runtime), createChatsSubgraph(runtime), createMessagesSubgraph(runtime), createPresenceSubgraph(runtime)];
    subgraphs = new Map(all.map((subgraph) => [subgraph.name, subgraph]));
    bridge = new SubscriptionBridge(supergraphSdl, new Map(all.map((subgraph) => [subgraph.name, inProcessHost(subgraph)])));
  });
  after(async () => {
    // Subgraphs first: the messages subgraph's relay and the presence sweeper use the runtime.
    await Promise.all([...subgraphs.values()].map((subgraph) => subgraph.close?.()));
    await runtime.close();
  });

  const call = async (subgraph: string, query: string, variables: Record<string, unknown>, authorization?: string) => {
    const result = await executeSubgraph(subgraphs.get(subgraph)!, { query, variables, viewer: await viewerOf(runtime, authorization) });
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    return result.data as Record<string, any>;
  };

  it('delivers federated payloads and ends the subgraph stream when the client ends', async () => {
    const register = (username: string) =>
      call('users', 'mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }', {
        input: { username, password: 'password-123', displayName: username.toUpperCase() },
      });
    const ann = (await register('bridge_ann')).register;
    const bob = (await register('bridge_bob')).register;
    const annAuth = `Bearer ${ann.accessToken}`;
    const bobAuth = `Bearer ${bob.accessToken}`;
    const chat = await call('chats', 'mutation ($userId: ID!) { createDirectChat(userId: $userId) { id } }', { userId: bob.user.id }, annAuth);
    const chatId = chat.createDirectChat.id as string;

    const stream = await bridge.subscribe({
      schema: undefined as never,
      document: FEDERATED,
      variableValues: { chatId },
      contextValue: { authorization: bobAuth, viewer: await viewerOf(runtime, bobAuth) },
    });
    assert.ok(Symbol.asyncIterator in stream, JSON.stringify(stream));
    const next = stream.next();
    await call(
      'messages',
      'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
      { input: { chatId, text: 'over the bridge', clientMessageId: 'bridge-1' } },
      annAuth,
    );
    const event = (await next).value as ExecutionResult;
    assert.deepEqual(JSON.parse(JSON.stringify(event)), {
      data: { messageAdded: { text: 'over the bridge', sender: { displayName: 'BRIDGE_ANN', presence: { status: 'OFFLINE' } }, chat: { title: null } } },
    });

    const emitter = (runtime.pubsub as unknown as { ee: import('node:events').EventEmitter }).ee;
    assert.equal(emitter.listenerCount(Topics.userEvents(bob.user.id)), 1);
    await stream.return?.();
    assert.equal(emitter.listenerCount(Topics.userEvents(bob.user.id)), 0, 'the subgraph subscription ended with the client’s');
  });

  it('passes a refusal of the owning subgraph through as a result', async () => {
    const result = await bridge.subscribe({ schema: undefined as never, document: FEDERATED, variableValues: {}, contextValue: { authorization: null, viewer: null } });
    assert.ok(!(Symbol.asyncIterator in result));
    assert.equal(result.errors?.[0]?.extensions.code, 'UNAUTHENTICATED');
  });
});
