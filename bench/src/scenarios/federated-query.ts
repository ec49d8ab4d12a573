/**
 * Issue 8, scenario 1: federated queries under a fixed concurrency, this
 * gateway against the two gateways anyone would reach for, over the very
 * same subgraph processes.
 *
 * Cases (query shapes):
 * - `chat shape`: the viewer's 20 chats, each with its last message, that
 *   message's sender and the sender's presence: chats → messages → users +
 *   presence (four subgraphs: the issue says three, but the sender's name lives
 *   in users). Served by our real subgraph processes (`subgraphs/<name>/src/main.ts`,
 *   all five, as the distributed topology runs them) on a fresh Postgres
 *   database and the shared Redis, seeded through our gateway before measuring:
 *   a viewer with 20 direct chats, each with a last message (half from the
 *   other member, half from the viewer) and every sender ONLINE.
 * - `heavy query`: the deep query of The Guild's gateways benchmark
 *   (users → reviews → product → reviews → author → reviews → product, and
 *   topProducts the same way), over their four subgraphs reproduced in
 *   `bench/src/federated-query/heavy-subgraphs.ts` (same schema shape, same
 *   static data), served from one process that answers repeated requests from
 *   memory, composed with @apollo/composition at setup.
 *
 * Variants, each one Node process, fetching from the same subgraph processes:
 * - `this-gateway` (subject). Chat shape: `gateway/src/main.ts` itself, with
 *   every `SUBGRAPH_*_URL` set (gateway B of the distributed topology): it
 *   verifies the viewer's access token (Ed25519, keys from the users
 *   subgraph's JWKS) and signs the internal identity for each subgraph.
 *   Heavy query: `startGatewayServer` reads `schema/supergraph.graphql` and
 *   mounts only our five subgraphs, so it is the gateway's own request
 *   pipeline (`buildGatewayPipeline` and `createRequestListener`, which
 *   `startGatewayServer` runs too) over the heavy supergraph
 *   (`bench/src/federated-query/this-gateway-pipeline-main.ts`; not the same
 *   entry, the same code).
 * - `apollo-server`: Apollo Server 5 with a default `ApolloGateway`
 *   (`supergraphSdl`, `RemoteGraphQLDataSource`), NODE_ENV=production.
 * - `hive-gateway`: `@graphql-hive/gateway`'s `createGatewayRuntime` over the
 *   same supergraph file on `node:http`, its defaults (no JIT, no inbound
 *   deduplication), NODE_ENV=production.
 * The baselines get the supergraph the gateway serves (`schema/supergraph.graphql`,
 * subscriptions included), its subgraph URLs pointed at the processes.
 *
 * Our subgraphs accept only an identity the gateway signed for them (HS256,
 * `x-chat-identity`, common/src/identity.ts). The baselines do not sign one:
 * each is given, per subgraph, a fixed header signed at setup for the seeded
 * viewer and session (the same claims `InternalIdentity` signs, valid for
 * 6 hours instead of 60 s: see `signIdentity`), which it adds to every
 * subgraph request. So the subgraphs do the same work for every variant
 * (verify the identity, check the session); what the baselines skip is the
 * access-token check, which this gateway does on every request.
 *
 * Our processes run with NODE_ENV=test (production would refuse the
 * password-less local Postgres and Redis). The gateway's counting limits
 * (rate limits, connection limits) are off under NODE_ENV=test and are also
 * set `off` explicitly: at 50 connections from one user, the production
 * default (300 per minute per field) would refuse nearly everything. The
 * document limits (depth, cost, aliases, tokens) stay at their defaults and
 * run on every request, as in production. So the figures leave out the Redis
 * round trip per root field that production's rate limits add.
 *
 * Load: autocannon in a process of its own, 50 connections (closed loop:
 * each sends its next request when the last answered) POSTing the same JSON
 * body, with the viewer's `Authorization` header for the chat shape and none
 * for the heavy query (as The Guild's), and a unique `x-request-id` per
 * request, which both baselines pass on to every subgraph request (The
 * Guild's benchmark does the same with a unique header): Hive Gateway
 * deduplicates identical subgraph requests in flight, and 50 connections
 * sending byte-identical requests would otherwise share most subgraph
 * answers, which distinct real clients would not (in a smoke run without
 * it, Hive Gateway served the chat shape at 9× Apollo's rate). This gateway
 * neither deduplicates nor passes client headers on. A 2-s warm-up before
 * each 10-s measured run (`--quick`: 10 connections, 1 s + 2 s). Before measuring,
 * each variant's answer is checked: data and no `errors`, and the same data
 * from all three. Everything shares one 2-core machine: gateway, subgraphs,
 * Postgres, Redis and autocannon compete for the CPUs, alike for every variant.
 *
 * Metrics: requests/s (completed ÷ duration), p50 and p99 latency, errors
 * (non-2xx, connection errors and timeouts, answers with GraphQL `errors` or
 * without `data`: must be 0), and the CPU time (user + system, from
 * /proc/<pid>/stat, 10-ms ticks) per completed request of the gateway process
 * and of the subgraph processes over the measured part of the run. Where the
 * subgraphs are the bottleneck (the chat shape: Prisma and Postgres) request
 * rates say little about the gateways; their CPU per request still does, and
 * it is also the figure least disturbed by whatever else the machine runs.
 *
 * Needs Postgres (trust, user postgres) and Redis on loopback, as the tests
 * do (`npm run services:up`); `BENCH_DATABASE_URL` (an admin URL: a database
 * is created there and dropped afterwards) and `BENCH_REDIS_URL` point elsewhere.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { spawn } from 'node:child_process';
import { composeServices } from '@apollo/composition';
import { generateSecrets } from '@chat/common';
import { testClientMessageId, testDisplayName, testPassword, testUsername, uniqueTag } from '@chat/common/testing';
import { decodeJwt, SignJWT } from 'jose';
import pg from 'pg';
import type { Metric, Scenario, Variant } from '../harness.ts';
import { REPO_ROOT, startNode, type NodeProcess } from '../processes.ts';
import { HEAVY_QUERY, HEAVY_SUBGRAPHS } from '../federated-query/heavy-subgraphs.ts';
import type { LoadOptions, LoadResult } from '../federated-query/load-main.ts';

const CHAT_SHAPE = 'chat shape';
const HEAVY = 'heavy query';

const CHAT_QUERY = `query ChatList {
  chats(first: 20) {
    edges {
      node {
        id
        kind
        unreadCount
        lastActivityAt
        lastMessage { id text createdAt sender { id displayName presence { status lastSeenAt } } }
      }
    }
  }
}`;

const CHAT_SUBGRAPHS = ['users', 'chats', 'messages', 'presence', 'media'] as const;
const ENTRIES = {
  gateway: 'gateway/src/main.ts',
  pipeline: 'bench/src/federated-query/this-gateway-pipeline-main.ts',
  apollo: 'bench/src/federated-query/apollo-server-main.ts',
  hive: 'bench/src/federated-query/hive-gateway-main.ts',
  heavySubgraphs: 'bench/src/federated-query/heavy-subgraphs-main.ts',
  load: 'bench/src/federated-query/load-main.ts',
};

const variants: Variant[] = [
  { id: 'this-gateway', label: 'this gateway', subject: true },
  { id: 'apollo-server', label: 'Apollo Server + @apollo/gateway', subject: false },
  { id: 'hive-gateway', label: 'Hive Gateway', subject: false },
];

/** The identity `InternalIdentity.sign` makes (common/src/identity.ts), with a lifetime of our choosing. */
function signIdentity(
  secret: string,
  viewer: { id: string; username: string; sessionId: string },
  audience: string,
  ttlSeconds: number,
): Promise<string> {
  return new SignJWT({ username: viewer.username, sid: viewer.sessionId })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('federated-chat-gateway')
    .setAudience(audience)
    .setSubject(viewer.id)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(secret));
}

/** Points each `@join__graph(name: …, url: …)` of a supergraph at `urls[name]`. */
function withUrls(supergraphSdl: string, urls: Record<string, string>): string {
  return supergraphSdl.replace(/@join__graph\(name: "(\w+)", url: "[^"]*"\)/g, (_match, name: string) => {
    const url = urls[name];
    if (!url) throw new Error(`no URL for subgraph ${name}`);
    return `@join__graph(name: "${name}", url: "${url}")`;
  });
}

async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `chat_bench_fq_${uniqueTag()}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: { data?: unknown; errors?: unknown[] } }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, json: (await response.json()) as { data?: unknown; errors?: unknown[] } };
}

/** One GraphQL operation that must succeed. */
async function gql<T>(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<T> {
  const { status, json } = await post(
    url,
    JSON.stringify({ query, variables }),
    token ? { authorization: `Bearer ${token}` } : {},
  );
  if (status !== 200 || json.errors || !json.data)
    throw new Error(`seeding failed (${status}): ${JSON.stringify(json).slice(0, 500)}`);
  return json.data as T;
}

interface Seeded {
  token: string;
  viewer: { id: string; username: string; sessionId: string };
}

/** A viewer with 20 direct chats, each with a last message, every sender ONLINE. */
async function seed(url: string): Promise<Seeded> {
  // Not uniqueTag(): the viewer's username is in every request's token, whose size stays what it was.
  const tag = Date.now().toString(36);
  const register = async (name: string) => {
    const username = testUsername(name, tag);
    const data = await gql<{ register: { accessToken: string; user: { id: string; username: string } } }>(
      url,
      'mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id username } } }',
      { input: { username, password: testPassword(username), displayName: testDisplayName(name.replace('_', ' ')) } },
    );
    return { id: data.register.user.id, username: data.register.user.username, token: data.register.accessToken };
  };
  const heartbeat = (token: string) =>
    gql(url, 'mutation { presenceHeartbeat(deviceId: "bench", active: true) { status } }', {}, token);
  const send = (token: string, chatId: string, text: string) =>
    gql(
      url,
      'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
      { input: { chatId, text, clientMessageId: testClientMessageId('bench', chatId, text.length) } },
      token,
    );
  const viewer = await register('viewer');
  await heartbeat(viewer.token);
  const friends = await Promise.all(Array.from({ length: 20 }, (_, index) => register(`friend_${index + 1}`)));
  for (const [index, friend] of friends.entries()) {
    const chat = await gql<{ createDirectChat: { id: string } }>(
      url,
      'mutation ($userId: ID!) { createDirectChat(userId: $userId) { id } }',
      { userId: friend.id },
      viewer.token,
    );
    const chatId = chat.createDirectChat.id;
    await heartbeat(friend.token);
    await send(friend.token, chatId, `Hello from friend ${index + 1}, are we still on for Saturday?`);
    if (index % 2 === 1) await send(viewer.token, chatId, 'Yes! See you at ten, I will bring the coffee.');
  }
  const claims = decodeJwt(viewer.token) as { sub: string; username: string; sid: string };
  return { token: viewer.token, viewer: { id: claims.sub, username: claims.username, sessionId: claims.sid } };
}

/** CPU time (user + system) a process has used so far, in ms (Linux: /proc/<pid>/stat, in ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Runs the load generator once against `url`, in its own process, and the
 * CPU time each of `watched` (gateway, subgraphs) spent during the measured
 * part (after the warm-up).
 */
function load(
  options: LoadOptions,
  watched: Record<string, number[]>,
): Promise<LoadResult & { cpuMs: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, ENTRIES.load), JSON.stringify(options)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const reading = () =>
      Object.fromEntries(
        Object.entries(watched).map(([name, pids]) => [name, pids.reduce((sum, pid) => sum + cpuMs(pid), 0)]),
      );
    let before: Record<string, number> | undefined;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!before && stdout.includes('warmed\n')) before = reading();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const after = reading();
      if (code !== 0 || !before) return reject(new Error(`the load generator exited with ${code}:\n${stderr}`));
      const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as LoadResult;
      resolve({
        ...result,
        cpuMs: Object.fromEntries(Object.entries(after).map(([name, ms]) => [name, ms - before![name]!])),
      });
    });
  });
}

export const scenario: Scenario = {
  name: 'federated-query',
  description:
    "Queries per second and latency at 50 connections (`--quick`: 10) for two query shapes over the same subgraph processes: the chat list (chats with last message, sender, presence: our four subgraphs on Postgres/Redis) and The Guild benchmark's heavy query (their four subgraphs reproduced, static data). " +
    "(a) this gateway: `gateway/src/main.ts` for the chat shape; for the heavy query, which it cannot serve without a product change, its request pipeline rebuilt from the gateway's own modules over that supergraph. " +
    '(b) Apollo Server 5 + default `ApolloGateway`. (c) Hive Gateway (`createGatewayRuntime`, defaults). One process each, autocannon in its own process, one 2-core machine for everything. ' +
    "The baselines pass our subgraphs a long-lived pre-signed identity; this gateway verifies the access token and signs the identity per request. Each request carries a unique `x-request-id` that the baselines pass to the subgraphs, so Hive Gateway cannot merge identical in-flight subgraph requests (as in The Guild's benchmark). Rate limits off (NODE_ENV=test, and set off); document limits on. CPU/req: CPU time of the gateway process, and of the subgraph processes, per completed request.",
  targets: [
    'Published for orientation (The Guild, their hardware, heavy query, 50 users; not comparable in absolute terms): Apollo Gateway 91 req/s, Hive Gateway 291, Apollo Router 353, Cosmo 628, Hive Router 1,709',
  ],
  variants,
  async setup(context) {
    const connections = context.quick ? 10 : 50;
    const warmupSeconds = context.quick ? 1 : 2;
    const durationSeconds = context.quick ? 2 : 10;
    const processes: NodeProcess[] = [];
    const cleanups: (() => Promise<void> | void)[] = [];
    const teardown = async () => {
      await Promise.allSettled(processes.splice(0).map((child) => child.stop()));
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    };
    const start = async (name: string, entry: string, env: Record<string, string>, path?: string) => {
      const child = await startNode(name, entry, { env, path });
      processes.push(child);
      return child;
    };
    try {
      const temp = mkdtempSync(join(tmpdir(), 'bench-federated-query-'));
      cleanups.push(() => rmSync(temp, { recursive: true, force: true }));

      // --- the chat shape: our subgraphs, our gateway, the two baselines over the same processes
      context.progress('starting the chat subgraphs and gateways');
      const database = await createDatabase();
      cleanups.push(() => database.drop());
      const secrets = generateSecrets();
      const productEnv: Record<string, string> = {
        NODE_ENV: 'test',
        DATABASE_URL: database.url,
        REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
        DATA_DIR: join(temp, 'data'),
        ...secrets,
        // Longer than any run, so nothing expires or goes AWAY mid-measurement.
        ACCESS_TOKEN_TTL_SECONDS: '21600',
        PRESENCE_DEVICE_TIMEOUT_SECONDS: '3600',
        PRESENCE_IDLE_SECONDS: '86400',
      };
      const subgraphs = await Promise.all(
        CHAT_SUBGRAPHS.map((name) => start(name, `subgraphs/${name}/src/main.ts`, productEnv)),
      );
      const subgraphUrls = Object.fromEntries(subgraphs.map((subgraph) => [subgraph.name, subgraph.url]));
      const gatewayEnv: Record<string, string> = {
        ...productEnv,
        ...Object.fromEntries(
          subgraphs.map((subgraph) => [`SUBGRAPH_${subgraph.name.toUpperCase()}_URL`, subgraph.url]),
        ),
        RATE_LIMIT_GENERAL: 'off',
        RATE_LIMIT_LOGIN_PER_IP: 'off',
        RATE_LIMIT_LOGIN_PER_USERNAME: 'off',
        RATE_LIMIT_REGISTER_PER_IP: 'off',
        RATE_LIMIT_REFRESH_TOKEN_PER_IP: 'off',
        RATE_LIMIT_CONFIRM_CODE_PER_IP: 'off',
      };
      const ours = await start('this-gateway', ENTRIES.gateway, gatewayEnv);
      context.progress('seeding 21 users, 20 chats, 30 messages through the gateway');
      const seeded = await seed(ours.url);
      const identityHeaders = Object.fromEntries(
        await Promise.all(
          CHAT_SUBGRAPHS.map(async (name) => {
            const identity = await signIdentity(secrets.INTERNAL_TOKEN_SECRET, seeded.viewer, name, 6 * 3600);
            return [name, { 'x-chat-identity': identity }] as const;
          }),
        ),
      );
      const chatSupergraph = join(temp, 'chat-supergraph.graphql');
      writeFileSync(
        chatSupergraph,
        withUrls(readFileSync(join(REPO_ROOT, 'schema/supergraph.graphql'), 'utf8'), subgraphUrls),
      );
      const baselineChatEnv = {
        NODE_ENV: 'production',
        SUPERGRAPH_FILE: chatSupergraph,
        SUBGRAPH_HEADERS: JSON.stringify(identityHeaders),
      };
      const [apolloChat, hiveChat] = await Promise.all([
        start('apollo-server (chat)', ENTRIES.apollo, baselineChatEnv),
        start('hive-gateway (chat)', ENTRIES.hive, baselineChatEnv),
      ]);

      // --- the heavy query: the benchmark's subgraphs, composed here, and the three gateways over them
      context.progress('starting the heavy-query subgraphs and gateways');
      const heavySubgraphs = await start('heavy subgraphs', ENTRIES.heavySubgraphs, {}, '/accounts');
      const composed = composeServices(
        HEAVY_SUBGRAPHS.map((subgraph) => ({
          name: subgraph.name,
          typeDefs: subgraph.typeDefs,
          url: `http://127.0.0.1:${heavySubgraphs.port}/${subgraph.name}`,
        })),
      );
      if (composed.errors)
        throw new Error(
          `the heavy subgraphs do not compose:\n${composed.errors.map((error) => error.message).join('\n')}`,
        );
      const heavySupergraph = join(temp, 'heavy-supergraph.graphql');
      writeFileSync(heavySupergraph, composed.supergraphSdl);
      const pipelineSecrets = generateSecrets();
      const [oursHeavy, apolloHeavy, hiveHeavy] = await Promise.all([
        start('this-gateway (heavy)', ENTRIES.pipeline, {
          NODE_ENV: 'test',
          SUPERGRAPH_FILE: heavySupergraph,
          JWT_PRIVATE_KEYS: pipelineSecrets.JWT_PRIVATE_KEYS,
          INTERNAL_TOKEN_SECRET: pipelineSecrets.INTERNAL_TOKEN_SECRET,
          RATE_LIMIT_GENERAL: 'off',
        }),
        start('apollo-server (heavy)', ENTRIES.apollo, { NODE_ENV: 'production', SUPERGRAPH_FILE: heavySupergraph }),
        start('hive-gateway (heavy)', ENTRIES.hive, { NODE_ENV: 'production', SUPERGRAPH_FILE: heavySupergraph }),
      ]);

      const targets: Record<
        string,
        {
          body: string;
          headers: Record<string, string>;
          gateways: Record<string, NodeProcess>;
          subgraphs: NodeProcess[];
        }
      > = {
        [CHAT_SHAPE]: {
          body: JSON.stringify({ query: CHAT_QUERY }),
          headers: { authorization: `Bearer ${seeded.token}`, 'x-request-id': '[<id>]' },
          gateways: { 'this-gateway': ours, 'apollo-server': apolloChat, 'hive-gateway': hiveChat },
          subgraphs,
        },
        [HEAVY]: {
          body: JSON.stringify({ query: HEAVY_QUERY }),
          headers: { 'x-request-id': '[<id>]' },
          gateways: { 'this-gateway': oursHeavy, 'apollo-server': apolloHeavy, 'hive-gateway': hiveHeavy },
          subgraphs: [heavySubgraphs],
        },
      };

      // Every variant must answer every case, with data, without errors, and all with the same data.
      for (const [caseName, target] of Object.entries(targets)) {
        let reference: { variant: string; data: unknown } | undefined;
        for (const variant of variants) {
          const { status, json } = await post(target.gateways[variant.id]!.url, target.body, target.headers);
          if (status !== 200 || json.errors || !json.data) {
            throw new Error(
              `${variant.id} does not answer the ${caseName} (HTTP ${status}): ${JSON.stringify(json).slice(0, 1_000)}`,
            );
          }
          if (!reference) reference = { variant: variant.id, data: json.data };
          else if (!isDeepStrictEqual(json.data, reference.data)) {
            throw new Error(
              `${variant.id} and ${reference.variant} answer the ${caseName} differently:\n${JSON.stringify(json.data).slice(0, 1_000)}\n${JSON.stringify(reference.data).slice(0, 1_000)}`,
            );
          }
        }
        context.progress(
          `${caseName}: all variants answer alike (${JSON.stringify(reference?.data).length.toLocaleString('en-US')} bytes of data)`,
        );
      }

      return {
        cases: [CHAT_SHAPE, HEAVY],
        async run(variant, caseName): Promise<Metric[]> {
          const target = targets[caseName]!;
          const watched = {
            gateway: [target.gateways[variant.id]!.pid],
            subgraphs: target.subgraphs.map((subgraph) => subgraph.pid),
          };
          const result = await load(
            {
              url: target.gateways[variant.id]!.url,
              body: target.body,
              headers: target.headers,
              connections,
              warmupSeconds,
              durationSeconds,
            },
            watched,
          );
          const perRequest = (ms: number) => (result.completed > 0 ? ms / result.completed : 0);
          if (result.errors > 0) {
            context.progress(
              `!! ${variant.id}, ${caseName}: ${result.errors} failed of ${result.completed} requests; first failure: ${result.sample ?? '(no body: connection error, timeout or non-2xx)'}`,
            );
          }
          return [
            { name: 'requests/s', value: result.requestsPerSecond, better: 'higher' },
            { name: 'p50', value: result.p50Ms, unit: 'ms', better: 'lower' },
            { name: 'p99', value: result.p99Ms, unit: 'ms', better: 'lower' },
            { name: 'errors', value: result.errors, better: 'lower' },
            { name: 'gateway CPU/req', value: perRequest(result.cpuMs.gateway!), unit: 'ms', better: 'lower' },
            { name: 'subgraphs CPU/req', value: perRequest(result.cpuMs.subgraphs!), unit: 'ms', better: 'lower' },
          ];
        },
        teardown,
      };
    } catch (error) {
      await teardown();
      throw error;
    }
  },
};
