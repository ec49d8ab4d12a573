/**
 * The user's data export end to end: `exportMyData` through the gateway and
 * the same archive downloaded from `GET /export`, holding everything the
 * user owns (profile with contact details, contacts, chats, every message
 * they sent, from every subgraph) and nothing of other people's messages.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gql, gqlOk } from '../kit/client.ts';
import { directChat, openToGroups, registerUser, sendText, type TestUser } from '../kit/seed.ts';
import { startDistributed, startEmbedded } from '../kit/topology.ts';
import { eventually } from './chat-flow.ts';

interface Deployment {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

function exportSuite(name: string, start: () => Promise<Deployment>): void {
  describe(name, () => {
    let deployment: Deployment;
    let ann: TestUser;
    let bob: TestUser;
    let carl: TestUser;
    let dave: TestUser;
    let eve: TestUser;
    const annSent: string[] = [];
    const othersSent: string[] = [];
    let group: string;
    let direct: string;
    const email = `ann.${Date.now().toString(36)}@example.com`;

    before(async () => {
      deployment = await start();
      const { url } = deployment;
      [ann, bob, carl, dave, eve] = await Promise.all([
        registerUser(url, 'ann'),
        registerUser(url, 'bob'),
        registerUser(url, 'carl'),
        registerUser(url, 'dave'),
        registerUser(url, 'eve'),
      ]);
      await gqlOk(
        url,
        'mutation ($v: String!) { requestEmailChange(newEmail: $v) { sentTo } }',
        { v: email },
        ann.token,
      );
      const outbox = join(deployment.dataDir, 'outbox');
      const sent = readdirSync(outbox).map(
        (file) => JSON.parse(readFileSync(join(outbox, file), 'utf8')) as { to: string; text: string },
      );
      const code = /\b(\d{6})\b/.exec(sent.find((message) => message.to === email)?.text ?? '')?.[1];
      await gqlOk(url, 'mutation ($c: String!) { confirmEmailChange(code: $c) { id } }', { c: code }, ann.token);

      // Open to groups rather than connected: the export's contacts stay as the test sets them.
      await openToGroups(url, bob);
      group = (
        await gqlOk<any>(
          url,
          'mutation ($i: CreateGroupChatInput!) { createGroupChat(input: $i) { id } }',
          { i: { title: 'Book club', memberIds: [bob.id] } },
          ann.token,
        )
      ).createGroupChat.id;
      direct = await directChat(url, ann, carl);
      for (const [who, chat, text] of [
        [ann, group, 'Ann: chapter 3 tonight?'],
        [bob, group, 'Bob: yes'],
        [ann, direct, 'Ann: lunch?'],
        [carl, direct, 'Carl: sure'],
        [ann, group, 'Ann: great'],
      ] as const) {
        await sendText(url, who, chat, text);
        (who === ann ? annSent : othersSent).push(text);
      }
      await gqlOk(url, 'mutation ($u: ID!) { inviteConnection(userId: $u) { status } }', { u: dave.id }, ann.token);
      await gqlOk(url, 'mutation ($u: ID!) { acceptConnection(userId: $u) { status } }', { u: ann.id }, dave.token);
      await gqlOk(url, 'mutation ($u: ID!) { blockUser(userId: $u) { status } }', { u: eve.id }, ann.token);
      // In the distributed mode messages reach history a moment after the acknowledgement.
      await eventually(
        () =>
          gqlOk<any>(
            url,
            'query ($c: ID!) { messages(chatId: $c) { edges { node { text } } } }',
            { c: group },
            ann.token,
          ),
        (data) => data.messages.edges.length >= 3,
      );
    });
    after(() => deployment?.stop());

    it("downloads everything the user owns, and nothing of other people's messages, as a JSON file", async () => {
      const response = await fetch(deployment.url.replace(/\/graphql$/, '/export'), {
        headers: { authorization: `Bearer ${ann.token}` },
      });
      assert.equal(response.status, 200);
      assert.match(
        response.headers.get('content-disposition') ?? '',
        new RegExp(`attachment; filename="chat-export-${ann.id}-\\d{4}-\\d\\d-\\d\\d\\.json"`),
      );
      const archive = (await response.json()) as any;
      assert.equal(archive.format, 'federated-chat-export/1');
      assert.deepEqual(
        [archive.userId, archive.profile.id, archive.profile.username, archive.profile.email],
        [ann.id, ann.id, ann.username, email],
      );
      assert.deepEqual(
        archive.contacts.map((contact: any) => [contact.user.id, contact.status]).sort(),
        [
          [dave.id, 'CONNECTED'],
          [eve.id, 'BLOCKED'],
        ].sort(),
      );
      assert.deepEqual(archive.chats.map((chat: any) => chat.id).sort(), [group, direct].sort());
      const book = archive.chats.find((chat: any) => chat.id === group);
      assert.deepEqual(book.members.map((member: any) => member.user.id).sort(), [ann.id, bob.id].sort());
      assert.deepEqual(
        archive.messages.map((message: any) => message.text),
        annSent,
        'every message Ann sent, oldest first',
      );
      const text = JSON.stringify(archive);
      for (const other of othersSent)
        assert.ok(!text.includes(other), `another user's message in the export: ${other}`);
      assert.ok(!text.includes(carl.password) && !text.includes('passwordHash'));
    });

    it('answers the same through GraphQL, and refuses an anonymous caller', async () => {
      const data = await gqlOk<any>(
        deployment.url,
        'mutation { exportMyData { userId messages { text } chats { id } contacts { status } } }',
        {},
        bob.token,
      );
      assert.deepEqual(
        data.exportMyData.messages.map((message: any) => message.text),
        ['Bob: yes'],
      );
      assert.deepEqual(
        data.exportMyData.chats.map((chat: any) => chat.id),
        [group],
      );
      const anonymous = await gql(deployment.url, 'mutation { exportMyData { userId } }');
      assert.equal(anonymous.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      const download = await fetch(deployment.url.replace(/\/graphql$/, '/export'));
      assert.equal(download.status, 401);
      const forged = await fetch(deployment.url.replace(/\/graphql$/, '/export'), {
        headers: { authorization: 'Bearer not-a-token' },
      });
      assert.equal(forged.status, 401);
    });
  });
}

exportSuite('data export on the embedded default', async () => {
  const gateway = await startEmbedded();
  return {
    url: gateway.url,
    dataDir: gateway.dataDir,
    stop: gateway.stop,
  };
});

exportSuite('data export on the distributed backplane (history in Cassandra)', async () => {
  const topology = await startDistributed({ backplane: { consumers: 1 } });
  return { url: topology.gatewayB.url, dataDir: topology.env.DATA_DIR!, stop: topology.stop };
});
