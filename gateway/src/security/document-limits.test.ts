/**
 * The document limits on a Yoga server of their own: over HTTP (`yoga.fetch`)
 * and through `getEnveloped`'s parse and validate, which is what the
 * graphql-ws path in server.ts calls.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { documentLimitPlugins } from './document-limits.ts';

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query {
      node(first: Int): Node
    }
    type Node {
      id: ID
      name: String
      child(first: Int): Node
    }
  `,
  resolvers: { Query: { node: () => ({ id: '1', name: 'n' }) }, Node: { child: () => ({ id: '2', name: 'c' }) } },
});

const LIMITS = { maxDepth: 4, maxCost: 200, maxAliases: 2, maxTokens: 60 };
const server = (introspection: boolean, plugins: Plugin[] = documentLimitPlugins(LIMITS, { introspection })) =>
  createYoga({ schema, plugins, logging: false });

/** `{ node { child { … { id } } } }` with `levels` fields in the longest path. */
const deep = (levels: number) =>
  `{ ${'node { '.repeat(1)}${'child { '.repeat(levels - 2)}id${' }'.repeat(levels - 1)} }`;

async function post(yoga: ReturnType<typeof server>, query: string) {
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query }),
  });
  return {
    status: response.status,
    ...((await response.json()) as {
      data?: unknown;
      errors?: { message: string; extensions?: Record<string, unknown> }[];
    }),
  };
}

/** What server.ts does for a graphql-ws `subscribe`: the enveloped parse, then validate; errors returned, never thrown. */
function overWebSocket(yoga: ReturnType<typeof server>, query: string): readonly GraphQLError[] {
  const { parse, validate, schema: enveloped } = yoga.getEnveloped({ connectionParams: {} });
  let document;
  try {
    document = parse(query);
  } catch (error) {
    return [error as GraphQLError];
  }
  return validate(enveloped, document);
}

function assertRefused(
  errors: readonly { message: string; extensions?: Record<string, unknown> }[] | undefined,
  pattern: RegExp,
) {
  assert.equal(errors?.length, 1, JSON.stringify(errors));
  assert.equal(errors[0]!.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
  assert.match(errors[0]!.message, pattern);
  assert.doesNotMatch(errors[0]!.message, /Syntax Error/);
}

describe('document limits', () => {
  const yoga = server(true);

  it('refuses a document deeper than the limit, over HTTP and through the graphql-ws path', async () => {
    assert.equal((await post(yoga, deep(4))).errors, undefined);
    const refused = await post(yoga, deep(5));
    assert.equal(refused.status, 400);
    assert.equal(refused.data, undefined);
    assertRefused(refused.errors, /^Query depth limit of 4 exceeded, found 5\.$/);
    assert.deepEqual(overWebSocket(yoga, deep(4)), []);
    assertRefused(overWebSocket(yoga, deep(5)), /depth limit of 4/);
  });

  it('refuses a document whose estimated cost is over the limit (literal page sizes multiply)', async () => {
    assert.equal((await post(yoga, '{ node(first: 5) { id name } }')).errors, undefined);
    const refused = await post(yoga, '{ node(first: 100) { id name } }');
    assertRefused(refused.errors, /^Query Cost limit of 200 exceeded, found \d+/);
    assertRefused(overWebSocket(yoga, '{ node(first: 100) { id name } }'), /Cost limit of 200/);
  });

  it('refuses more aliases than allowed, and more tokens than allowed while parsing', async () => {
    assert.equal((await post(yoga, '{ a: node { id } b: node { id } }')).errors, undefined);
    assertRefused(
      (await post(yoga, '{ a: node { id } b: node { id } c: node { id } }')).errors,
      /^Aliases limit of 2 exceeded, found 3\.$/,
    );
    const long = `{ node { ${'id '.repeat(60)}} }`;
    const refused = await post(yoga, long);
    assert.equal(refused.status, 400);
    assertRefused(refused.errors, /^Token limit of 60 exceeded\.$/);
    assertRefused(overWebSocket(yoga, long), /Token limit of 60/);
  });

  it('serves introspection when allowed', async () => {
    assert.equal((await post(yoga, '{ __schema { queryType { name } } }')).errors, undefined);
    assert.deepEqual(overWebSocket(yoga, '{ __type(name: "Node") { name } }'), []);
  });

  it('refuses introspection when off, over HTTP and graphql-ws, and keeps __typename', async () => {
    const closed = server(false);
    assertRefused((await post(closed, '{ __schema { queryType { name } } }')).errors, /^Introspection is disabled\.$/);
    assertRefused(overWebSocket(closed, '{ __type(name: "Node") { name } }'), /^Introspection is disabled\.$/);
    assert.deepEqual((await post(closed, '{ __typename }')).data, { __typename: 'Query' });
  });

  it('pins why introspection is not refused with @graphql-yoga/plugin-disable-introspection: its mark never reaches the graphql-ws path', async () => {
    const packaged = server(true, [useDisableIntrospection() as Plugin]);
    assert.ok((await post(packaged, '{ __schema { queryType { name } } }')).errors?.length, 'refused over HTTP');
    assert.deepEqual(
      overWebSocket(packaged, '{ __schema { queryType { name } } }'),
      [],
      'but not through getEnveloped',
    );
  });
});
