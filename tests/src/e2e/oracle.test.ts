/**
 * No oracle, no hints (docs/SECURITY.md, "Request bodies, oracles and
 * hints"), over real HTTP and graphql-ws to the embedded gateway:
 * - every root field that takes the ID of a chat, message, media or session
 *   answers an ID the viewer may not see (someone else's) exactly as one
 *   that does not exist: the same HTTP status, data, error messages and
 *   extensions;
 * - a production gateway's errors carry no "Did you mean …?" hints, whatever
 *   was misspelt (field, argument, type, enum value, input field; in the
 *   document or in the variables).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TEST_SECRETS } from '../kit/launcher.ts';
import { gqlOk, wsClient } from '../kit/client.ts';
import { directChat, registerUser, sendText, type TestUser } from '../kit/seed.ts';
import { startEmbedded, type Embedded } from '../kit/topology.ts';

/** IDs no object has (well-formed Snowflakes). */
const UNKNOWN_CHAT = '123456789012';
const UNKNOWN_MESSAGE = '123456789013';
const UNKNOWN_MEDIA = '123456789014';
const UNKNOWN_SESSION = '123456789015';

interface Answer {
  status: number;
  body: { data?: unknown; errors?: { message: string; extensions?: unknown; path?: unknown }[] };
}

async function post(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** The first answer of a subscription over graphql-ws: its errors, or its first event. */
function firstOver(url: string, query: string, variables: Record<string, unknown>, token: string): Promise<unknown> {
  const client = wsClient(url, token);
  return new Promise((resolve) => {
    const stop = client.subscribe(
      { query, variables },
      {
        next: (value) => {
          stop();
          resolve(value);
        },
        error: (error) => resolve({ errors: error }),
        complete: () => resolve({ completed: true }),
      },
    );
  }).finally(() => client.dispose());
}

describe('IDs the viewer may not see answer as IDs that do not exist', () => {
  let gateway: Embedded;
  let url: string;
  let eve: TestUser;
  /** bob's objects, which eve may not see. */
  const foreign = { chat: '', message: '', media: '', session: '' };

  before(async () => {
    gateway = await startEmbedded();
    url = gateway.url;
    const [ann, bob] = await Promise.all([registerUser(url, 'ann'), registerUser(url, 'bob')]);
    eve = await registerUser(url, 'eve');
    foreign.chat = await directChat(url, ann, bob);
    foreign.message = (await sendText(url, bob, foreign.chat, 'not for eve')).id;
    const ticket = await gqlOk<{ createUpload: { mediaId: string } }>(
      url,
      'mutation ($input: CreateUploadInput!) { createUpload(input: $input) { mediaId } }',
      { input: { fileName: 'a.png', contentType: 'image/png', size: 100, purpose: 'MESSAGE_ATTACHMENT' } },
      bob.token,
    );
    foreign.media = ticket.createUpload.mediaId;
    foreign.session = (
      await gqlOk<{ sessions: { id: string }[] }>(url, '{ sessions { id } }', {}, bob.token)
    ).sessions[0]!.id;
  });
  after(() => gateway?.stop());

  /** Each root field taking an ID, with its variables for an ID (the chat's, a message's, …). */
  const CASES: {
    name: string;
    query: string;
    variables: (id: { chat: string; message: string; media: string; session: string }) => Record<string, unknown>;
  }[] = [
    { name: 'chat', query: 'query ($c: ID!) { chat(id: $c) { id title } }', variables: (id) => ({ c: id.chat }) },
    {
      name: 'messages',
      query: 'query ($c: ID!) { messages(chatId: $c) { edges { node { id } } } }',
      variables: (id) => ({ c: id.chat }),
    },
    {
      name: 'sendMessage',
      query: 'mutation ($i: SendMessageInput!) { sendMessage(input: $i) { id } }',
      variables: (id) => ({ i: { chatId: id.chat, text: 'hi', clientMessageId: 'oracle-1' } }),
    },
    {
      name: 'setTyping',
      query: 'mutation ($c: ID!) { setTyping(chatId: $c, typing: true) }',
      variables: (id) => ({ c: id.chat }),
    },
    {
      name: 'markDelivered',
      query: 'mutation ($c: ID!, $m: ID!) { markDelivered(chatId: $c, upToMessageId: $m) { deliveredAt } }',
      variables: (id) => ({ c: id.chat, m: id.message }),
    },
    {
      name: 'markSeen',
      query: 'mutation ($c: ID!, $m: ID!) { markSeen(chatId: $c, upToMessageId: $m) { seenAt } }',
      variables: (id) => ({ c: id.chat, m: id.message }),
    },
    {
      name: 'editMessage',
      query: 'mutation ($m: ID!) { editMessage(id: $m, text: "mine now") { id } }',
      variables: (id) => ({ m: id.message }),
    },
    {
      name: 'deleteMessage',
      query: 'mutation ($m: ID!) { deleteMessage(id: $m, forEveryone: true) { id } }',
      variables: (id) => ({ m: id.message }),
    },
    {
      name: 'deleteMessage for oneself',
      query: 'mutation ($m: ID!) { deleteMessage(id: $m) { id } }',
      variables: (id) => ({ m: id.message }),
    },
    {
      name: 'reactToMessage',
      query: 'mutation ($m: ID!) { reactToMessage(messageId: $m, emoji: "👍") { id } }',
      variables: (id) => ({ m: id.message }),
    },
    {
      name: 'unreactToMessage',
      query: 'mutation ($m: ID!) { unreactToMessage(messageId: $m, emoji: "👍") { id } }',
      variables: (id) => ({ m: id.message }),
    },
    {
      name: 'addChatMembers',
      query: 'mutation ($c: ID!, $u: [ID!]!) { addChatMembers(chatId: $c, userIds: $u) { id } }',
      variables: (id) => ({ c: id.chat, u: [] }),
    },
    {
      name: 'renameChat',
      query: 'mutation ($c: ID!) { renameChat(chatId: $c, title: "Mine") { id } }',
      variables: (id) => ({ c: id.chat }),
    },
    { name: 'leaveChat', query: 'mutation ($c: ID!) { leaveChat(chatId: $c) }', variables: (id) => ({ c: id.chat }) },
    { name: 'media', query: 'query ($m: ID!) { media(id: $m) { id } }', variables: (id) => ({ m: id.media }) },
    {
      name: 'completeUpload',
      query: 'mutation ($m: ID!) { completeUpload(mediaId: $m) { id } }',
      variables: (id) => ({ m: id.media }),
    },
    {
      name: 'setAvatar',
      query: 'mutation ($m: ID) { setAvatar(mediaId: $m) { id } }',
      variables: (id) => ({ m: id.media }),
    },
    { name: 'endSession', query: 'mutation ($s: ID!) { endSession(id: $s) }', variables: (id) => ({ s: id.session }) },
  ];
  const UNKNOWN = { chat: UNKNOWN_CHAT, message: UNKNOWN_MESSAGE, media: UNKNOWN_MEDIA, session: UNKNOWN_SESSION };

  for (const { name, query, variables } of CASES) {
    it(`${name}: someone else's ID and an unknown one get the same answer`, async () => {
      const theirs = await post(url, query, variables(foreign), eve.token);
      const unknown = await post(url, query, variables(UNKNOWN), eve.token);
      // Refused by the rules, not by validation (NOT_FOUND; setAvatar: BAD_USER_INPUT, MEDIA_NOT_READY).
      const code = (theirs.body.errors?.[0]?.extensions as { code?: string } | undefined)?.code;
      assert.ok(code === 'NOT_FOUND' || code === 'BAD_USER_INPUT', JSON.stringify(theirs.body));
      assert.deepEqual(theirs, unknown);
    });
  }

  for (const field of ['chatEvents', 'messageAdded']) {
    it(`${field} over graphql-ws: someone else's chat and an unknown one get the same answer`, async () => {
      const query = `subscription ($c: ID) { ${field}(chatId: $c) { __typename } }`;
      const theirs = await firstOver(url, query, { c: foreign.chat }, eve.token);
      const unknown = await firstOver(url, query, { c: UNKNOWN_CHAT }, eve.token);
      assert.match(JSON.stringify(theirs), /NOT_FOUND/);
      assert.deepEqual(theirs, unknown);
    });
  }
});

describe('a refused token over HTTP', () => {
  let gateway: Embedded;
  before(async () => (gateway = await startEmbedded()));
  after(() => gateway?.stop());

  it('answers 401 with WWW-Authenticate to application/graphql-response+json, 200 to application/json', async () => {
    const forged = `${'x'.repeat(20)}.${'y'.repeat(20)}.${'z'.repeat(20)}`;
    const { status, body } = await post(gateway.url, '{ me { id } }', {}, forged);
    assert.equal(status, 401, JSON.stringify(body));
    assert.equal('data' in body, false);
    assert.match(JSON.stringify(body.errors), /"code":"UNAUTHENTICATED"/);
    assert.doesNotMatch(JSON.stringify(body), /"http"/);
    const legacy = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${forged}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    assert.equal(legacy.status, 200);
    const strict = await fetch(gateway.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        authorization: `Bearer ${forged}`,
      },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    assert.equal(strict.headers.get('www-authenticate'), 'Bearer');
  });
});

describe('a production gateway gives no hints', () => {
  let gateway: Embedded;
  let user: TestUser;

  before(async () => {
    gateway = await startEmbedded({ NODE_ENV: 'production', ...TEST_SECRETS });
    user = await registerUser(gateway.url, 'hinted');
  });
  after(() => gateway?.stop());

  const MISSPELT: { name: string; query: string; variables?: Record<string, unknown> }[] = [
    { name: 'a field', query: '{ me { usernam } }' },
    { name: 'a root field', query: '{ chat(id: "1") { id } chatz { edges { cursor } } }' },
    { name: 'an argument', query: '{ chats(frist: 1) { edges { cursor } } }' },
    {
      name: 'a type in a variable definition',
      query: 'mutation ($i: LoginInpt!) { login(input: $i) { accessToken } }',
      variables: { i: {} },
    },
    { name: 'a type in a fragment', query: '{ me { ... on Usr { id } } }' },
    { name: 'an enum value in the document', query: 'mutation { setPresence(status: ONLNE) { id } }' },
    {
      name: 'an enum value in the variables',
      query: 'mutation ($s: PresenceStatus!) { setPresence(status: $s) { id } }',
      variables: { s: 'ONLNE' },
    },
    {
      name: 'an input field in the document',
      query: 'mutation { login(input: { usernam: "a", password: "b" }) { accessToken } }',
    },
    {
      name: 'an input field in the variables',
      query: 'mutation ($i: LoginInput!) { login(input: $i) { accessToken } }',
      variables: { i: { usernam: 'a', password: 'b' } },
    },
  ];

  for (const { name, query, variables } of MISSPELT) {
    it(`misspelling ${name} gets an error without suggestions`, async () => {
      const { body } = await post(gateway.url, query, variables ?? {}, user.token);
      assert.ok(body.errors?.length, JSON.stringify(body));
      for (const error of body.errors!) assert.doesNotMatch(error.message, /did you mean/i, JSON.stringify(error));
      assert.doesNotMatch(JSON.stringify(body), /did you mean/i);
    });
  }

  it('gives none over graphql-ws either', async () => {
    const answer = await firstOver(gateway.url, 'subscription { chatEvents { __typenam } }', {}, user.token);
    assert.match(JSON.stringify(answer), /GRAPHQL_VALIDATION_FAILED/);
    assert.doesNotMatch(JSON.stringify(answer), /did you mean/i);
  });

  it('names no subgraph in an error (extensions.serviceName), over HTTP and graphql-ws', async () => {
    const { body } = await post(gateway.url, 'query ($id: ID!) { chat(id: $id) { id } }', { id: '1' }, user.token);
    assert.match(JSON.stringify(body.errors), /"code":"NOT_FOUND"/);
    assert.doesNotMatch(JSON.stringify(body), /serviceName/);
    const event = await firstOver(gateway.url, 'subscription { messageAdded(chatId: "1") { id } }', {}, user.token);
    assert.match(JSON.stringify(event), /NOT_FOUND/);
    assert.doesNotMatch(JSON.stringify(event), /serviceName/);
  });
});
