/**
 * No live stream outlives its session or its token, on any transport: a
 * subscription over server-sent events ends with a last UNAUTHENTICATED
 * event and closes, a graphql-ws socket closes with 4403, within 5 s of
 * logout, logoutEverywhere, endSession, changePassword or deleteMyAccount,
 * on every gateway instance; an HTTP stream ends when its token expires; an
 * ended session's token cannot open a socket. And one user's live
 * subscriptions are budgeted across connections and instances, while copies
 * of one subscription share their work.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { EventStream, gql, gqlOk, RawSocket } from '../kit/client.ts';
import { warmUp } from '../kit/readiness.ts';
import { directChat, registerUser, sendText, type TestUser } from '../kit/seed.ts';
import { startDistributed, startEmbedded, type Distributed, type Embedded } from '../kit/topology.ts';

const MESSAGES = 'subscription ($chatId: ID!) { messageAdded(chatId: $chatId) { text } }';
const LOGIN = 'mutation ($input: LoginInput!) { login(input: $input) { accessToken session { id } } }';
/** The promise: streams end within this long of their session. */
const WITHIN_MS = 5_000;

/** A second session of `user` (their phone), whose streams the tests end. */
async function phoneOf(url: string, user: TestUser): Promise<{ token: string; sessionId: string }> {
  const login = (
    await gqlOk(url, LOGIN, { input: { username: user.username, password: user.password, deviceName: 'phone' } })
  ).login;
  return { token: login.accessToken, sessionId: login.session.id };
}

interface Streams {
  sse: EventStream;
  socket: RawSocket;
}

/** A live SSE subscription and a live graphql-ws one on `streamUrl`, both proven live by a first message. */
async function openStreams(
  streamUrl: string,
  sendUrl: string,
  token: string,
  friend: TestUser,
  chatId: string,
): Promise<Streams> {
  const sse = await EventStream.open(streamUrl, MESSAGES, { chatId }, token);
  assert.equal(sse.status, 200);
  const socket = new RawSocket(streamUrl);
  await socket.open(token);
  socket.send({ id: '1', type: 'subscribe', payload: { query: MESSAGES, variables: { chatId } } });
  // Both subscribed before the warm-up is sent: a retry sends another until each has seen one.
  await warmUp(
    (n) => sendText(sendUrl, friend, chatId, `warm-up ${n}`),
    async (ms) => {
      await sse.waitForMatch((event) => event.data?.messageAdded?.text?.startsWith('warm-up'), ms);
      await socket.next(
        (message) => message.type === 'next' && message.payload.data?.messageAdded.text.startsWith('warm-up'),
        ms,
      );
    },
  );
  return { sse, socket };
}

/** Both streams end within {@link WITHIN_MS} of `since`: SSE with a last UNAUTHENTICATED event, the socket with 4403. */
async function assertEnded(
  { sse, socket }: Streams,
  since: number,
  reason: 'SESSION_ENDED' | 'TOKEN_EXPIRED',
  what: string,
): Promise<void> {
  const last = await sse.waitForMatch((event) => !!event.errors, WITHIN_MS + 2_000);
  assert.equal(last.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', `${what}: ${JSON.stringify(last)}`);
  assert.equal(last.errors?.[0]?.extensions?.reason, reason, what);
  const sseEnded = await sse.ended;
  assert.ok(sseEnded - since < WITHIN_MS, `${what}: the SSE stream closed ${sseEnded - since} ms after`);
  if (reason === 'SESSION_ENDED') {
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      socket.closed,
      new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(() => reject(new Error(`${what}: the socket is still open`)), WITHIN_MS + 2_000)),
      ),
    ]);
    clearTimeout(timer);
    assert.deepEqual([closed.code, closed.reason], [4403, 'Session ended'], what);
    assert.ok(closed.at - since < WITHIN_MS, `${what}: the socket closed ${closed.at - since} ms after`);
  }
}

/** A socket opened with `token` is refused at connection_init with 4403 and never acknowledged. */
async function assertSocketRefused(url: string, token: string, what: string): Promise<void> {
  const socket = new RawSocket(url);
  await socket.init(token);
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    socket.closed,
    new Promise<'open'>((resolve) => (timer = setTimeout(() => resolve('open'), 10_000))),
  ]);
  clearTimeout(timer);
  if (closed === 'open') {
    socket.close();
    assert.fail(`${what}: the socket is still open 10 s after connection_init: ${JSON.stringify(socket.messages)}`);
  }
  assert.equal(closed.code, 4403, what);
  assert.equal(
    socket.messages.some((message) => message.type === 'connection_ack'),
    false,
    `${what}: acknowledged`,
  );
}

describe('live streams end with their session (embedded)', () => {
  let embedded: Embedded;
  let url: string;

  before(async () => {
    embedded = await startEmbedded();
    url = embedded.url;
  });
  after(() => embedded?.stop());

  const endings: [string, (victim: TestUser, phone: { token: string; sessionId: string }) => Promise<unknown>][] = [
    ['logout', (_victim, phone) => gqlOk(url, 'mutation { logout }', {}, phone.token)],
    ['logoutEverywhere', (victim) => gqlOk(url, 'mutation { logoutEverywhere }', {}, victim.token)],
    [
      'endSession',
      (victim, phone) =>
        gqlOk(url, 'mutation ($id: ID!) { endSession(id: $id) }', { id: phone.sessionId }, victim.token),
    ],
    [
      'changePassword',
      (victim) =>
        gqlOk(
          url,
          'mutation ($input: ChangePasswordInput!) { changePassword(input: $input) }',
          { input: { currentPassword: victim.password, newPassword: 'a brand new passphrase' } },
          victim.token,
        ),
    ],
    [
      'deleteMyAccount',
      (victim) =>
        gqlOk(url, 'mutation ($p: String!) { deleteMyAccount(password: $p) }', { p: victim.password }, victim.token),
    ],
  ];

  for (const [ending, end] of endings) {
    it(`ends SSE and graphql-ws subscriptions within 5 s of ${ending}, and refuses the token at connection_init`, async () => {
      const [victim, friend] = [await registerUser(url, 'victim'), await registerUser(url, 'friend')];
      const chatId = await directChat(url, friend, victim);
      const phone = await phoneOf(url, victim);
      const streams = await openStreams(url, url, phone.token, friend, chatId);

      const since = Date.now();
      await end(victim, phone);
      await assertEnded(streams, since, 'SESSION_ENDED', ending);
      await assertSocketRefused(url, phone.token, ending);
      // Nothing sent afterwards reaches the ended session over SSE either.
      const late = await EventStream.open(url, MESSAGES, { chatId }, phone.token);
      await late.ended;
      assert.equal(late.events[0]?.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', JSON.stringify(late.events));
    });
  }

  it('leaves the streams of the sessions that go on alone', async () => {
    const [user, friend] = [await registerUser(url, 'keeper'), await registerUser(url, 'friend')];
    const chatId = await directChat(url, friend, user);
    const phone = await phoneOf(url, user);
    const streams = await openStreams(url, url, user.token, friend, chatId);
    await gqlOk(url, 'mutation { logout }', {}, phone.token);
    await sendText(url, friend, chatId, 'still here');
    await streams.sse.waitForMatch((event) => event.data?.messageAdded?.text === 'still here');
    await streams.socket.next(
      (message) => message.type === 'next' && message.payload.data?.messageAdded.text === 'still here',
    );
    streams.sse.close();
    streams.socket.close();
  });
});

describe('an HTTP stream ends when its token expires (10-second tokens)', () => {
  let embedded: Embedded;
  before(async () => {
    embedded = await startEmbedded({ ACCESS_TOKEN_TTL_SECONDS: '10' });
  });
  after(() => embedded?.stop());

  it('ends an SSE subscription with TOKEN_EXPIRED at the expiry of the token it was opened with', async () => {
    const url = embedded.url;
    const [kit, lou] = [await registerUser(url, 'kit'), await registerUser(url, 'lou')];
    const chatId = await directChat(url, lou, kit);
    const login = (await gqlOk(url, LOGIN, { input: { username: kit.username, password: kit.password } })).login;
    const issuedAt = Date.now();
    const streams = await openStreams(url, url, login.accessToken, lou, chatId);
    const last = await streams.sse.waitForMatch((event) => !!event.errors, 20_000);
    assert.equal(last.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    assert.equal(last.errors?.[0]?.extensions?.reason, 'TOKEN_EXPIRED');
    const lifetime = (await streams.sse.ended) - issuedAt;
    assert.ok(lifetime >= 8_500 && lifetime < 10_000 + WITHIN_MS, `ended ${lifetime} ms after the token was issued`);
    streams.socket.close();
  });
});

describe('live streams across gateway instances (distributed, Redis)', () => {
  let topology: Distributed;
  let a: string;
  let b: string;

  before(async () => {
    topology = await startDistributed({ env: { MAX_SUBSCRIPTIONS_PER_USER: '4' } });
    a = topology.gatewayA.url;
    b = topology.gatewayB.url;
  });
  after(() => topology?.stop());

  it('ends streams on every instance: opened on B, logoutEverywhere through A; opened on A, logout through B', async () => {
    const [mia, ned] = [await registerUser(a, 'mia'), await registerUser(a, 'ned')];
    const chatId = await directChat(a, ned, mia);
    const onB = await openStreams(b, a, mia.token, ned, chatId);
    const phone = await phoneOf(a, mia);
    const onA = await openStreams(a, b, phone.token, ned, chatId);

    let since = Date.now();
    await gqlOk(b, 'mutation { logout }', {}, phone.token);
    await assertEnded(onA, since, 'SESSION_ENDED', 'on A, logout through B');
    since = Date.now();
    await gqlOk(a, 'mutation { logoutEverywhere }', {}, mia.token);
    await assertEnded(onB, since, 'SESSION_ENDED', 'on B, logoutEverywhere through A');
    for (const gateway of [a, b]) await assertSocketRefused(gateway, mia.token, gateway);
  });

  it('ends a user’s streams on every instance when an operator cuts them off (npm run sessions:end)', async () => {
    const [uma, vic] = [await registerUser(a, 'uma'), await registerUser(a, 'vic')];
    const chatId = await directChat(a, vic, uma);
    const onA = await openStreams(a, b, uma.token, vic, chatId);
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const script = execFile(process.execPath, ['--import', 'tsx', 'scripts/end-sessions.ts', uma.username], {
      cwd: root,
      env: { ...process.env, ...topology.env, LOG_LEVEL: 'silent' },
    });
    // The promise counts from the moment the sessions ended (the script says so right after), not from the
    // script's own start-up, which takes seconds on a busy machine.
    let stdout = '';
    let since = 0;
    script.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!since && /session\(s\) ended/.test(stdout)) since = Date.now();
    });
    const code = await new Promise((resolve) => script.once('close', resolve));
    assert.equal(code, 0, stdout);
    assert.match(stdout, /1 session\(s\) ended/);
    await assertEnded(onA, since, 'SESSION_ENDED', 'cut off by an operator');
    assert.equal((await gql(b, '{ me { id } }', {}, uma.token)).errors?.[0]?.extensions?.reason, 'SESSION_ENDED');
  });

  it('budgets one user’s live subscriptions over connections, transports and instances', async () => {
    const [oli, pam] = [await registerUser(a, 'oli'), await registerUser(a, 'pam')];
    const chatId = await directChat(a, pam, oli);
    const socket = new RawSocket(a);
    await socket.open(oli.token);
    for (const id of ['1', '2', '3'])
      socket.send({ id, type: 'subscribe', payload: { query: MESSAGES, variables: { chatId } } });
    const sse = await EventStream.open(b, MESSAGES, { chatId }, oli.token);
    assert.equal(sse.status, 200);
    // All four live (B opens its subgraph connection on first use): a retry sends another message until each has one.
    await warmUp(
      (n) => sendText(a, pam, chatId, `four live ${n}`),
      async (ms) => {
        await sse.waitForMatch((event) => !!event.data?.messageAdded, ms);
        for (const id of ['1', '2', '3']) {
          await socket.next((message) => message.id === id && message.type === 'next', ms);
        }
      },
    );

    // The fifth, on either instance and either transport, is over the budget.
    const overSse = await EventStream.open(a, MESSAGES, { chatId }, oli.token);
    await overSse.ended;
    assert.equal(overSse.status, 429);
    const refusal = overSse.events[0]?.errors?.[0]?.extensions;
    assert.deepEqual(
      [refusal?.code, refusal?.reason, refusal?.limit],
      ['RATE_LIMITED', 'SUBSCRIPTION_BUDGET', 4],
      JSON.stringify(overSse.events),
    );
    assert.ok(Number(refusal?.retryAfterSeconds) > 0);
    const other = new RawSocket(b);
    await other.open(oli.token);
    other.send({ id: '9', type: 'subscribe', payload: { query: MESSAGES, variables: { chatId } } });
    const overWs = await other.next(
      (message) => message.id === '9' && (message.type === 'next' || message.type === 'error'),
    );
    const errors = overWs.payload.errors ?? overWs.payload;
    assert.equal(errors[0]?.extensions?.reason, 'SUBSCRIPTION_BUDGET', JSON.stringify(overWs));
    // Another user is not affected.
    const pamStream = await EventStream.open(a, MESSAGES, { chatId }, pam.token);
    assert.equal(pamStream.status, 200);
    pamStream.close();

    // Ending one frees its slot, on every instance.
    socket.send({ id: '2', type: 'complete' });
    const deadline = Date.now() + 10_000;
    for (let attempt = 10; ; attempt++) {
      other.send({ id: String(attempt), type: 'subscribe', payload: { query: MESSAGES, variables: { chatId } } });
      await sendText(a, pam, chatId, `probe ${attempt}`);
      const answer = await other.next((message) => message.id === String(attempt) && message.type === 'next');
      if (!answer.payload.errors) break;
      assert.ok(Date.now() < deadline, `no slot freed: ${JSON.stringify(answer)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    sse.close();
    socket.close();
    other.close();
  });
});

describe('copies of one subscription share their work (embedded)', () => {
  let embedded: Embedded;
  before(async () => {
    embedded = await startEmbedded();
  });
  after(() => embedded?.stop());

  it('delivers one event to 40 copies over two sockets, each frame carrying the whole payload', async () => {
    const url = embedded.url;
    const [quin, rex] = [await registerUser(url, 'quin'), await registerUser(url, 'rex')];
    const chatId = await directChat(url, rex, quin);
    const query =
      'subscription ($chatId: ID!) { messageAdded(chatId: $chatId) { text sender { displayName } chat { id unreadCount } } }';
    const sockets = [new RawSocket(url), new RawSocket(url)];
    for (const socket of sockets) {
      await socket.open(quin.token);
      for (let id = 1; id <= 20; id++)
        socket.send({ id: String(id), type: 'subscribe', payload: { query, variables: { chatId } } });
    }
    try {
      // Every copy live first: a retry sends another warm-up until each has one.
      for (let attempt = 1; ; attempt++) {
        await sendText(url, rex, chatId, `warm-up ${attempt}`);
        const live = sockets.every((socket) =>
          Array.from({ length: 20 }, (_, index) => String(index + 1)).every((id) =>
            socket.messages.some((message) => message.id === id && message.type === 'next'),
          ),
        );
        if (live) break;
        assert.ok(attempt < 20, 'the copies never all went live');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await sendText(url, rex, chatId, 'to every copy');
      for (const socket of sockets) {
        for (let id = 1; id <= 20; id++) {
          const frame = await socket.next(
            (message) =>
              message.id === String(id) &&
              message.type === 'next' &&
              message.payload.data?.messageAdded.text === 'to every copy',
          );
          assert.deepEqual(frame, {
            id: String(id),
            type: 'next',
            payload: {
              data: {
                messageAdded: {
                  text: 'to every copy',
                  sender: { displayName: rex.displayName },
                  chat: { id: chatId, unreadCount: frame.payload.data.messageAdded.chat.unreadCount },
                },
              },
            },
          });
        }
      }
    } finally {
      for (const socket of sockets) socket.close();
    }
    const result = await gql(url, '{ me { id } }', {}, quin.token);
    assert.equal((result.data as any)?.me.id, quin.id, 'the gateway is fine');
  });
});
