/** No "Did you mean …?" hints: validation and variable errors, over HTTP and the enveloped path graphql-ws takes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { useNoSuggestions } from './no-suggestions.ts';

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    enum Status {
      ONLINE
      OFFLINE
    }
    input LoginInput {
      username: String!
    }
    type Query {
      node(status: Status): String
      login(input: LoginInput): String
    }
  `,
});
const server = (plugins: Plugin[]) => createYoga({ schema, plugins, logging: false });

async function messages(
  yoga: ReturnType<typeof server>,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<string[]> {
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { errors?: { message: string }[] };
  return (body.errors ?? []).map((error) => error.message);
}

const TYPOS: [string, Record<string, unknown>][] = [
  ['{ nod }', {}],
  ['{ node(stats: ONLINE) }', {}],
  ['{ node(status: ONLNE) }', {}],
  ['query ($s: Stats) { node(status: $s) }', {}],
  ['query ($s: Status) { node(status: $s) }', { s: 'ONLNE' }],
  ['query ($i: LoginInput) { login(input: $i) }', { i: { usernam: 'a' } }],
  ['{ login(input: { usernam: "a" }) }', {}],
];

describe('no suggestions', () => {
  it('removes every hint from validation and variable errors, and keeps the rest of the message', async () => {
    const hidden = server([useNoSuggestions()]);
    const shown = server([]);
    for (const [query, variables] of TYPOS) {
      const plain = await messages(shown, query, variables);
      assert.ok(
        plain.some((message) => /Did you mean/.test(message)),
        `graphql-js hints at ${query}: ${plain.join(' | ')}`,
      );
      const stripped = await messages(hidden, query, variables);
      assert.deepEqual(
        stripped,
        plain.map((message) => message.replace(/\s*Did you mean [^?]*\?/, '')),
        query,
      );
      for (const message of stripped) assert.doesNotMatch(message, /did you mean/i);
    }
  });

  it('removes them on the enveloped validate that graphql-ws uses', () => {
    const { parse, validate, schema: enveloped } = server([useNoSuggestions()]).getEnveloped({});
    const errors = validate(enveloped, parse('{ nod }'));
    assert.deepEqual(
      errors.map((error: Error) => error.message),
      ['Cannot query field "nod" on type "Query".'],
    );
  });
});
