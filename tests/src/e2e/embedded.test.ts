/** The embedded default: `npm start` with no configuration, one process, one port. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { gqlOk, Subscription, wsClient } from '../kit/client.ts';
import { freePort, launch, migratedDataDir, tempDataDir } from '../kit/launcher.ts';
import { registerUser, directChat, sendText } from '../kit/seed.ts';
import { startEmbedded } from '../kit/topology.ts';
import { chatFlowSuite } from './chat-flow.ts';

chatFlowSuite('embedded default: one gateway process with every subgraph in-process', async () => {
  const gateway = await startEmbedded();
  return {
    sendUrl: gateway.url,
    subscribeUrl: gateway.url,
    stop: gateway.stop,
  };
});

describe('embedded default: data on disk', () => {
  // The very first start, from an empty directory (initdb and every migration), as `npm start` does it.
  const data = tempDataDir();
  after(() => data.remove());

  it('survives a restart of the process', async () => {
    const port = await freePort();
    let gateway = await launch('gateway', 'gateway/src/main.ts', { DATA_DIR: data.path }, port);
    const ann = await registerUser(gateway.url, 'ann');
    const bob = await registerUser(gateway.url, 'bob');
    const chatId = await directChat(gateway.url, ann, bob);
    const sent = await sendText(gateway.url, ann, chatId, 'kept on disk');
    await gateway.stop();

    gateway = await launch('gateway', 'gateway/src/main.ts', { DATA_DIR: data.path }, port);
    try {
      // The signing key is kept too: the old token still works.
      const history = await gqlOk<any>(
        gateway.url,
        'query ($chatId: ID!) { messages(chatId: $chatId) { edges { node { id text } } } }',
        { chatId },
        bob.token,
      );
      assert.deepEqual(
        history.messages.edges.map((edge: any) => edge.node),
        [{ id: sent.id, text: 'kept on disk' }],
      );
      const login = await gqlOk<any>(
        gateway.url,
        'mutation ($input: LoginInput!) { login(input: $input) { user { id } } }',
        {
          input: { username: ann.username, password: ann.password },
        },
      );
      assert.equal(login.login.user.id, ann.id);
    } finally {
      await gateway.stop();
    }
  });

  it('closes a WebSocket that presents an invalid token with 4403', async () => {
    const own = await migratedDataDir();
    const gateway = await launch('gateway', 'gateway/src/main.ts', { DATA_DIR: own.path }, await freePort());
    try {
      const client = wsClient(gateway.url, 'not-a-valid-token');
      const subscription = new Subscription(client, 'subscription { messageAdded { id } }');
      await subscription.done;
      assert.equal((subscription.error as { code?: number }).code, 4403);
      await client.dispose();
    } finally {
      await gateway.stop();
      own.remove();
    }
  });

  it('shows GraphiQL to a browser and the composed schema to introspection', async () => {
    const own = await migratedDataDir();
    const gateway = await launch('gateway', 'gateway/src/main.ts', { DATA_DIR: own.path }, await freePort());
    try {
      const page = await fetch(gateway.url, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /graphiql/i);
      const schema = await gqlOk<any>(
        gateway.url,
        '{ __schema { subscriptionType { fields { name } } mutationType { fields { name } } } }',
      );
      const names = (type: any) => type.fields.map((field: any) => field.name);
      assert.deepEqual(names(schema.__schema.subscriptionType).sort(), [
        'chatEvents',
        'connectionChanged',
        'mediaStatusChanged',
        'messageAdded',
        'presenceChanged',
      ]);
      for (const mutation of [
        'register',
        'login',
        'createDirectChat',
        'createGroupChat',
        'sendMessage',
        'editMessage',
        'deleteMessage',
        'reactToMessage',
        'unreactToMessage',
        'markDelivered',
        'markSeen',
        'setTyping',
        'setPresence',
        'inviteConnection',
        'blockUser',
        'refreshToken',
        'logout',
        'changePassword',
        'createUpload',
        'completeUpload',
        'setAvatar',
      ]) {
        assert.ok(names(schema.__schema.mutationType).includes(mutation), mutation);
      }
    } finally {
      await gateway.stop();
      own.remove();
    }
  });
});
