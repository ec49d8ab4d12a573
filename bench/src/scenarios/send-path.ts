/**
 * Issue 8, scenario 3, "send-path": sustained `sendMessage` throughput and
 * acknowledgement latency of the distributed mode (Kafka, Cassandra, Redis),
 * and the end-to-end delivery latency, against the same gateway on Postgres
 * and Redis only, at the same offered rates. Target (reported, never
 * asserted): p99 acknowledgement under 50 ms at 1,000 messages/s, nothing
 * lost.
 *
 * Variants (bench/src/send-path/deployments.ts has the exact environment):
 * - `kafka+cassandra` (subject): a gateway process with every subgraph
 *   mounted, on a fresh Postgres database, Redis, Kafka (a topic prefix of
 *   the run's own, 8 partitions) and Cassandra (a keyspace of the run's own),
 *   `MESSAGE_CONSUMER=off`, plus one dedicated consumer process
 *   (`subgraphs/messages/src/consumer-main.ts`). `sendMessage` validates,
 *   checks membership, reserves the idempotency key (Postgres), produces to
 *   Kafka (idempotent producer, acks=all), marks the key produced
 *   (Postgres), and acknowledges; the consumer then places (Postgres),
 *   stores (Cassandra) and announces (Redis) it.
 * - `postgres` (baseline): the same gateway on a fresh Postgres database and
 *   Redis only: the in-process log runs that same pipeline inside
 *   `sendMessage` (history in Postgres), so its acknowledgement comes after
 *   placement, storage and announcement.
 * Both keep the gateway's rate limits at their production defaults
 * (counted in Redis, a key prefix per deployment) except the WebSocket
 * connections per address (every subscriber is on 127.0.0.1); the
 * population is sized so that no sender nears the per-user limit (at most
 * 2.5 messages/s per user at the highest rate: 400 users for 1,000/s).
 *
 * Population, per deployment (bench/src/fanout/seed.ts, rows inserted by SQL,
 * tokens signed with the run's key): N users in N/2 group chats of two,
 * N = max(200, highest rate ÷ 2.5).
 *
 * Load: a load-generator process per deployment (bench/src/send-path/load.ts)
 * sends `sendMessage` over HTTP/1.1 keep-alive (node:http Agent, at most 256
 * sockets), open loop at the case's rate for the step's duration (15 s;
 * `--quick` 5 s): message n is due at start + n/rate, from user n mod N in
 * their chat, with a unique clientMessageId, its due time in its text.
 * Acknowledgement latency counts from when it was due (a server falling
 * behind shows as latency, not as a slower schedule); at most 2,000 requests
 * outstanding (beyond: not sent, `LOAD_BACKLOG`), each step bounded (30 s
 * after the last send, what is outstanding is aborted: `TIMEOUT`).
 * A subscriber process per deployment (bench/src/send-path/subscribers.ts)
 * holds one graphql-ws client per chat, its second member, subscribed to
 * `messageAdded { id text chat { id } }`: end-to-end latency is receipt −
 * due time (one machine clock), for every message.
 *
 * Per run (variant × rate), after the step: wait until the subscribers got
 * as many deliveries as were acknowledged (or nothing arrived for 5 s, at
 * most 60 s), then read every chat's new history back through the gateway
 * (`messages(chatId, first: 100, after)`) and compare by message ID:
 * `lost` = acknowledged messages not delivered to their chat's subscriber or
 * not in history; `dup` = deliveries of a message beyond its first, and
 * messages history holds twice. Both should be 0.
 *
 * Metrics: `msg/s` acknowledged ÷ (first due send → last acknowledgement);
 * `ack p50/p99/max`; `e2e p50/p99`; `errors` (requests not acknowledged, by
 * code in the progress lines and the description); `lost`; `dup`; `CPU/msg`:
 * CPU time of the deployment's Node processes (gateway, and consumer) from
 * the step's start until its deliveries drained ÷ acknowledged messages (the
 * stores' CPU is not in it). Both deployments, their stores, the load and
 * subscriber processes share the machine; the idle deployment stays up
 * (its subscribers connected) while the other is measured.
 *
 * Setup, per deployment: the subscribers connect, then warm-up rounds at
 * 200 messages/s (two messages per user) until every subscriber has received
 * one, then history is read back once (the warm-up must all be there).
 * Teardown (and Ctrl-C) stops every process and drops the databases, the
 * keyspace, the Kafka topic and the consumer group. Settings (rates, step
 * length, profiling): bench/src/send-path/settings.ts.
 */
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Metric, Scenario, ScenarioContext, Variant } from '../harness.ts';
import { cpuMs, startCpuProfile } from '../fanout/processes.ts';
import { percentile } from '../history/reader.ts';
import type { NodeProcess } from '../processes.ts';
import { LoadGenerator, Subscribers } from '../send-path/children.ts';
import {
  CHAT_SIZE,
  startDeployments,
  type Deployment,
  type Deployments,
  type VariantId,
} from '../send-path/deployments.ts';
import type { ErrorCounts, Sender, StepResult, Watcher } from '../send-path/protocol.ts';
import { sendPathSettings, type SendPathSettings } from '../send-path/settings.ts';
import { account, HistoryCheck } from '../send-path/verify.ts';

const SUBJECT: Variant = {
  id: 'kafka+cassandra',
  label: 'distributed: Kafka log, Cassandra history (gateway + consumer)',
  subject: true,
};
const BASELINE: Variant = {
  id: 'postgres',
  label: 'Postgres + Redis only (pipeline inside sendMessage)',
  subject: false,
};

const WARM_UP_RATE = 200;
const WARM_UP_ROUNDS = 5;
const DRAIN_STALL_MS = 5_000;
const DRAIN_CAP_MS = 60_000;

/** A deployment with its load generator, subscribers and history reader. */
interface Rig {
  deployment: Deployment;
  load: LoadGenerator;
  subscribers: Subscribers;
  history: HistoryCheck;
  /** The last step number used (steps are numbered per deployment; warm-up rounds are steps too). */
  step: number;
}

const caseName = (rate: number) => `${rate.toLocaleString('en-US')} msg/s`;
const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(value >= 100 ? 0 : 1)} ms` : 'n/a');
const codes = (errors: ErrorCounts) =>
  Object.entries(errors)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ') || 'none';

function senders({ population }: Deployment): Sender[] {
  return population.users.map((user, index) => ({
    token: user.token,
    chatId: population.chats[Math.floor(index / CHAT_SIZE)]!.id,
  }));
}

/** Each chat's second member: the one who watches it and reads its history back. */
function watchers({ population }: Deployment): Watcher[] {
  return population.chats.map((chat) => ({ chatId: chat.id, token: population.users[chat.members[1]!]!.token }));
}

function nodeProcesses(deployment: Deployment): NodeProcess[] {
  return deployment.consumer ? [deployment.gateway, deployment.consumer] : [deployment.gateway];
}

async function waitForDeliveries(rig: Rig, step: number, expected: number): Promise<boolean> {
  return rig.subscribers.until(
    `${expected} deliveries of step ${step}`,
    (progress) => (progress.received[step] ?? 0) >= expected,
    {
      timeoutMs: DRAIN_CAP_MS,
      stallMs: DRAIN_STALL_MS,
      progressOf: (progress) => progress.received[step] ?? 0,
    },
  );
}

/** Connects the subscribers and sends warm-up rounds until every one has received a message; then checks the warm-up reached history. */
async function prepare(deployment: Deployment, context: ScenarioContext): Promise<Rig> {
  const rig: Rig = {
    deployment,
    load: new LoadGenerator(),
    subscribers: new Subscribers(),
    history: new HistoryCheck(deployment.gateway.url, watchers(deployment)),
    step: 0,
  };
  try {
    const started = performance.now();
    const everyone = senders(deployment);
    await rig.load.configure(deployment.gateway.url, everyone, deployment.variant === 'postgres' ? 'pg' : 'kc');
    await rig.subscribers.connect(deployment.gateway.url.replace(/^http/, 'ws'), watchers(deployment));
    const acknowledged: string[] = [];
    for (let round = 1; ; round++) {
      const step = ++rig.step;
      const result = await rig.load.step(step, WARM_UP_RATE, ((everyone.length * 2) / WARM_UP_RATE) * 1000);
      if (result.ids.length === 0)
        throw new Error(`no warm-up message was acknowledged: ${codes(result.errors)}; ${result.samples.join('; ')}`);
      acknowledged.push(...result.ids);
      await waitForDeliveries(rig, step, result.ids.length);
      await rig.subscribers.collect(step);
      const { live, problems } = rig.subscribers.progress;
      if (live >= rig.subscribers.count) break;
      if (round >= WARM_UP_ROUNDS)
        throw new Error(
          `after ${round} warm-up rounds, ${rig.subscribers.count - live} subscribers still received nothing: ${problems.join('; ')}`,
        );
    }
    const { notStored } = account(acknowledged, acknowledged, await rig.history.readNew());
    if (notStored > 0)
      throw new Error(`${notStored} of ${acknowledged.length} acknowledged warm-up messages are not in history`);
    context.progress(
      `  ${deployment.variant}: ${rig.subscribers.count} subscribers live, ${acknowledged.length} warm-up messages sent, delivered and read back in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return rig;
  } catch (error) {
    await retire(rig);
    throw failure(rig, error);
  }
}

async function retire(rig: Rig): Promise<void> {
  await Promise.all([rig.load.exit(), rig.subscribers.exit()]);
}

function failure(rig: Rig, error: unknown): Error {
  const tails = nodeProcesses(rig.deployment).map(
    (child) => `---- ${child.name} output (tail)\n${child.output().slice(-3_000)}`,
  );
  return new Error(
    `${rig.deployment.variant}: ${error instanceof Error ? error.message : String(error)}\n${tails.join('\n')}`,
  );
}

/** With a profile directory, CPU-profiles the deployment's Node processes until `stop`. */
async function profileIf(
  settings: SendPathSettings,
  rig: Rig,
  rate: number,
  step: number,
): Promise<{ stop(): Promise<void> }[]> {
  if (!settings.profileDir) return [];
  mkdirSync(settings.profileDir, { recursive: true });
  return Promise.all(
    nodeProcesses(rig.deployment).map((child) =>
      startCpuProfile(
        child,
        join(
          settings.profileDir!,
          `${rig.deployment.variant}-${rate}-${step}-${child.name.split(' ')[0]!.replace(/\W/g, '')}.cpuprofile`,
        ),
      ),
    ),
  );
}

/** One run: a step at `rate`, its deliveries drained, history read back, everything accounted for. */
async function measure(
  rig: Rig,
  rate: number,
  settings: SendPathSettings,
  context: ScenarioContext,
  tally: (errors: ErrorCounts) => void,
): Promise<Metric[]> {
  const step = ++rig.step;
  const processes = nodeProcesses(rig.deployment);
  const cpuBefore = processes.map((child) => cpuMs(child.pid));
  const profiles = await profileIf(settings, rig, rate, step);
  const result: StepResult = await rig.load.step(step, rate, settings.stepMs);
  tally(result.errors);
  if (result.ids.length === 0)
    throw new Error(`no message acknowledged at ${rate} msg/s: ${codes(result.errors)}; ${result.samples.join('; ')}`);
  const drainStarted = performance.now();
  const drained = await waitForDeliveries(rig, step, result.ids.length);
  const drainSeconds = (performance.now() - drainStarted) / 1000;
  const cpuUsed = processes.map((child, index) => cpuMs(child.pid) - cpuBefore[index]!);
  for (const profile of profiles) await profile.stop();
  const delivered = await rig.subscribers.collect(step);
  const stored = await rig.history.readNew();
  const accounting = account(result.ids, delivered.ids, stored);
  const { ended, problems } = rig.subscribers.progress;
  if (ended > 0)
    throw new Error(
      `${ended} subscriptions or sockets ended by the server, or deliveries with errors: ${problems.join('; ')}`,
    );
  if (delivered.latencies.length === 0)
    throw new Error(`nothing of ${result.ids.length} acknowledged messages reached the subscribers`);

  const acked = Array.from(result.ackMs);
  const e2e = Array.from(delivered.latencies);
  const acknowledgedPerSecond = result.ids.length / (result.elapsedMs / 1000);
  const failed = Object.values(result.errors).reduce((sum, count) => sum + count, 0);
  const dup = accounting.duplicatedDeliveries + accounting.duplicatedInHistory;
  const cpuPerMessage = cpuUsed.map((used) => (used * 1000) / result.ids.length);
  const [ackP50, ackP99, ackMax] = [percentile(acked, 0.5), percentile(acked, 0.99), Math.max(...acked)];
  const [e2eP50, e2eP99] = [percentile(e2e, 0.5), percentile(e2e, 0.99)];
  context.progress(
    `  ${rig.deployment.variant} @ ${rate}/s: ${acknowledgedPerSecond.toFixed(0)} acknowledged/s (${result.ids.length} of ${result.offered}; errors: ${codes(result.errors)}); ` +
      `ack p50 ${ms(ackP50)}, p99 ${ms(ackP99)}, max ${ms(ackMax)}; e2e p50 ${ms(e2eP50)}, p99 ${ms(e2eP99)}; ` +
      `lost ${accounting.lost} (not delivered ${accounting.notDelivered}${drained ? '' : ', deliveries stalled'}, not in history ${accounting.notStored}), dup ${dup}; ` +
      `drained ${drainSeconds.toFixed(1)} s after the last acknowledgement; CPU/msg ${processes.map((child, index) => `${child.name.split(' ')[0]} ${cpuPerMessage[index]!.toFixed(0)} µs`).join(' + ')}; ` +
      `generator: lag max ${ms(result.maxLagMs)}, loop delay p99 ${ms(result.loopDelayP99Ms)}; machine load ${loadavg()[0]!.toFixed(1)}` +
      (result.samples.length > 0 ? `; e.g. ${result.samples.join(' | ')}` : ''),
  );
  return [
    { name: 'msg/s', value: acknowledgedPerSecond, better: 'higher' },
    { name: 'ack p50', value: ackP50, unit: 'ms', better: 'lower' },
    { name: 'ack p99', value: ackP99, unit: 'ms', better: 'lower' },
    { name: 'ack max', value: ackMax, unit: 'ms', better: 'lower' },
    { name: 'e2e p50', value: e2eP50, unit: 'ms', better: 'lower' },
    { name: 'e2e p99', value: e2eP99, unit: 'ms', better: 'lower' },
    { name: 'errors', value: failed, better: 'lower' },
    { name: 'lost', value: accounting.lost, better: 'lower' },
    { name: 'dup', value: dup, better: 'lower' },
    { name: 'CPU/msg', value: cpuPerMessage.reduce((sum, value) => sum + value, 0), unit: 'µs', better: 'lower' },
  ];
}

const DESCRIPTION =
  '`sendMessage` over HTTP keep-alive, open loop at fixed rates, spread over every user of a population of group chats of two, each chat watched by one graphql-ws `messageAdded` subscriber. ' +
  '`msg/s`: acknowledged messages ÷ (first scheduled send → last acknowledgement); `ack`: latency of the acknowledgement from the scheduled send time; ' +
  '`e2e`: scheduled send → receipt by the subscriber; `errors`: requests not acknowledged; `lost`: acknowledged but not delivered or not readable back from history (through the API); ' +
  '`dup`: repeated deliveries or history rows; `CPU/msg`: the deployment’s Node processes (gateway, and consumer), CPU time from the step’s start until its deliveries drained ÷ acknowledged messages. ' +
  'kafka+cassandra: one gateway (every subgraph in it, MESSAGE_CONSUMER=off) and one message consumer process, Kafka topic of 8 partitions, history in Cassandra; ' +
  'postgres: the same gateway on Postgres and Redis only, the pipeline inside sendMessage. Rate limits at their production defaults. Everything shares the machine.';

export const scenario: Scenario = {
  name: 'send-path',
  description: DESCRIPTION,
  targets: ['p99 acknowledgement under 50 ms at 1,000 messages/s (kafka+cassandra), nothing lost'],
  variants: [SUBJECT, BASELINE],
  async setup(context) {
    const settings = sendPathSettings(context.quick);
    const deployments: Deployments = await startDeployments(settings, context.progress);
    const rigs = new Map<VariantId, Rig>();
    const errorsByRun = new Map<string, ErrorCounts>();
    const population = deployments.byVariant.postgres.population;
    const description =
      `${DESCRIPTION} Population per deployment: ${population.users.length} users in ${population.chats.length} chats (seeded in ${deployments.seedSeconds.toFixed(1)} s for both); ` +
      `${(settings.stepMs / 1000).toFixed(0)} s per rate and run.`;
    scenario.description = description;
    const teardown = async () => {
      await Promise.all([...rigs.values()].map(retire));
      await deployments.dispose();
      const failures = [...errorsByRun]
        .filter(([, errors]) => Object.keys(errors).length > 0)
        .map(([run, errors]) => `${run}: ${codes(errors)}`);
      scenario.description = `${description} Requests not acknowledged, by code: ${failures.length > 0 ? failures.join('; ') : 'none'}.`;
    };
    try {
      for (const variant of [BASELINE, SUBJECT]) {
        const id = variant.id as VariantId;
        rigs.set(id, await prepare(deployments.byVariant[id], context));
      }
    } catch (error) {
      await teardown();
      throw error;
    }
    const byCase = new Map(settings.rates.map((rate) => [caseName(rate), rate]));
    return {
      cases: [...byCase.keys()],
      async run(variant, name, runContext) {
        const rig = rigs.get(variant.id as VariantId);
        const rate = byCase.get(name);
        if (!rig || rate === undefined) throw new Error(`unknown variant or case: ${variant.id}, ${name}`);
        const key = `${variant.id} at ${name}`;
        const tally = (errors: ErrorCounts) => {
          const total = errorsByRun.get(key) ?? {};
          for (const [code, count] of Object.entries(errors)) total[code] = (total[code] ?? 0) + count;
          errorsByRun.set(key, total);
        };
        try {
          return await measure(rig, rate, settings, runContext, tally);
        } catch (error) {
          throw failure(rig, error);
        }
      },
      teardown,
    };
  },
};
