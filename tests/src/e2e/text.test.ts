/**
 * Text that cannot impersonate or hide, through a real gateway: display
 * names, group titles and upload file names with bidi controls or nothing
 * visible are refused with BAD_USER_INPUT (reason INVALID_TEXT); message text
 * keeps its bidi controls balanced, when sent and when edited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testUsername, uniqueTag } from '@chat/common/testing';
import { gql, gqlOk, type GraphQLResponse } from '../kit/client.ts';
import { directChat, registerUser, sendText, type TestUser } from '../kit/seed.ts';
import { startEmbedded, type Embedded } from '../kit/topology.ts';

const REGISTER = 'mutation ($input: RegisterInput!) { register(input: $input) { user { id displayName } } }';
const CREATE_GROUP = 'mutation ($input: CreateGroupChatInput!) { createGroupChat(input: $input) { id title } }';
const CREATE_UPLOAD = 'mutation ($input: CreateUploadInput!) { createUpload(input: $input) { mediaId } }';
const EDIT = 'mutation ($id: ID!, $text: String!) { editMessage(id: $id, text: $text) { text } }';
const HISTORY = 'query ($chatId: ID!) { messages(chatId: $chatId, first: 5) { edges { node { id text } } } }';

const RLO = '\u202E';
const PDF = '\u202C';

function assertInvalidText(result: GraphQLResponse, what: string): void {
  assert.equal(result.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${what}: ${JSON.stringify(result)}`);
  assert.equal(result.errors?.[0]?.extensions?.reason, 'INVALID_TEXT', `${what}: ${JSON.stringify(result)}`);
}

describe('text that cannot impersonate or hide, through the gateway', { timeout: 120_000 }, () => {
  let gateway: Embedded;
  let ann: TestUser;
  let bob: TestUser;

  before(async () => {
    gateway = await startEmbedded();
    [ann, bob] = await Promise.all([registerUser(gateway.url, 'textann'), registerUser(gateway.url, 'textbob')]);
  });
  after(() => gateway?.stop());

  it('refuses display names with bidi controls or nothing visible, and stores them in NFC', async () => {
    for (const [suffix, displayName] of [
      ['rlo', `invoice${RLO}fdp.exe`],
      ['iso', '\u2067Admin\u2069'],
      ['zwsp', '\u200B'],
      ['fill', '\u3164\u200D'],
    ] as const) {
      const input = {
        username: testUsername(`text_${suffix}`, uniqueTag()),
        password: 'a long enough password',
        displayName,
      };
      assertInvalidText(await gql(gateway.url, REGISTER, { input }), `displayName ${JSON.stringify(displayName)}`);
    }
    const composed = await gqlOk<{ register: { user: { displayName: string } } }>(gateway.url, REGISTER, {
      input: {
        username: testUsername('text_nfc', uniqueTag()),
        password: 'a long enough password',
        displayName: 'Zoe\u0301',
      },
    });
    assert.equal(composed.register.user.displayName, 'Zo\u00E9');
  });

  it('refuses such group titles and upload file names', async () => {
    for (const title of [`Trip${RLO}`, '\u200B\u2060']) {
      assertInvalidText(
        await gql(gateway.url, CREATE_GROUP, { input: { title, memberIds: [bob.id] } }, ann.token),
        `title ${JSON.stringify(title)}`,
      );
    }
    for (const fileName of [`invoice${RLO}fdp.exe`, 'report\u2066.pdf', 'folder/\u200B']) {
      const input = { fileName, contentType: 'application/pdf', size: 1000, purpose: 'MESSAGE_ATTACHMENT' };
      assertInvalidText(
        await gql(gateway.url, CREATE_UPLOAD, { input }, ann.token),
        `fileName ${JSON.stringify(fileName)}`,
      );
    }
    const fine = await gql(
      gateway.url,
      CREATE_UPLOAD,
      { input: { fileName: 'résumé.pdf', contentType: 'application/pdf', size: 1000, purpose: 'MESSAGE_ATTACHMENT' } },
      ann.token,
    );
    assert.equal(fine.errors, undefined, JSON.stringify(fine.errors));
  });

  it('closes an unterminated override in message text, when sent and when edited', async () => {
    const chatId = await directChat(gateway.url, ann, bob);
    const sent = await sendText(gateway.url, ann, chatId, `see invoice${RLO}fdp.exe`);
    assert.equal(sent.text, `see invoice${RLO}fdp.exe${PDF}`);
    const edited = await gqlOk<{ editMessage: { text: string } }>(
      gateway.url,
      EDIT,
      { id: sent.id, text: `now${RLO} hidden${PDF}${PDF}` },
      ann.token,
    );
    assert.equal(edited.editMessage.text, `now${RLO} hidden${PDF}`);
    const history = await gqlOk<{ messages: { edges: { node: { id: string; text: string } }[] } }>(
      gateway.url,
      HISTORY,
      { chatId },
      bob.token,
    );
    assert.deepEqual(
      history.messages.edges.map((edge) => edge.node.text),
      [`now${RLO} hidden${PDF}`],
    );
  });
});
