/**
 * Summarizes a V8 `.cpuprofile` (as written with FANOUT_PROFILE_DIR) as
 * text: where the time went by component of the gateway (federation,
 * graphql-js, database, …), by package and by function.
 *
 *   node --import tsx bench/src/fanout/profile-summary.ts <file.cpuprofile> [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * Components of the gateway's work, by the file a frame runs in. A sample's
 * time goes to the component of the nearest frame on its stack (from the
 * leaf up) that belongs to one: native work (a socket write, JSON) goes to
 * whoever called it. Async functions resume from the microtask queue with
 * only their own frames on the stack, so attribution by nearest frame is
 * what a sampled profile of async code supports; "inclusive" times of
 * callers would miss most of their awaited work.
 */
const COMPONENTS: { name: string; match: RegExp }[] = [
  {
    name: 'database: Prisma client, query compiler (wasm), pg driver',
    match: /@prisma\/|\/pg\/|pg-protocol|pg-pool|pg-types|wasm:\/\/|@opentelemetry/,
  },
  {
    name: "HTTP and Yoga: node:http, graphql-yoga, envelop, whatwg-node (sendMessage requests; Yoga's hooks around subscription events)",
    match: /graphql-yoga|@envelop\/|@whatwg-node\/|node:_http_|node:http/,
  },
  {
    name: 'federation: @apollo/gateway executeQueryPlan, result shaping, federation-internals',
    match: /@apollo\/(gateway|federation-internals|query-planner)|gateway\/src\/subscriptions/,
  },
  { name: 'authorization: graphql-shield, graphql-middleware', match: /graphql-shield|graphql-middleware/ },
  {
    name: 'graphql-js: parse, validate, execute (subgraphs and subscription events)',
    match: /node_modules\/graphql\//,
  },
  {
    name: 'subgraph hosting: contexts, session and entity cache, DataLoader',
    match: /common\/src\/(subgraph|runtime|cache)|dataloader|subgraphs\/[a-z]+\/src\/(index|context|services|store)/,
  },
  {
    name: 'message stream: pub/sub, ordered stream, graphql-subscriptions',
    match: /common\/src\/pubsub|graphql-subscriptions|ordered-stream|typing-expiry/,
  },
  { name: 'message pipeline (sendMessage)', match: /subgraphs\/messages\/src\/(pipeline|resolvers)/ },
  {
    name: 'graphql-ws, ws: framing and sending',
    match: /graphql-ws\/|\/ws\/lib\/|gateway\/src\/(server|socket-sessions)/,
  },
  { name: 'crypto: JWT verification (jose, WebCrypto), WebSocket handshakes', match: /\/jose\/|node:internal\/crypto/ },
  { name: 'bench baseline server', match: /bench\/src\/fanout\/bare-server/ },
];

function componentOf(stack: ProfileNode['callFrame'][]): string {
  const [leaf] = stack;
  if (leaf && leaf.functionName.startsWith('(') && !leaf.url) {
    if (leaf.functionName === '(garbage collector)' || leaf.functionName === '(program)') return leaf.functionName;
  }
  for (const frame of stack) {
    if (!frame.url) continue;
    const component = COMPONENTS.find(({ match }) => match.test(frame.url));
    if (component) return component.name;
  }
  return 'other (node internals, timers, microtask queue)';
}

function packageOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module) return module[1]!;
  if (url.startsWith('node:')) return 'node: internals';
  const repo = /\/(gateway|common|prisma|bench|subgraphs\/[^/]+)\/src\//.exec(url);
  return repo ? `repo: ${repo[1]}` : url.replace(/^file:\/\//, '');
}

const file = process.argv[2];
const top = Number(process.argv[3] ?? 25);
if (!file) {
  process.stderr.write('usage: node --import tsx bench/src/fanout/profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const totalUs = profile.endTime - profile.startTime;
const selfByPackage = new Map<string, number>();
const selfByFunction = new Map<string, number>();
const byComponent = new Map<string, number>();
let idleUs = 0;
profile.samples.forEach((id, index) => {
  // A sample's time is the delta to the next sample.
  const us = profile.timeDeltas[index + 1] ?? 0;
  const leaf = byId.get(id)!;
  if (leaf.callFrame.functionName === '(idle)') {
    idleUs += us;
    return;
  }
  const pkg = packageOf(leaf.callFrame);
  selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + us);
  const where = leaf.callFrame.url
    ? `${leaf.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '')}:${leaf.callFrame.lineNumber + 1}`
    : '';
  const fn = `${leaf.callFrame.functionName || '(anonymous)'} ${where}`.trim();
  selfByFunction.set(fn, (selfByFunction.get(fn) ?? 0) + us);
  const stack: ProfileNode['callFrame'][] = [];
  for (let node: number | undefined = id; node !== undefined; node = parent.get(node))
    stack.push(byId.get(node)!.callFrame);
  const component = componentOf(stack);
  byComponent.set(component, (byComponent.get(component) ?? 0) + us);
});

const busyUs = totalUs - idleUs;
const pct = (us: number, of = busyUs) => `${((100 * us) / of).toFixed(1).padStart(5)}%`;
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
const table = (title: string, rows: Map<string, number>, limit: number) => {
  const lines = [`${title}`];
  for (const [name, us] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, limit))
    lines.push(`  ${ms(us)} ${pct(us)}  ${name}`);
  return lines.join('\n');
};
process.stdout.write(
  [
    `${file}: ${(totalUs / 1e6).toFixed(1)} s profiled, busy ${(busyUs / 1e6).toFixed(1)} s (${pct(busyUs, totalUs).trim()}), idle ${(idleUs / 1e6).toFixed(1)} s; percentages of busy time`,
    '',
    table(
      'Time by component (of the nearest frame on the stack that belongs to one):',
      byComponent,
      COMPONENTS.length + 3,
    ),
    '',
    table('Self time by package:', selfByPackage, top),
    '',
    table('Self time by function:', selfByFunction, top),
    '',
  ].join('\n'),
);
