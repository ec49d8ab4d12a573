/**
 * Issue 8, scenario 2, "fanout": N graphql-ws subscribers receiving federated
 * `messageAdded` payloads through one gateway process, against a bare
 * graphql-ws server delivering the same payload (the practical ceiling of
 * Node on this machine).
 *
 * Variants:
 * - `this-gateway` (subject): `gateway/src/main.ts`, every subgraph mounted
 *   in its process, in-process pub/sub (no REDIS_URL), on Postgres
 *   (DATABASE_URL: a database of the run's own on 127.0.0.1:5432, see
 *   seeding), a fresh DATA_DIR, WORKER_ID=0. NODE_ENV=development, so every
 *   limit keeps its production default except two set `off` explicitly:
 *   WS_MAX_CONNECTIONS_PER_IP (all 10,000 clients come from 127.0.0.1) and
 *   RATE_LIMIT_GENERAL (the capacity phase sends far more than 300 messages a
 *   minute per sender). Per-user connection limits, subscribe rates and
 *   document limits stay on.
 * - `bare-graphql-ws` (baseline): `bench/src/fanout/bare-server.ts`, `ws` +
 *   graphql-ws `useServer`, a non-federated schema with the same payload
 *   shape, an in-process pub/sub with a topic per user (one publish per
 *   member, as the product does), no authentication, no database.
 *
 * Population: users in group chats of CHAT_SIZE = 50 (realistic groups: the
 * product allows 256 at creation); every member subscribes with
 * `messageAdded` (no chatId: all their chats) selecting
 * `{ id text createdAt sender { id displayName } chat { id } }` (sender's
 * name from the users subgraph: one entity fetch per event and subscriber).
 * The chat's owner sends (over HTTP, `sendMessage`), so each message is 50
 * deliveries, the sender's own included. Case N uses the first N users
 * (N / 50 chats).
 *
 * Seeding (once, in setup): a fresh Postgres database, migrated, with users,
 * sessions, chats and members inserted in bulk by SQL, and a token per user
 * signed with secrets generated for the run (`generateSecrets()`), which the
 * gateway runs with: about 2 s for 10,000 users, where `register` (argon2id,
 * ~50 ms of CPU each) would take minutes (bench/src/fanout/seed.ts). The
 * time is printed in the description.
 *
 * Per variant and case, once (the first run of the case; the server and
 * its subscribers then stay up for the case's other runs, since starting a
 * gateway and subscribing 10,000 clients takes longer than a run's
 * measurement, and `npm run bench -- fanout` must stay under 8 minutes):
 * 1. start a fresh server; pre-warm with one chat's 50 clients (subscribe,
 *    warm-up deliveries), close them; force a GC (inspector) and read RSS;
 * 2. open N clients from LOAD_PROCESSES forked load-client processes (raw
 *    `ws` speaking graphql-transport-ws, bench/src/fanout/load-client.ts),
 *    each subscribing on `connection_ack`; then prove every subscription live
 *    with warm-up messages (sent again to chats with members still waiting,
 *    until all received one): `subscribe` is the time from the first
 *    connection to the last client live;
 * 3. 1 s idle, GC, RSS again: `memory/connection` = RSS growth ÷ N.
 * These two figures are therefore one measurement per case (spread ±0%).
 *
 * Every run (variant × case), on the connected subscribers:
 * 4. fixed rate: FIXED_RATE = 20 messages/s (1,000 deliveries/s) round-robin
 *    over the chats for 4 s; every message carries its send time in its
 *    text, receivers compute receipt − send (one machine clock): `p50`,
 *    `p99`;
 * 5. capacity: SENDERS concurrent senders send as fast as the server
 *    acknowledges, held back while more than CAPACITY_WINDOW deliveries are
 *    outstanding (so queues stay bounded), for 3 s: `deliveries/s` is what
 *    the subscribers received per second after the first 0.5 s. This is the
 *    throughput figure the ratio is about: at the fixed rate both variants
 *    deliver what is offered, which says nothing about their ceilings;
 * 6. after each phase, wait until every delivery arrived (or nothing arrived
 *    for 3 s): `lost` = deliveries expected (messages sent × 50, failed sends
 *    included) − received, both phases;
 * 7. `CPU/delivery`: the server's CPU time over both phases (user + system,
 *    /proc/<pid>/stat) ÷ deliveries: the cost of one delivery, its share of
 *    the `sendMessage` that caused it included, less sensitive than
 *    `deliveries/s` to what else the machine runs.
 * The load clients, the senders, Postgres and the other variant's idle
 * server (its subscribers connected, graphql-ws pinging them every 12 s)
 * share the machine's two cores with the measured server, for both variants
 * alike.
 *
 * Cases: 1,000 / 5,000 / 10,000 subscribers (those above the open-files
 * limit less 1,000 are left out, with a note); `--quick`: 200 subscribers,
 * 3 s + 2 s. Environment, for investigations: FANOUT_SUBSCRIBERS (e.g.
 * `10000`) picks cases; FANOUT_PROFILE_DIR: the server is CPU-profiled
 * (through its inspector) while N clients subscribe, and in every run from
 * the fixed-rate phase to the end of the capacity phase, into
 * `<dir>/<variant>-<N>-{subscribe,deliver}-<time>.cpuprofile` (summarize one
 * with bench/src/fanout/profile-summary.ts);
 * BENCH_POSTGRES_URL names the Postgres server (default
 * postgresql://postgres@127.0.0.1:5432/postgres).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testClientMessageId } from '@chat/common/testing';
import type { Metric, Scenario, ScenarioContext, Variant } from '../harness.ts';
import { LOCAL_ONLY_ENV, startNode, type NodeProcess } from '../processes.ts';
import { collectGarbage, cpuMs, forkWorker, INSPECT, rssBytes, startCpuProfile } from '../fanout/processes.ts';
import {
  bareUserId,
  bareChatId,
  messageText,
  preciseNow,
  SUBSCRIPTION,
  type ClientSpec,
  type FromLoadClient,
  type Phase,
  type Progress,
  type ToLoadClient,
} from '../fanout/protocol.ts';
import { seedPopulation, type Population } from '../fanout/seed.ts';

const CHAT_SIZE = 50;
const FIXED_RATE = 20;
const SENDERS = 16;
const CAPACITY_WINDOW = 5_000;
const LOAD_PROCESSES = 2;
/** Handshakes in flight per load process. */
const CONNECT_CONCURRENCY = 100;
const FULL = { subscribers: [1_000, 5_000, 10_000], fixedMs: 4_000, capacityMs: 3_000 };
const QUICK = { subscribers: [200], fixedMs: 3_000, capacityMs: 2_000 };

const GATEWAY: Variant = { id: 'this-gateway', label: 'this gateway (embedded, 1 process)', subject: true };
const BARE: Variant = {
  id: 'bare-graphql-ws',
  label: 'bare graphql-ws (ws + graphql-js, no federation)',
  subject: false,
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const caseName = (subscribers: number) => `${subscribers.toLocaleString('en-US')} subscribers`;

/** The load-client processes, and what they last reported. */
class LoadClients {
  readonly #workers: { child: ChildProcess; progress: Progress }[];

  constructor(count: number) {
    this.#workers = Array.from({ length: count }, () => {
      const worker = {
        child: forkWorker(new URL('../fanout/load-client.ts', import.meta.url)),
        progress: emptyProgress(),
      };
      worker.child.on('message', (message: FromLoadClient) => {
        if (message.type === 'progress') {
          const { type: _type, ...progress } = message;
          worker.progress = progress;
        } else if (message.type === 'closed') worker.progress = emptyProgress();
      });
      return worker;
    });
  }

  get count(): number {
    return this.#workers.length;
  }

  /** Everything the processes reported, added up. */
  get total(): Progress {
    const total = emptyProgress();
    for (const { progress } of this.#workers) {
      total.acked += progress.acked;
      total.refused += progress.refused;
      total.live += progress.live;
      total.malformed += progress.malformed;
      total.ended += progress.ended;
      total.problems.push(...progress.problems);
      for (const phase of Object.keys(total.received) as Phase[]) total.received[phase] += progress.received[phase];
    }
    return total;
  }

  /** Opens clients: those of chat k in process k mod count. */
  connect(url: string, clients: ClientSpec[]): void {
    this.#workers.forEach(({ child }, index) =>
      post(child, {
        type: 'connect',
        url,
        query: SUBSCRIPTION,
        concurrency: CONNECT_CONCURRENCY,
        clients: clients.filter((client) => client.chat % this.#workers.length === index),
      }),
    );
  }

  async notLiveChats(): Promise<number[]> {
    const answers = await this.#ask('liveness', { type: 'liveness' });
    return answers.flatMap((answer) => answer.notLiveChats);
  }

  async latencies(): Promise<number[]> {
    const answers = await this.#ask('collected', { type: 'collect' });
    return answers.flatMap((answer) => [...answer.latencies]);
  }

  /** Forgets deliveries, latencies and problems; the clients stay open. */
  async reset(): Promise<void> {
    await this.#ask('reset', { type: 'reset' });
  }

  /** Closes every client and forgets their counts. */
  async close(): Promise<void> {
    await this.#ask('closed', { type: 'close' });
  }

  async exit(): Promise<void> {
    await Promise.all(
      this.#workers.map(({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        post(child, { type: 'exit' });
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        return exited.finally(() => clearTimeout(timer));
      }),
    );
  }

  /**
   * Waits until `done(total)` holds. @throws after `timeoutMs`, or once
   * `stallMs` passed without `progressOf(total)` changing, naming `what`.
   */
  async until(
    what: string,
    done: (total: Progress) => boolean,
    {
      timeoutMs = 120_000,
      stallMs,
      progressOf,
    }: { timeoutMs?: number; stallMs?: number; progressOf?: (total: Progress) => number } = {},
  ): Promise<void> {
    const started = Date.now();
    let last = progressOf?.(this.total);
    let changed = Date.now();
    for (;;) {
      const total = this.total;
      if (done(total)) return;
      const now = Date.now();
      const current = progressOf?.(total);
      if (current !== last) {
        last = current;
        changed = now;
      }
      if (now - started > timeoutMs || (stallMs !== undefined && now - changed > stallMs)) {
        throw new Error(
          `timed out waiting for ${what}: ${JSON.stringify({ ...total, problems: total.problems.slice(0, 5) })}`,
        );
      }
      await sleep(20);
    }
  }

  async #ask<T extends FromLoadClient['type']>(
    answer: T,
    request: ToLoadClient,
  ): Promise<Extract<FromLoadClient, { type: T }>[]> {
    return Promise.all(
      this.#workers.map(
        ({ child }) =>
          new Promise<Extract<FromLoadClient, { type: T }>>((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`a load client did not answer ${request.type} within 60 s`)),
              60_000,
            );
            const listen = (message: FromLoadClient) => {
              if (message.type !== answer) return;
              clearTimeout(timer);
              child.off('message', listen);
              resolve(message as Extract<FromLoadClient, { type: T }>);
            };
            child.on('message', listen);
            post(child, request);
          }),
      ),
    );
  }
}

function emptyProgress(): Progress {
  return { acked: 0, refused: 0, problems: [], live: 0, received: { w: 0, f: 0, c: 0 }, malformed: 0, ended: 0 };
}

function post(child: ChildProcess, message: ToLoadClient): void {
  child.send(message);
}

/** A running server of one variant: how its clients authenticate, and how a chat's owner sends. */
interface Target {
  server: NodeProcess;
  client(user: number): ClientSpec;
  /** Sends `text` in chat `chat` as its owner. @throws when it is not acknowledged */
  send(chat: number, text: string): Promise<void>;
  stop(): Promise<void>;
}

async function postGraphQL(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: { sendMessage?: { id?: string } } | null; errors?: unknown };
  if (!body.data?.sendMessage?.id)
    throw new Error(
      `sendMessage failed (HTTP ${response.status}): ${JSON.stringify(body.errors ?? body).slice(0, 500)}`,
    );
}

let sendCounter = 0;

async function startGateway(population: Population): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-bench-fanout-'));
  let server: NodeProcess;
  try {
    server = await startNode('gateway', 'gateway/src/main.ts', {
      env: {
        NODE_OPTIONS: INSPECT,
        NODE_ENV: 'development',
        DATA_DIR: dataDir,
        DATABASE_URL: population.url,
        ...population.secrets,
        WORKER_ID: '0',
        WS_MAX_CONNECTIONS_PER_IP: 'off',
        RATE_LIMIT_GENERAL: 'off',
        // Nothing of a distributed deployment from the caller's environment.
        ...LOCAL_ONLY_ENV,
        REDIS_URL: '',
      },
    });
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const mutation = 'mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { id } }';
  return {
    server,
    client: (user) => ({
      chat: Math.floor(user / CHAT_SIZE),
      connectionParams: { authorization: `Bearer ${population.users[user]!.token}` },
    }),
    send: (chat, text) => {
      const owner = population.users[population.chats[chat]!.members[0]!]!;
      return postGraphQL(
        server.url,
        mutation,
        {
          input: {
            chatId: population.chats[chat]!.id,
            text,
            clientMessageId: testClientMessageId('fo', process.pid, ++sendCounter),
          },
        },
        owner.token,
      );
    },
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function startBare(users: number): Promise<Target> {
  const server = await startNode('bare graphql-ws', 'bench/src/fanout/bare-server.ts', {
    env: { NODE_OPTIONS: INSPECT, FANOUT_USERS: String(users), FANOUT_CHAT_SIZE: String(CHAT_SIZE) },
  });
  const mutation = 'mutation Send($chatId: ID!, $text: String!) { sendMessage(chatId: $chatId, text: $text) { id } }';
  return {
    server,
    client: (user) => ({ chat: Math.floor(user / CHAT_SIZE), connectionParams: { userId: bareUserId(user) } }),
    send: (chat, text) => postGraphQL(server.url, mutation, { chatId: bareChatId(chat), text }),
    stop: () => server.stop(),
  };
}

/** Runs `task` over `items`, at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

const percentile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

/** The open-files limit of this process (children inherit it). */
function openFilesLimit(): number {
  const soft = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  return soft === undefined || soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft);
}

/**
 * Connects the clients of `users` (whole chats) and waits until every one
 * is acknowledged and its subscription has delivered a warm-up message,
 * sending warm-ups again to chats with members still waiting once
 * deliveries pause for 500 ms.
 */
async function connectLive(target: Target, clients: LoadClients, users: number[]): Promise<{ ackedSeconds: number }> {
  const started = preciseNow();
  clients.connect(
    target.server.url.replace(/^http/, 'ws'),
    users.map((user) => target.client(user)),
  );
  await clients.until(
    `${users.length} connection acknowledgements`,
    (total) => total.acked + total.refused >= users.length,
    { stallMs: 30_000, progressOf: (total) => total.acked + total.refused },
  );
  const { refused, problems } = clients.total;
  if (refused > 0) throw new Error(`${refused} of ${users.length} connections were refused: ${problems.join('; ')}`);
  const ackedSeconds = (preciseNow() - started) / 1000;
  const deadline = Date.now() + 120_000;
  for (let round = 0; ; round++) {
    const waiting = await clients.notLiveChats();
    if (waiting.length === 0) return { ackedSeconds };
    if (Date.now() > deadline)
      throw new Error(
        `after ${round} warm-up rounds, chats ${waiting.slice(0, 10).join(', ')}… still have members whose subscription delivered nothing`,
      );
    await eachLimited(waiting, SENDERS, (chat) => target.send(chat, messageText('w', round, preciseNow())));
    let last = -1;
    let quietSince = Date.now();
    for (;;) {
      const { live } = clients.total;
      if (live >= users.length) break;
      if (live !== last) {
        last = live;
        quietSince = Date.now();
      } else if (Date.now() - quietSince > 500) break;
      await sleep(20);
    }
  }
}

/** Waits until `phase` received `expected` deliveries, or nothing arrived for 3 s; @returns what is missing. */
async function drain(clients: LoadClients, phase: Phase, expected: number): Promise<number> {
  try {
    await clients.until(`${expected} ${phase} deliveries`, (total) => total.received[phase] >= expected, {
      stallMs: 3_000,
      progressOf: (total) => total.received[phase],
    });
  } catch {
    // reported as lost
  }
  return Math.max(0, expected - clients.total.received[phase]);
}

/** A variant's server with the case's subscribers connected, kept for every run of the case. */
interface Deployment {
  variant: Variant;
  subscribers: number;
  target: Target;
  clients: LoadClients;
  /** Measured once, on the fresh server: reported with the first run of the case only. */
  firstRun?: Metric[];
}

/**
 * Starts a fresh server for `variant` and connects `subscribers` clients:
 * pre-warm with one chat (code paths, caches, JIT) and closed again, then
 * RSS, then every client live, then RSS again after 1 s idle.
 */
async function deploy(
  variant: Variant,
  subscribers: number,
  population: Population,
  clients: LoadClients,
  context: ScenarioContext,
): Promise<Deployment> {
  const started = Date.now();
  const target = variant.id === GATEWAY.id ? await startGateway(population) : await startBare(subscribers);
  const { server } = target;
  const deployment: Deployment = { variant, subscribers, target, clients };
  try {
    const startSeconds = (Date.now() - started) / 1000;
    await connectLive(
      target,
      clients,
      Array.from({ length: CHAT_SIZE }, (_, user) => user),
    );
    const warmed = clients.total.received.w;
    for (let i = 0; i < 5; i++) await target.send(0, messageText('w', i, preciseNow()));
    await clients.until('pre-warm deliveries', (total) => total.received.w >= warmed + CHAT_SIZE * 5, {
      stallMs: 5_000,
      progressOf: (total) => total.received.w,
    });
    await clients.close();
    await sleep(500);
    await collectGarbage(server);
    const rssBefore = rssBytes(server.pid);

    const profile = await profileIf(server, `${variant.id}-${subscribers}-subscribe`);
    const connectStarted = preciseNow();
    const { ackedSeconds } = await connectLive(
      target,
      clients,
      Array.from({ length: subscribers }, (_, user) => user),
    );
    const subscribeSeconds = (preciseNow() - connectStarted) / 1000;
    await profile?.stop();

    await sleep(1_000);
    await collectGarbage(server);
    const rssAfter = rssBytes(server.pid);
    context.progress(
      `  ${variant.id}: started in ${startSeconds.toFixed(1)} s; ${subscribers} acknowledged in ${ackedSeconds.toFixed(1)} s, live in ${subscribeSeconds.toFixed(1)} s; ` +
        `RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)} MiB`,
    );
    deployment.firstRun = [
      { name: 'memory/connection', value: (rssAfter - rssBefore) / subscribers / 1024, unit: 'KB', better: 'lower' },
      { name: 'subscribe', value: subscribeSeconds, unit: 's', better: 'lower' },
    ];
    return deployment;
  } catch (error) {
    await retire(deployment);
    throw failure(deployment, error);
  }
}

async function retire(deployment: Deployment): Promise<void> {
  await deployment.clients.close();
  await deployment.target.stop();
}

function failure(deployment: Deployment, error: unknown): Error {
  const { variant, subscribers, target } = deployment;
  return new Error(
    `${variant.id}, ${subscribers} subscribers: ${error instanceof Error ? error.message : String(error)}\n---- ${target.server.name} output (tail)\n${target.server.output().slice(-4_000)}`,
  );
}

/** With FANOUT_PROFILE_DIR set, profiles `server` until `stop`. */
async function profileIf(server: NodeProcess, name: string): Promise<{ stop(): Promise<void> } | undefined> {
  const directory = process.env.FANOUT_PROFILE_DIR;
  return directory ? startCpuProfile(server, join(directory, `${name}-${Date.now()}.cpuprofile`)) : undefined;
}

/** One run: the fixed-rate phase (latency), then the capacity phase (throughput), each drained. */
async function deliver(
  deployment: Deployment,
  timing: { fixedMs: number; capacityMs: number },
  context: ScenarioContext,
): Promise<Metric[]> {
  const { target, clients, subscribers } = deployment;
  const chatCount = subscribers / CHAT_SIZE;
  await clients.reset();
  const problems: string[] = [];
  const failed = (error: unknown) => {
    if (problems.length < 3) problems.push(String(error instanceof Error ? error.message : error));
  };
  const profile = await profileIf(target.server, `${deployment.variant.id}-${subscribers}-deliver`);
  const cpuBefore = cpuMs(target.server.pid);

  // Fixed rate, open loop: each message is sent when due, whether or not the previous ones were acknowledged.
  const fixedCount = Math.round((FIXED_RATE * timing.fixedMs) / 1000);
  const fixedStarted = preciseNow();
  const fixedSends: Promise<void>[] = [];
  const acknowledgements: number[] = [];
  for (let i = 0; i < fixedCount; i++) {
    const wait = fixedStarted + (i * 1000) / FIXED_RATE - preciseNow();
    if (wait > 1) await sleep(wait);
    const sentAt = preciseNow();
    fixedSends.push(
      target
        .send(i % chatCount, messageText('f', i, sentAt))
        .then(() => void acknowledgements.push(preciseNow() - sentAt))
        .catch(failed),
    );
  }
  await Promise.all(fixedSends);
  const lostFixed = await drain(clients, 'f', fixedCount * CHAT_SIZE);
  const latencies = (await clients.latencies()).sort((a, b) => a - b);
  if (latencies.length === 0) throw new Error(`no delivery at the fixed rate: ${problems.join('; ')}`);
  acknowledgements.sort((a, b) => a - b);

  // Capacity: as fast as acknowledged, at most CAPACITY_WINDOW deliveries outstanding.
  const capacityStarted = preciseNow();
  const capacityEnds = capacityStarted + timing.capacityMs;
  const windowStarts = capacityStarted + Math.min(500, timing.capacityMs / 4);
  let sentDeliveries = 0;
  let capacitySent = 0;
  const mark = (at: number) =>
    new Promise<{ at: number; received: number }>((resolve) =>
      setTimeout(
        () => resolve({ at: preciseNow(), received: clients.total.received.c }),
        Math.max(0, at - preciseNow()),
      ),
    );
  const startMark = mark(windowStarts);
  const endMark = mark(capacityEnds);
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (preciseNow() < capacityEnds) {
        if (sentDeliveries - clients.total.received.c >= CAPACITY_WINDOW) {
          await sleep(2);
          continue;
        }
        const seq = capacitySent++;
        sentDeliveries += CHAT_SIZE;
        await target.send(seq % chatCount, messageText('c', seq, preciseNow())).catch(failed);
      }
    }),
  );
  const [start, end] = [await startMark, await endMark];
  const deliveriesPerSecond = (end.received - start.received) / ((end.at - start.at) / 1000);
  const lostCapacity = await drain(clients, 'c', capacitySent * CHAT_SIZE);
  const cpuUsed = cpuMs(target.server.pid) - cpuBefore;
  await profile?.stop();

  const { malformed, ended, problems: clientProblems } = clients.total;
  if (malformed > 0 || ended > 0) {
    throw new Error(
      `${malformed} malformed deliveries, ${ended} subscriptions or sockets ended by the server: ${clientProblems.join('; ')}`,
    );
  }
  const p50 = percentile(latencies, 0.5);
  const p99 = percentile(latencies, 0.99);
  const lost = lostFixed + lostCapacity;
  const { received } = clients.total;
  const cpuPerDelivery = (cpuUsed * 1000) / (received.f + received.c);
  context.progress(
    `  ${deployment.variant.id}: ${FIXED_RATE} msg/s: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms ` +
      `(sendMessage acknowledged: p50 ${percentile(acknowledgements, 0.5).toFixed(1)} ms, p99 ${percentile(acknowledgements, 0.99).toFixed(1)} ms); ` +
      `capacity ${Math.round(deliveriesPerSecond)} deliveries/s (${capacitySent} messages); server CPU ${(cpuUsed / 1000).toFixed(1)} s, ${cpuPerDelivery.toFixed(0)} µs/delivery; lost ${lost}` +
      `${problems.length ? `; send failures: ${problems.join('; ')}` : ''}`,
  );
  return [
    { name: 'deliveries/s', value: deliveriesPerSecond, better: 'higher' },
    { name: 'p50', value: p50, unit: 'ms', better: 'lower' },
    { name: 'p99', value: p99, unit: 'ms', better: 'lower' },
    { name: 'lost', value: lost, better: 'lower' },
    { name: 'CPU/delivery', value: cpuPerDelivery, unit: 'µs', better: 'lower' },
  ];
}

const DESCRIPTION =
  `Subscribers of \`messageAdded\` (federated: the sender's name from the users subgraph) in group chats of ${CHAT_SIZE}, each message sent over HTTP by the chat's owner and delivered to its ${CHAT_SIZE} members. ` +
  `\`deliveries/s\`: capacity (senders as fast as acknowledged, at most ${CAPACITY_WINDOW.toLocaleString('en-US')} deliveries outstanding); ` +
  `\`p50\`/\`p99\`: latency from \`sendMessage\` to receipt at a fixed ${FIXED_RATE} messages/s (${(FIXED_RATE * CHAT_SIZE).toLocaleString('en-US')} deliveries/s); ` +
  '`lost`: deliveries missing after both phases; `CPU/delivery`: server CPU time over both phases ÷ deliveries (`sendMessage` included); `memory/connection`: server RSS growth per idle subscribed connection (after a forced GC); ' +
  '`subscribe`: time until N clients are connected and proven live (these two: once per case, on a fresh server, whose subscribers then stay for the case’s runs). Clients, senders, Postgres and the server share the machine. ' +
  'The gateway: one process, every subgraph in-process, in-process pub/sub, Postgres.';

export const scenario: Scenario = {
  name: 'fanout',
  description: DESCRIPTION,
  targets: [
    'deliveries/s at least half the baseline’s',
    'p99 under 100 ms at 10,000 subscribers on one gateway process',
    'memory per idle subscribed connection under 50 KB',
  ],
  variants: [GATEWAY, BARE],
  async setup(context) {
    const timing = context.quick ? QUICK : FULL;
    const wanted = process.env.FANOUT_SUBSCRIBERS?.split(',').map(Number) ?? timing.subscribers;
    if (wanted.some((count) => !Number.isInteger(count) || count < CHAT_SIZE || count % CHAT_SIZE !== 0)) {
      throw new Error(`FANOUT_SUBSCRIBERS: multiples of ${CHAT_SIZE}, comma-separated`);
    }
    // The gateway holds a descriptor per client (and ~1,000 of its own); the load processes split the clients.
    const limit = openFilesLimit();
    const subscribers = wanted.filter((count) => count + 1_000 <= limit);
    for (const count of wanted.filter((count) => !subscribers.includes(count))) {
      context.progress(`leaving out ${count} subscribers: the open-files limit is ${limit} (raise \`ulimit -n\`)`);
    }
    if (subscribers.length === 0) throw new Error(`the open-files limit (${limit}) allows no case`);

    const users = Math.max(...subscribers);
    const seedStarted = performance.now();
    const population = await seedPopulation({
      adminUrl: process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
      userCount: users,
      chatSize: CHAT_SIZE,
    });
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const { database, rows, tokens } = population.seedMs;
    const seeding = `Seeded ${users.toLocaleString('en-US')} users, their sessions and ${population.chats.length} chats in ${seedSeconds.toFixed(1)} s (database and migrations ${(database / 1000).toFixed(1)} s, rows ${(rows / 1000).toFixed(1)} s, tokens ${(tokens / 1000).toFixed(1)} s).`;
    context.progress(seeding);
    scenario.description = `${DESCRIPTION} ${seeding}`;

    // A group of load processes per variant: both variants' subscribers stay connected through a case.
    const loads = new Map(scenario.variants.map((variant) => [variant.id, new LoadClients(LOAD_PROCESSES)]));
    const deployments = new Map<string, Deployment>();
    const bySubscribers = new Map(subscribers.map((count) => [caseName(count), count]));
    return {
      cases: [...bySubscribers.keys()],
      async run(variant, name, runContext) {
        const count = bySubscribers.get(name)!;
        // A new case: the previous case's servers go first, so nothing idles beside the fresh one.
        for (const [id, other] of deployments) {
          if (other.subscribers !== count) {
            deployments.delete(id);
            await retire(other);
          }
        }
        let deployment = deployments.get(variant.id);
        if (!deployment) {
          deployment = await deploy(variant, count, population, loads.get(variant.id)!, runContext);
          deployments.set(variant.id, deployment);
        }
        try {
          const metrics = await deliver(deployment, timing, runContext);
          const first = deployment.firstRun ?? [];
          deployment.firstRun = undefined;
          return [...metrics, ...first];
        } catch (error) {
          deployments.delete(variant.id);
          await retire(deployment);
          throw failure(deployment, error);
        }
      },
      async teardown() {
        for (const deployment of deployments.values()) await retire(deployment);
        for (const load of loads.values()) await load.exit();
        await population.drop();
      },
    };
  },
};
