/**
 * Request errors tagged where they arise, on a Yoga server of their own:
 * over HTTP (`yoga.fetch`) and through `getEnveloped`, which is what the
 * graphql-ws path in server.ts calls (no HTTP request, so none of Yoga's
 * HTTP-only tagging).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { maskGatewayError, useRequestErrorCodes } from './request-errors.ts';

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query {
      double(n: Int!): Int
    }
    type Subscription {
      count(to: Int!): Int
    }
  `,
  resolvers: {
    Query: { double: (_: unknown, { n }: { n: number }) => n * 2 },
    Subscription: { count: { subscribe: async function* () {}, resolve: (value: number) => value } },
  },
});

const yoga = createYoga({
  schema,
  plugins: [useRequestErrorCodes()],
  maskedErrors: { maskError: (error) => maskGatewayError(error as GraphQLError) },
  logging: false,
});

type Answer = { status: number; errors?: { message: string; extensions?: Record<string, unknown> }[] };

async function post(body: Record<string, unknown>): Promise<Answer> {
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, ...((await response.json()) as Omit<Answer, 'status'>) };
}

const codes = (errors: readonly { extensions?: Record<string, unknown> }[] | undefined) =>
  (errors ?? []).map((error) => error.extensions?.code);

/** The enveloped parse, validate and execute or subscribe, as server.ts calls them for a graphql-ws `subscribe`. */
async function overWebSocket(query: string, variables: Record<string, unknown> = {}): Promise<readonly GraphQLError[]> {
  const enveloped = yoga.getEnveloped({ connectionParams: {} });
  const { parse, validate, execute, subscribe, contextFactory } = enveloped;
  let document;
  try {
    document = parse(query);
  } catch (error) {
    return [error as GraphQLError];
  }
  const errors = validate(enveloped.schema, document);
  if (errors.length > 0) return errors;
  const args = { schema: enveloped.schema, document, variableValues: variables, contextValue: await contextFactory() };
  const run = query.startsWith('subscription') ? subscribe : execute;
  return ((await run(args)) as ExecutionResult).errors ?? [];
}

describe('request errors', () => {
  it('over HTTP: syntax GRAPHQL_PARSE_FAILED, invalid documents GRAPHQL_VALIDATION_FAILED, both 400', async () => {
    const syntax = await post({ query: '{ double(n: 1)' });
    assert.deepEqual([syntax.status, codes(syntax.errors)], [400, ['GRAPHQL_PARSE_FAILED']]);
    const invalid = await post({ query: '{ nope triple }' });
    const failed = 'GRAPHQL_VALIDATION_FAILED';
    assert.deepEqual([invalid.status, codes(invalid.errors)], [400, [failed, failed]]);
  });

  it("over HTTP: variables that do not coerce are BAD_USER_INPUT, with graphql-js's message, 400 (200 to application/json)", async () => {
    const answer = await post({ query: 'query ($n: Int!) { double(n: $n) }', variables: { n: 'two' } });
    assert.deepEqual([answer.status, codes(answer.errors)], [400, ['BAD_USER_INPUT']]);
    assert.equal('data' in answer, false);
    assert.equal(JSON.stringify(answer).includes('"http"'), false, 'the status travels in the status line only');
    const legacy = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: 'query ($n: Int!) { double(n: $n) }', variables: { n: 'two' } }),
    });
    assert.equal(legacy.status, 200);
    assert.match(answer.errors![0]!.message, /^Variable "\$n" got invalid value "two"; Int cannot represent/);
    const missing = await post({ query: 'query ($n: Int!) { double(n: $n) }' });
    assert.deepEqual(codes(missing.errors), ['BAD_USER_INPUT']);
    assert.equal((await post({ query: 'query ($n: Int!) { double(n: $n) }', variables: { n: 2 } })).errors, undefined);
  });

  it('over graphql-ws: the same codes, without an HTTP request', async () => {
    assert.deepEqual(codes(await overWebSocket('{ double(n: 1)')), ['GRAPHQL_PARSE_FAILED']);
    assert.deepEqual(codes(await overWebSocket('{ nope }')), ['GRAPHQL_VALIDATION_FAILED']);
    const query = 'query ($n: Int!) { double(n: $n) }';
    assert.deepEqual(codes(await overWebSocket(query, { n: 'two' })), ['BAD_USER_INPUT']);
    assert.doesNotMatch(JSON.stringify(await overWebSocket(query, { n: 'two' })), /"http"/);
    const subscription = 'subscription ($to: Int!) { count(to: $to) }';
    assert.deepEqual(codes(await overWebSocket(subscription, { to: [] })), ['BAD_USER_INPUT']);
  });

  it('tags a validation error that graphql-js throws instead of returning', async () => {
    const { validate, parse, schema: enveloped } = yoga.getEnveloped({ connectionParams: {} });
    const document = parse('subscription { count(to: 1) @skip(if: "yes") }');
    assert.throws(
      () => validate(enveloped, document),
      (error: unknown) => {
        assert.ok(error instanceof GraphQLError);
        assert.equal(error.extensions.code, 'GRAPHQL_VALIDATION_FAILED');
        return true;
      },
    );
  });
});
