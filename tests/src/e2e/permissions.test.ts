/**
 * Permissions end to end, through the embedded gateway: every root field of
 * the API (walked from the schema the gateway serves, so a new field is
 * covered without touching this file) refuses an anonymous caller with
 * UNAUTHENTICATED and no data, except register, login and refreshToken,
 * which an anonymous caller reaches; and member-only fields refuse a
 * logged-in non-member.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isScalarType,
  Kind,
  parse,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import { testUsername, uniqueTag } from '@chat/common/testing';
import { codeOf, gql, gqlOk, wsClient, type GraphQLResponse } from '../kit/client.ts';
import { directChat, registerUser, type TestUser } from '../kit/seed.ts';
import { startEmbedded, type Embedded } from '../kit/topology.ts';

/** Root fields an anonymous caller may reach: they are how a caller logs in. */
const ANONYMOUS = new Set(['Mutation.register', 'Mutation.login', 'Mutation.refreshToken']);
const ROOTS = ['Query', 'Mutation', 'Subscription'] as const;
type Root = (typeof ROOTS)[number];

interface Probe {
  name: string;
  root: Root;
  field: string;
  query: string;
  variables: Record<string, unknown>;
}

/** A valid value of `type`: for input objects, their required fields only. */
function sampleValue(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sampleValue(type.ofType);
  if (isListType(type)) return [sampleValue(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0]?.name;
  if (isInputObjectType(type)) {
    const required = Object.values(type.getFields()).filter(
      (field) => isNonNullType(field.type) && field.defaultValue === undefined,
    );
    return Object.fromEntries(required.map((field) => [field.name, sampleValue(field.type)]));
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'ID':
        return '1';
      case 'String':
        return 'x';
      case 'Int':
        return 1;
      case 'Float':
        return 1.5;
      case 'Boolean':
        return true;
      case 'DateTime':
        return '2026-01-01T00:00:00.000Z';
    }
  }
  throw new Error(`no sample value for ${String(type)}: teach sampleValue this type`);
}

/** The smallest valid operation calling `field`: every required argument, `{ __typename }` for a composite result. */
function probeOf(root: Root, field: GraphQLField<unknown, unknown>): Probe {
  const required = field.args.filter((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined);
  const definitions = required.map((arg) => `$${arg.name}: ${String(arg.type)}`).join(', ');
  const args = required.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const selection = isLeafType(getNamedType(field.type)) ? '' : ' { __typename }';
  const query = `${root.toLowerCase()} Probe${definitions ? `(${definitions})` : ''} { ${field.name}${args ? `(${args})` : ''}${selection} }`;
  return {
    name: `${root}.${field.name}`,
    root,
    field: field.name,
    query,
    variables: Object.fromEntries(required.map((arg) => [arg.name, sampleValue(arg.type)])),
  };
}

function rootFields(schema: GraphQLSchema): Probe[] {
  const types = {
    Query: schema.getQueryType(),
    Mutation: schema.getMutationType(),
    Subscription: schema.getSubscriptionType(),
  };
  return ROOTS.flatMap((root) => Object.values(types[root]?.getFields() ?? {}).map((field) => probeOf(root, field)));
}

/** The root fields of the committed supergraph's API (its @inaccessible fields left out). */
function supergraphRootFields(): string[] {
  const document = parse(readFileSync(new URL('../../../schema/supergraph.graphql', import.meta.url), 'utf8'));
  return document.definitions.flatMap((definition) =>
    definition.kind === Kind.OBJECT_TYPE_DEFINITION && (ROOTS as readonly string[]).includes(definition.name.value)
      ? (definition.fields ?? [])
          .filter((field) => !field.directives?.some((directive) => directive.name.value === 'inaccessible'))
          .map((field) => `${definition.name.value}.${field.name.value}`)
      : [],
  );
}

/** The first answer to a subscription over graphql-ws: its first event, or the error it ended with. */
async function firstAnswer(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<GraphQLResponse> {
  const client = wsClient(url, token);
  try {
    return await new Promise<GraphQLResponse>((resolve) => {
      const timer = setTimeout(() => resolve({ errors: [{ message: 'opened: no refusal within 5 s' }] }), 5_000);
      const answer = (response: GraphQLResponse) => {
        clearTimeout(timer);
        resolve(response);
      };
      client.subscribe(
        { query, variables },
        {
          next: (value) => answer(value as GraphQLResponse),
          error: (error) => answer({ errors: Array.isArray(error) ? error : [{ message: String(error) }] }),
          complete: () => answer({ errors: [{ message: 'completed without an answer' }] }),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

describe('permissions through the gateway (embedded)', () => {
  let embedded: Embedded;
  let schema: GraphQLSchema;
  let ann: TestUser;
  let bob: TestUser;
  let eve: TestUser;
  let chatId: string;

  const send = (probe: Probe, token?: string) =>
    probe.root === 'Subscription'
      ? firstAnswer(embedded.url, probe.query, probe.variables, token)
      : gql(embedded.url, probe.query, probe.variables, token);

  before(async () => {
    embedded = await startEmbedded();
    schema = buildClientSchema(await gqlOk<IntrospectionQuery>(embedded.url, getIntrospectionQuery()));
    [ann, bob, eve] = await Promise.all([
      registerUser(embedded.url, 'ann'),
      registerUser(embedded.url, 'bob'),
      registerUser(embedded.url, 'eve'),
    ]);
    chatId = await directChat(embedded.url, ann, bob);
  });
  after(() => embedded?.stop());

  it('walks the root fields the committed supergraph composes, the allow-list among them', () => {
    const walked = rootFields(schema).map((probe) => probe.name);
    assert.deepEqual([...walked].sort(), supergraphRootFields().sort());
    for (const name of ANONYMOUS) assert.ok(walked.includes(name), `${name} is in the schema`);
  });

  it('refuses an anonymous caller on every other root field with UNAUTHENTICATED and no data', async () => {
    const probes = rootFields(schema).filter((probe) => !ANONYMOUS.has(probe.name));
    assert.ok(probes.length > 40, `walked ${probes.length} root fields`);
    const wrong: string[] = [];
    for (const probe of probes) {
      const response = await send(probe);
      const codes = (response.errors ?? []).map((error) => error.extensions?.code);
      const data = (response.data ?? null) as Record<string, unknown> | null;
      const refused =
        codes.length > 0 &&
        codes.every((code) => code === 'UNAUTHENTICATED') &&
        (data === null || data[probe.field] == null);
      if (!refused)
        wrong.push(`${probe.name}: ${JSON.stringify(response)}\n  ${probe.query} ${JSON.stringify(probe.variables)}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('lets an anonymous caller register, log in and refresh its tokens', async () => {
    const input = {
      username: testUsername('perm', uniqueTag()),
      password: 'correct horse battery',
      displayName: 'Anonymous no more',
    };
    const registered = await gql<any>(
      embedded.url,
      'mutation ($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { username } } }',
      { input },
    );
    assert.equal(registered.errors, undefined, JSON.stringify(registered.errors));
    assert.equal(registered.data.register.user.username, input.username.toLowerCase());

    const loggedIn = await gql<any>(
      embedded.url,
      'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
      {
        input: { username: input.username, password: input.password },
      },
    );
    assert.equal(loggedIn.errors, undefined, JSON.stringify(loggedIn.errors));

    const refreshed = await gql<any>(
      embedded.url,
      'mutation ($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken } }',
      {
        token: registered.data.register.refreshToken,
      },
    );
    assert.equal(refreshed.errors, undefined, JSON.stringify(refreshed.errors));
    assert.notEqual(refreshed.data.refreshToken.refreshToken, registered.data.register.refreshToken);
    const me = await gqlOk<any>(embedded.url, '{ me { username } }', {}, refreshed.data.refreshToken.accessToken);
    assert.equal(me.me.username, input.username.toLowerCase());
  });

  it('refuses a logged-in non-member on member-only fields with NOT_FOUND, as an unknown chat', async () => {
    const chat = await gql(embedded.url, 'query ($id: ID!) { chat(id: $id) { id } }', { id: chatId }, eve.token);
    assert.deepEqual([codeOf(chat), chat.data?.chat ?? null], ['NOT_FOUND', null]);
    const history = await gql(
      embedded.url,
      'query ($chatId: ID!) { messages(chatId: $chatId) { edges { cursor } } }',
      { chatId },
      eve.token,
    );
    assert.deepEqual([codeOf(history), history.data ?? null], ['NOT_FOUND', null]);
    const typing = await gql(
      embedded.url,
      'mutation ($chatId: ID!) { setTyping(chatId: $chatId, typing: true) }',
      { chatId },
      eve.token,
    );
    assert.equal(codeOf(typing), 'NOT_FOUND');
    const events = await firstAnswer(
      embedded.url,
      'subscription ($chatId: ID) { chatEvents(chatId: $chatId) { __typename } }',
      { chatId },
      eve.token,
    );
    assert.equal(codeOf(events), 'NOT_FOUND', JSON.stringify(events));

    const unknown = await gql(embedded.url, 'query { chat(id: "123456789") { id } }', {}, eve.token);
    assert.equal(codeOf(unknown), 'NOT_FOUND');

    const member = await gqlOk<any>(
      embedded.url,
      'query ($id: ID!) { chat(id: $id) { id } messages(chatId: $id) { edges { cursor } } }',
      { id: chatId },
      ann.token,
    );
    assert.equal(member.chat.id, chatId, 'open to a member');
  });
});
