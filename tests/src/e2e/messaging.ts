/**
 * Messaging beyond sending, end to end through the gateway over HTTP and
 * graphql-ws: edits, deletions, reactions, receipts, history around a point,
 * typing, each with its `chatEvents` event on the other member's device and
 * on the actor's second device, and the refusals with nothing changed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { codeOf, gql, gqlOk, Subscription, wsClient, type GraphQLResponse } from '../kit/client.ts';
import { connectAll, directChat, registerUser, sendText, type TestUser } from '../kit/seed.ts';
import { eventually, type Topology } from './chat-flow.ts';

export interface MessagingTopology extends Topology {
  /** Every copy of the message's text the stores hold (history, idempotency key), read directly; absent where the test cannot reach the stores. */
  storedTexts?: (messageId: string) => Promise<string[]>;
}

/** Typing indicators last this long in these topologies (TYPING_TTL_MS). */
export const TEST_TYPING_TTL_MS = 1_000;

const EVENTS = `subscription ($chatId: ID) {
  chatEvents(chatId: $chatId) {
    __typename
    ... on MessageAdded { chat { id } message { id text } }
    ... on MessageEdited { chat { id } message { id text editedAt } }
    ... on MessageDeleted { chat { id } forEveryone message { id text deletedAt } }
    ... on ReactionsChanged { chat { id } user { id } emoji added message { id reactions { emoji count } } }
    ... on ReceiptsUpdated { chat { id } user { id } deliveredUpTo { id } seenUpTo { id } deliveredAt seenAt }
    ... on TypingChanged { chat { id } user { id displayName } typing expiresAt }
  }
}`;

const MESSAGE_FIELDS =
  'id text editedAt deletedAt kind reactions { emoji count reactedByMe } status receipts { user { id } deliveredAt seenAt }';

type Event = GraphQLResponse<{ chatEvents: any }>;
const ofType =
  (type: string, match: (event: any) => boolean = () => true) =>
  (response: Event) =>
    response.data?.chatEvents.__typename === type && match(response.data.chatEvents);

const reasonOf = (response: { errors?: readonly { extensions?: Record<string, unknown> }[] }) =>
  response.errors?.[0]?.extensions?.reason;

export function messagingSuite(name: string, start: () => Promise<MessagingTopology>): void {
  describe(name, () => {
    let topology: MessagingTopology;
    let ann: TestUser;
    let bob: TestUser;
    let eve: TestUser;
    let chatId: string;
    /** Bob's phone, and Ann's second device: both follow the chat. */
    const clients: ReturnType<typeof wsClient>[] = [];
    let bobEvents: Subscription<{ chatEvents: any }>;
    let annSecondDevice: Subscription<{ chatEvents: any }>;

    const message = async (id: string, as: TestUser) =>
      (
        await gqlOk<any>(
          topology.sendUrl,
          `query ($chatId: ID!) { messages(chatId: $chatId, first: 100) { edges { node { ${MESSAGE_FIELDS} } } } }`,
          { chatId },
          as.token,
        )
      ).messages.edges
        .map((edge: any) => edge.node)
        .find((node: any) => node.id === id);
    /** The message as `as` sees it in history, once it is there (the distributed mode places it a moment after the acknowledgement). */
    const placed = (id: string, as: TestUser) =>
      eventually(
        () => message(id, as),
        (node) => node !== undefined,
      );

    before(async () => {
      topology = await start();
      [ann, bob, eve] = await Promise.all([
        registerUser(topology.sendUrl, 'ann'),
        registerUser(topology.sendUrl, 'bob'),
        registerUser(topology.sendUrl, 'eve'),
      ]);
      chatId = await directChat(topology.sendUrl, ann, bob);
      const bobClient = wsClient(topology.subscribeUrl, bob.token);
      const annClient = wsClient(topology.subscribeUrl, ann.token);
      clients.push(bobClient, annClient);
      bobEvents = new Subscription(bobClient, EVENTS, { chatId });
      annSecondDevice = new Subscription(annClient, EVENTS, { chatId });
      // Live once both devices receive a message.
      for (let n = 1; ; n++) {
        const sent = await sendText(topology.sendUrl, ann, chatId, `warm-up ${n}`);
        const live = (s: Subscription<{ chatEvents: any }>) =>
          s
            .waitForMatch(
              ofType('MessageAdded', (e) => e.message.id === sent.id),
              300,
            )
            .then(
              () => true,
              () => false,
            );
        if ((await live(bobEvents)) && (await live(annSecondDevice))) break;
        if (n === 50) throw new Error('chatEvents never became live');
      }
    });
    after(async () => {
      bobEvents?.stop();
      annSecondDevice?.stop();
      await Promise.all(clients.map(async (client) => client.dispose()));
      await topology?.stop();
    });

    it('edits a message: the sender only, the event on both devices, history updated', async () => {
      const sent = await sendText(topology.sendUrl, ann, chatId, 'Helo');
      const edited = await gqlOk<any>(
        topology.sendUrl,
        `mutation ($id: ID!) { editMessage(id: $id, text: "Hello") { ${MESSAGE_FIELDS} } }`,
        { id: sent.id },
        ann.token,
      );
      assert.equal(edited.editMessage.text, 'Hello');
      assert.ok(edited.editMessage.editedAt);
      for (const device of [bobEvents, annSecondDevice]) {
        const event = (await device.waitForMatch(ofType('MessageEdited', (e) => e.message.id === sent.id))).data!
          .chatEvents;
        assert.deepEqual(event, {
          __typename: 'MessageEdited',
          chat: { id: chatId },
          message: { id: sent.id, text: 'Hello', editedAt: edited.editMessage.editedAt },
        });
      }
      assert.equal((await message(sent.id, bob)).text, 'Hello');

      // Refusals, and nothing changed by them.
      const bobEdits = await gql(
        topology.sendUrl,
        'mutation ($id: ID!) { editMessage(id: $id, text: "mine now") { id } }',
        { id: sent.id },
        bob.token,
      );
      assert.equal(codeOf(bobEdits), 'FORBIDDEN');
      const eveEdits = await gql(
        topology.sendUrl,
        'mutation ($id: ID!) { editMessage(id: $id, text: "hi") { id } }',
        { id: sent.id },
        eve.token,
      );
      assert.equal(codeOf(eveEdits), 'NOT_FOUND', 'not in the chat: as for an unknown message');
      const empty = await gql(
        topology.sendUrl,
        'mutation ($id: ID!) { editMessage(id: $id, text: "   ") { id } }',
        { id: sent.id },
        ann.token,
      );
      assert.equal(codeOf(empty), 'BAD_USER_INPUT');
      const unknown = await gql(
        topology.sendUrl,
        'mutation { editMessage(id: "123456789", text: "x") { id } }',
        {},
        ann.token,
      );
      assert.equal(codeOf(unknown), 'NOT_FOUND');
      const anonymous = await gql(topology.sendUrl, 'mutation ($id: ID!) { editMessage(id: $id, text: "x") { id } }', {
        id: sent.id,
      });
      assert.equal(codeOf(anonymous), 'UNAUTHENTICATED');
      const after = await message(sent.id, ann);
      assert.equal(after.text, 'Hello');
      assert.equal(after.editedAt, edited.editMessage.editedAt);
    });

    it('deletes for everyone: a tombstone everywhere, the content gone from storage, no edit afterwards', async () => {
      const sent = await sendText(topology.sendUrl, ann, chatId, 'a secret to unsay');
      await placed(sent.id, ann);
      await gqlOk(
        topology.sendUrl,
        'mutation ($id: ID!) { reactToMessage(messageId: $id, emoji: "😮") { id } }',
        { id: sent.id },
        bob.token,
      );
      const bobDeletes = await gql(
        topology.sendUrl,
        'mutation ($id: ID!) { deleteMessage(id: $id, forEveryone: true) { id } }',
        { id: sent.id },
        bob.token,
      );
      assert.equal(codeOf(bobDeletes), 'FORBIDDEN', 'only the sender (or a group admin) deletes for everyone');

      const deleted = await gqlOk<any>(
        topology.sendUrl,
        'mutation ($id: ID!) { deleteMessage(id: $id, forEveryone: true) { id text deletedAt } }',
        { id: sent.id },
        ann.token,
      );
      assert.equal(deleted.deleteMessage.text, '');
      assert.ok(deleted.deleteMessage.deletedAt);
      for (const device of [bobEvents, annSecondDevice]) {
        const event = (await device.waitForMatch(ofType('MessageDeleted', (e) => e.message.id === sent.id))).data!
          .chatEvents;
        assert.equal(event.forEveryone, true);
        assert.equal(event.message.text, '');
      }
      const tombstone = await message(sent.id, bob);
      assert.deepEqual({ text: tombstone.text, reactions: tombstone.reactions }, { text: '', reactions: [] });
      assert.ok(tombstone.deletedAt);
      if (topology.storedTexts)
        assert.deepEqual(
          (await topology.storedTexts(sent.id)).filter((text) => text.includes('secret')),
          [],
        );

      const again = await gqlOk<any>(
        topology.sendUrl,
        'mutation ($id: ID!) { deleteMessage(id: $id, forEveryone: true) { deletedAt } }',
        { id: sent.id },
        ann.token,
      );
      assert.equal(again.deleteMessage.deletedAt, deleted.deleteMessage.deletedAt, 'deleting again changes nothing');
      const edit = await gql(
        topology.sendUrl,
        'mutation ($id: ID!) { editMessage(id: $id, text: "back") { id } }',
        { id: sent.id },
        ann.token,
      );
      assert.equal(codeOf(edit), 'BAD_USER_INPUT');
      assert.equal(reasonOf(edit), 'MESSAGE_DELETED');
      const react = await gql(
        topology.sendUrl,
        'mutation ($id: ID!) { reactToMessage(messageId: $id, emoji: "👍") { id } }',
        { id: sent.id },
        bob.token,
      );
      assert.equal(codeOf(react), 'BAD_USER_INPUT');
      assert.equal((await message(sent.id, ann)).text, '');
    });

    it('deletes for me: hidden from my history on every device of mine, kept for the others', async () => {
      const sent = await sendText(topology.sendUrl, ann, chatId, 'only Ann hides this');
      await placed(sent.id, ann);
      const hidden = await gqlOk<any>(
        topology.sendUrl,
        'mutation ($id: ID!) { deleteMessage(id: $id) { id text } }',
        { id: sent.id },
        ann.token,
      );
      assert.equal(hidden.deleteMessage.text, 'only Ann hides this');
      const event = (await annSecondDevice.waitForMatch(ofType('MessageDeleted', (e) => e.message.id === sent.id)))
        .data!.chatEvents;
      assert.equal(event.forEveryone, false);
      assert.equal(await message(sent.id, ann), undefined);
      assert.equal((await message(sent.id, bob)).text, 'only Ann hides this');
      const eveHides = await gql(
        topology.sendUrl,
        'mutation ($id: ID!) { deleteMessage(id: $id) { id } }',
        { id: sent.id },
        eve.token,
      );
      assert.equal(codeOf(eveHides), 'NOT_FOUND');
    });

    it('reacts: one reaction per emoji per user, counts and reactedByMe, events both ways, refusals', async () => {
      const sent = await sendText(topology.sendUrl, ann, chatId, 'react to me');
      await placed(sent.id, ann);
      const react = (user: TestUser, emoji: string, add = true) =>
        gql<any>(
          topology.sendUrl,
          `mutation ($id: ID!, $emoji: String!) { ${add ? 'reactToMessage' : 'unreactToMessage'}(messageId: $id, emoji: $emoji) { id reactions { emoji count reactedByMe } } }`,
          { id: sent.id, emoji },
          user.token,
        );
      await react(bob, '👍');
      await react(bob, '👍'); // again: nothing new
      const both = await react(ann, '👍');
      assert.deepEqual(both.data.reactToMessage.reactions, [{ emoji: '👍', count: 2, reactedByMe: true }]);
      await react(bob, '❤️');
      await bobEvents.waitForMatch(
        ofType('ReactionsChanged', (e) => e.emoji === '❤️' && e.user.id === bob.id),
        10_000,
      );
      const event = (await annSecondDevice.waitForMatch(ofType('ReactionsChanged', (e) => e.emoji === '❤️'))).data!
        .chatEvents;
      assert.deepEqual(
        { user: event.user.id, added: event.added, reactions: event.message.reactions },
        {
          user: bob.id,
          added: true,
          reactions: [
            { emoji: '👍', count: 2 },
            { emoji: '❤️', count: 1 },
          ],
        },
      );
      await bobEvents.waitForMatch(ofType('ReactionsChanged', (e) => e.user.id === ann.id && e.message.id === sent.id));
      const removed = await react(bob, '👍', false);
      assert.deepEqual(removed.data.unreactToMessage.reactions, [
        { emoji: '👍', count: 1, reactedByMe: false },
        { emoji: '❤️', count: 1, reactedByMe: true },
      ]);
      await annSecondDevice.waitForMatch(
        ofType('ReactionsChanged', (e) => e.user.id === bob.id && e.emoji === '👍' && e.added === false),
      );

      for (const bad of ['a', '👍👍', '', ':)'])
        assert.equal(codeOf(await react(bob, bad)), 'BAD_USER_INPUT', `emoji ${JSON.stringify(bad)}`);
      assert.equal(codeOf(await react(eve, '👍')), 'NOT_FOUND');
      const now = await message(sent.id, ann);
      assert.deepEqual(now.reactions, [
        { emoji: '👍', count: 1, reactedByMe: true },
        { emoji: '❤️', count: 1, reactedByMe: false },
      ]);
    });

    it('tracks delivery and seen receipts: status and receipts for the sender, unread counts, monotonic', async () => {
      const first = await sendText(topology.sendUrl, ann, chatId, 'receipt one');
      const second = await sendText(topology.sendUrl, ann, chatId, 'receipt two');
      await placed(second.id, ann);
      assert.equal((await message(second.id, ann)).status, 'SENT');
      assert.equal((await message(second.id, bob)).status, null, 'status is for the sender only');
      assert.equal((await message(second.id, bob)).receipts, null);

      const mark = (kind: 'markDelivered' | 'markSeen', upTo: string, as = bob) =>
        gql<any>(
          topology.sendUrl,
          `mutation ($chatId: ID!, $upTo: ID!) { ${kind}(chatId: $chatId, upToMessageId: $upTo) { user { id } deliveredUpTo { id } seenUpTo { id } deliveredAt seenAt } }`,
          { chatId, upTo },
          as.token,
        );
      const delivered = await mark('markDelivered', second.id);
      assert.equal(delivered.errors, undefined, JSON.stringify(delivered.errors));
      assert.equal(delivered.data.markDelivered.deliveredUpTo.id, second.id);
      const receiptEvent = (
        await annSecondDevice.waitForMatch(ofType('ReceiptsUpdated', (e) => e.deliveredUpTo?.id === second.id))
      ).data!.chatEvents;
      assert.equal(receiptEvent.user.id, bob.id);
      const afterDelivery = await message(second.id, ann);
      assert.equal(afterDelivery.status, 'DELIVERED');
      assert.equal(afterDelivery.receipts.length, 1);
      assert.equal(afterDelivery.receipts[0].user.id, bob.id);
      assert.ok(afterDelivery.receipts[0].deliveredAt);
      assert.equal(afterDelivery.receipts[0].seenAt, null);

      const unread = async () =>
        (
          await gqlOk<any>(
            topology.sendUrl,
            'query ($id: ID!) { chat(id: $id) { unreadCount } }',
            { id: chatId },
            bob.token,
          )
        ).chat.unreadCount;
      await mark('markSeen', first.id);
      assert.equal(await unread(), 1, 'one message from Ann after the seen one');
      assert.equal((await message(first.id, ann)).status, 'SEEN');
      assert.equal((await message(second.id, ann)).status, 'DELIVERED');
      const seen = await mark('markSeen', second.id);
      assert.equal(seen.data.markSeen.seenUpTo.id, second.id);
      assert.equal(await unread(), 0);
      await bobEvents.waitForMatch(
        ofType('ReceiptsUpdated', (e) => e.seenUpTo?.id === second.id),
        10_000,
      );
      const seenByBob = await message(second.id, ann);
      assert.equal(seenByBob.status, 'SEEN');
      assert.ok(seenByBob.receipts[0].seenAt);

      // Backwards is refused and changes nothing; the same position again is accepted and changes nothing.
      const backwards = await mark('markSeen', first.id);
      assert.equal(codeOf(backwards), 'BAD_USER_INPUT');
      assert.equal(reasonOf(backwards), 'RECEIPT_BACKWARDS');
      const same = await mark('markSeen', second.id);
      assert.equal(same.data.markSeen.seenAt, seen.data.markSeen.seenAt);
      assert.equal(await unread(), 0);
      assert.equal(codeOf(await mark('markSeen', second.id, eve)), 'NOT_FOUND');
    });

    it('pages history around a message or a time, both ways', async () => {
      const other = await registerUser(topology.sendUrl, 'carl');
      const chat = await directChat(topology.sendUrl, ann, other);
      const sent: { id: string; text: string }[] = [];
      for (let n = 1; n <= 21; n++) sent.push(await sendText(topology.sendUrl, ann, chat, `m${n}`));
      const page = (args: string, variables: Record<string, unknown> = {}) =>
        gqlOk<any>(
          topology.sendUrl,
          `query ($chatId: ID!${Object.keys(variables)
            .map((key) => `, $${key}: String`)
            .join(
              '',
            )}) { messages(chatId: $chatId, ${args}) { edges { cursor node { id text createdAt } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
          { chatId: chat, ...variables },
          ann.token,
        ).then((data) => data.messages);
      const texts = (connection: any) => connection.edges.map((edge: any) => edge.node.text);
      await eventually(
        () => page('first: 1'),
        (connection) => texts(connection)[0] === 'm21',
      );

      const around = await page('first: 5, around: $around', { around: sent[10]!.id });
      assert.deepEqual(texts(around), ['m13', 'm12', 'm11', 'm10', 'm9']);
      assert.deepEqual([around.pageInfo.hasNextPage, around.pageInfo.hasPreviousPage], [true, true]);
      const newer = await page('first: 5, after: $after', { after: around.pageInfo.startCursor });
      assert.deepEqual(texts(newer), ['m18', 'm17', 'm16', 'm15', 'm14']);
      const older = await page('first: 5, before: $before', { before: around.pageInfo.endCursor });
      assert.deepEqual(texts(older), ['m8', 'm7', 'm6', 'm5', 'm4']);
      const newest = await page('first: 5, after: $after', { after: newer.pageInfo.startCursor });
      assert.deepEqual(texts(newest), ['m21', 'm20', 'm19']);
      assert.equal(newest.pageInfo.hasPreviousPage, false);

      const m7 = (await page('first: 21')).edges.find((edge: any) => edge.node.text === 'm7').node;
      const atTime = await page('first: 3, around: $around', { around: m7.createdAt });
      assert.ok(texts(atTime).includes('m7'), `around ${m7.createdAt}: ${texts(atTime)}`);
      const beforeAll = await page('first: 3, around: $around', { around: '2001-01-01' });
      assert.deepEqual(texts(beforeAll), ['m3', 'm2', 'm1']);
      assert.equal(beforeAll.pageInfo.hasNextPage, false);

      for (const [args, variables] of [
        ['around: $around', { around: 'yesterday' }],
        ['around: $around, before: $before', { around: sent[0]!.id, before: around.pageInfo.endCursor }],
      ] as const) {
        const definitions = Object.keys(variables)
          .map((key) => `, $${key}: String`)
          .join('');
        const refused = await gql(
          topology.sendUrl,
          `query ($chatId: ID!${definitions}) { messages(chatId: $chatId, ${args}) { edges { cursor } } }`,
          { chatId: chat, ...variables },
          ann.token,
        );
        assert.equal(codeOf(refused), 'BAD_USER_INPUT', args);
      }
      const foreign = await gql(
        topology.sendUrl,
        'query ($chatId: ID!, $around: String) { messages(chatId: $chatId, around: $around) { edges { cursor } } }',
        { chatId, around: sent[0]!.id },
        ann.token,
      );
      assert.equal(codeOf(foreign), 'NOT_FOUND', 'a message of another chat');
    });

    it("in a group: an admin deletes anyone's message for everyone, a member cannot, and a member who left can do nothing more", async () => {
      const carl = await registerUser(topology.sendUrl, 'carl');
      await connectAll(topology.sendUrl, ann, [bob, carl]);
      const group = (
        await gqlOk<any>(
          topology.sendUrl,
          'mutation ($input: CreateGroupChatInput!) { createGroupChat(input: $input) { id } }',
          { input: { title: 'Crew', memberIds: [bob.id, carl.id] } },
          ann.token,
        )
      ).createGroupChat.id as string;
      const fromCarl = await sendText(topology.sendUrl, carl, group, 'carl was here');
      const fromBob = await sendText(topology.sendUrl, bob, group, 'bob was here');
      await eventually(
        () =>
          gqlOk<any>(
            topology.sendUrl,
            'query ($chatId: ID!) { messages(chatId: $chatId) { edges { node { id } } } }',
            { chatId: group },
            ann.token,
          ),
        (data) => data.messages.edges.some((edge: any) => edge.node.id === fromBob.id),
      );
      const deleteFor = (user: TestUser, id: string) =>
        gql<any>(
          topology.sendUrl,
          'mutation ($id: ID!) { deleteMessage(id: $id, forEveryone: true) { id deletedAt } }',
          { id },
          user.token,
        );
      assert.equal(
        codeOf(await deleteFor(bob, fromCarl.id)),
        'FORBIDDEN',
        "a MEMBER may not delete someone else's message",
      );
      const byOwner = await deleteFor(ann, fromCarl.id);
      assert.equal(byOwner.errors, undefined, JSON.stringify(byOwner.errors));
      assert.ok(byOwner.data.deleteMessage.deletedAt);

      await gqlOk(
        topology.sendUrl,
        'mutation ($chatId: ID!) { leaveChat(chatId: $chatId) }',
        { chatId: group },
        carl.token,
      );
      const react = await gql(
        topology.sendUrl,
        'mutation ($id: ID!) { reactToMessage(messageId: $id, emoji: "👍") { id } }',
        { id: fromBob.id },
        carl.token,
      );
      assert.equal(codeOf(react), 'NOT_FOUND', 'react in a chat you left: as for an unknown message');
      const seen = await gql(
        topology.sendUrl,
        'mutation ($chatId: ID!, $id: ID!) { markSeen(chatId: $chatId, upToMessageId: $id) { seenAt } }',
        { chatId: group, id: fromBob.id },
        carl.token,
      );
      assert.equal(codeOf(seen), 'NOT_FOUND');
      const read = await gql(
        topology.sendUrl,
        'query ($chatId: ID!) { messages(chatId: $chatId) { edges { node { id } } } }',
        { chatId: group },
        carl.token,
      );
      assert.equal(codeOf(read), 'NOT_FOUND');
      const bobsView = await gqlOk<any>(
        topology.sendUrl,
        'query ($id: ID!) { messages(chatId: $id) { edges { node { id reactions { emoji } } } } }',
        { id: group },
        bob.token,
      );
      assert.deepEqual(bobsView.messages.edges.find((edge: any) => edge.node.id === fromBob.id).node.reactions, []);

      // The group's history tells its story in SYSTEM messages, through the outbox and the log of this topology.
      const story = await eventually(
        () =>
          gqlOk<any>(
            topology.sendUrl,
            'query ($id: ID!) { messages(chatId: $id) { edges { node { kind text systemEvent { action actor { id } users { id } } } } } }',
            { id: group },
            bob.token,
          ),
        (data) => data.messages.edges.filter((edge: any) => edge.node.kind === 'SYSTEM').length === 2,
      );
      const system = story.messages.edges
        .filter((edge: any) => edge.node.kind === 'SYSTEM')
        .map((edge: any) => edge.node.systemEvent);
      assert.deepEqual(system, [
        { action: 'MEMBER_LEFT', actor: { id: carl.id }, users: [{ id: carl.id }] },
        { action: 'CHAT_CREATED', actor: { id: ann.id }, users: [] },
      ]);
    });

    it('shows typing to the other member and my second device, and ends it by itself', async () => {
      const started = Date.now();
      assert.equal(
        (
          await gqlOk<any>(
            topology.sendUrl,
            'mutation ($chatId: ID!) { setTyping(chatId: $chatId, typing: true) }',
            { chatId },
            ann.token,
          )
        ).setTyping,
        true,
      );
      for (const device of [bobEvents, annSecondDevice]) {
        const on = (await device.waitForMatch(ofType('TypingChanged', (e) => e.user.id === ann.id && e.typing))).data!
          .chatEvents;
        assert.ok(Date.parse(on.expiresAt) > started);
        assert.equal(on.user.displayName, ann.displayName);
      }
      // Nobody says "stopped": it lapses by itself after TYPING_TTL_MS.
      const off = (
        await bobEvents.waitForMatch(
          ofType('TypingChanged', (e) => e.user.id === ann.id && !e.typing),
          10_000,
        )
      ).data!.chatEvents;
      assert.equal(off.expiresAt, null);
      assert.ok(Date.now() - started >= TEST_TYPING_TTL_MS - 50);

      const eveTypes = await gql(
        topology.sendUrl,
        'mutation ($chatId: ID!) { setTyping(chatId: $chatId, typing: true) }',
        { chatId },
        eve.token,
      );
      assert.equal(codeOf(eveTypes), 'NOT_FOUND');
    });
  });
}
