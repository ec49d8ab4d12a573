/**
 * Bad input (issue 6): thousands of malformed documents, variables, request
 * envelopes, content types, query strings, Authorization headers, oversized
 * payloads, deep nesting and broken WebSocket frames against one real
 * gateway process, anonymous and authenticated. For every case: the gateway
 * stays alive and answers `{ __typename }` promptly, no HTTP status >= 500,
 * every answer arrives within a timeout, every GraphQL error has a message
 * and an `extensions.code` (never INTERNAL_SERVER_ERROR for bad input) that
 * the error registry knows, as it knows any `extensions.reason`, no
 * stack trace or internal path leaks, and every WebSocket abuse ends in an
 * error message or a 1xxx/4xxx close (4500, graphql-ws's "internal server
 * error", is a failure). Afterwards a well-behaved graphql-ws client still
 * subscribes and receives a message. Every DateTime and cursor argument of
 * the committed supergraph gets out-of-range times and forged cursors, and
 * must answer exactly BAD_USER_INPUT.
 *
 * Cases come from a seeded PRNG: the seed is printed, `FUZZ_SEED=<seed>`
 * replays a run, `FUZZ_SCALE=<n>` multiplies the random case counts. All
 * violations are gathered and reported in one assertion per transport.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  buildASTSchema,
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  getOperationAST,
  isLeafType,
  isNonNullType,
  parse,
  validate,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import WebSocket from 'ws';
import { gqlOk, Subscription, wsClient, type GraphQLResponse } from '../kit/client.ts';
import {
  badAuthorization,
  badCursors,
  badDates,
  deepGraphQLObject,
  deepJsonObject,
  deepList,
  deepSelection,
  documentBody,
  fuzzSeed,
  garbageValue,
  garbageVariables,
  generateOperation,
  graphqlLiteral,
  INVALID_UTF8_MARK,
  mutateDocument,
  plausibleValue,
  positionArguments,
  Raw,
  Rng,
  toJson,
  vocabularyOf,
  type GeneratedOperation,
  type KnownIds,
  type PositionArgument,
} from '../kit/fuzz.ts';
import { directChat, registerUser, sendText, type TestUser } from '../kit/seed.ts';
import { startEmbedded, type Embedded } from '../kit/topology.ts';
import { graphqlErrors } from '../../../gateway/src/error-catalog.ts';

const SEED = fuzzSeed();
const SCALE = Math.max(0.05, Number(process.env.FUZZ_SCALE ?? 1) || 1);
const scaled = (count: number) => Math.max(1, Math.round(count * SCALE));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/** How long an ordinary request may take before it counts as a hang. */
const ANSWER_MS = 5_000;
/** How long a request of several megabytes may take. */
const BIG_ANSWER_MS = 15_000;
/** `{ __typename }` must answer within this after every batch of cases. */
const HEALTH_MS = 2_000;

// ---------------------------------------------------------------------------
// Findings: what every case observed, and every violation, grouped.

interface Violation {
  count: number;
  samples: string[];
  reported: boolean;
}

class Findings {
  readonly cases = new Map<string, number>();
  readonly tallies = new Map<string, Map<string, number>>();
  readonly violations = new Map<string, Violation>();
  readonly slowest: { ms: number; what: string }[] = [];
  readonly phases: string[] = [];

  /** Runs `work` and records how long it took. */
  async phase(label: string, work: () => Promise<void>): Promise<void> {
    const started = Date.now();
    await work();
    this.phases.push(`${label} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  countCase(category: string, n = 1): void {
    this.cases.set(category, (this.cases.get(category) ?? 0) + n);
  }

  /** Counts an observation (a status, a code, a close code) under `table`. */
  tally(table: string, key: string): void {
    const counts = this.tallies.get(table) ?? new Map<string, number>();
    counts.set(key, (counts.get(key) ?? 0) + 1);
    this.tallies.set(table, counts);
  }

  timing(ms: number, what: string): void {
    this.slowest.push({ ms, what });
    this.slowest.sort((a, b) => b.ms - a.ms);
    this.slowest.length = Math.min(this.slowest.length, 8);
  }

  /** Records a violation; the same kind and signature are grouped, with the first samples kept as repros. */
  violate(area: 'http' | 'ws' | 'health', category: string, kind: string, signature: string, sample: string): void {
    const key = `[${area}/${category}] ${kind}: ${signature}`;
    const entry = this.violations.get(key) ?? { count: 0, samples: [], reported: false };
    entry.count += 1;
    if (entry.samples.length < 2) entry.samples.push(sample);
    this.violations.set(key, entry);
  }

  /** Every violation of `areas` not reported before, grouped, with samples; '' when there is none. */
  report(...areas: string[]): string {
    const entries = [...this.violations].filter(
      ([key, entry]) => !entry.reported && areas.some((area) => key.startsWith(`[${area}/`)),
    );
    if (entries.length === 0) return '';
    for (const [, entry] of entries) entry.reported = true;
    const total = entries.reduce((sum, [, entry]) => sum + entry.count, 0);
    const lines = [`${total} violation(s) in ${entries.length} group(s); replay with FUZZ_SEED=${SEED}:`];
    for (const [key, entry] of entries) {
      lines.push(`- ${key} ×${entry.count}`);
      for (const sample of entry.samples) lines.push(`    e.g. ${sample}`);
    }
    return lines.join('\n');
  }

  summary(): string {
    const lines = [`fuzz summary (seed ${SEED}, scale ${SCALE})`, 'cases:'];
    let total = 0;
    for (const [category, count] of [...this.cases].sort()) {
      lines.push(`  ${category}: ${count}`);
      total += count;
    }
    lines.push(`  total: ${total}`);
    for (const [table, counts] of [...this.tallies].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = [...counts].sort((a, b) => b[1] - a[1]);
      lines.push(`${table}: ${sorted.map(([key, count]) => `${key}=${count}`).join(', ')}`);
    }
    lines.push(`phases: ${this.phases.join(', ')}`);
    lines.push(`slowest: ${this.slowest.map((entry) => `${entry.ms} ms ${entry.what}`).join('; ')}`);
    lines.push(`violation groups: ${this.violations.size}`);
    return lines.join('\n');
  }
}

const clip = (text: string, max = 300) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text);
/** A violation's signature: its message with the variable parts (numbers, quoted values) blanked out. */
const signatureOf = (message: string) =>
  clip(
    message
      .replace(/Syntax Error: .*/s, 'Syntax Error: …')
      .replace(/got invalid value .*/s, 'got invalid value …')
      .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
      .replace(/\d+/g, 'N')
      .replace(/\s+/g, ' '),
    140,
  );
/** A problem ("kind: detail") as the kind and the signature a violation is grouped by. */
function problemKey(problem: string): [string, string] {
  const colon = problem.indexOf(': ');
  return colon < 0 ? [problem, ''] : [problem.slice(0, colon), signatureOf(problem.slice(colon + 2))];
}
/** encodeURIComponent that survives lone surrogates (they become U+FFFD). */
const encode = (text: string) =>
  encodeURIComponent(text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\ufffd'));

// ---------------------------------------------------------------------------
// What every GraphQL answer must satisfy, over HTTP and WebSocket alike.

const LEAKS: [string, RegExp][] = [
  ['a stack frame', /(?:\n|\\n)\s*at\s/],
  ['a stack frame', /\bat (?:async )?(?:[\w$.<>[\]]+ )?\(?(?:file:\/\/|node:|\/)[^\s)"]*:\d+/],
  ['a source position', /\.(?:ts|js|mjs|cjs):\d+/],
  ['node_modules', /node_modules/],
  ['a file URL', /file:\/\//],
  ['the repository path', new RegExp(REPO_ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))],
];
const LEAKY_EXTENSIONS = new Set(['stacktrace', 'stack', 'exception']);
/** Every code and reason a client may get (docs/ERRORS.md). */
const REGISTRY = graphqlErrors();
const REGISTERED_CODES = new Set(REGISTRY.entries().map((entry) => entry.code));

/** Problems with one GraphQL error object (not a whole response). */
function errorProblems(error: unknown, codes: (code: string) => void): string[] {
  if (!error || typeof error !== 'object')
    return [`an error that is not an object: ${clip(JSON.stringify(error), 120)}`];
  const { message, extensions } = error as { message?: unknown; extensions?: Record<string, unknown> };
  const problems: string[] = [];
  if (typeof message !== 'string' || message.trim() === '') problems.push('an error without a message');
  const code = extensions?.code;
  if (typeof code !== 'string' || code === '')
    problems.push(`an error without extensions.code: ${typeof message === 'string' ? message : '?'}`);
  else {
    codes(code);
    if (code === 'INTERNAL_SERVER_ERROR')
      problems.push(`INTERNAL_SERVER_ERROR for bad input: ${typeof message === 'string' ? message : '?'}`);
    if (!REGISTERED_CODES.has(code)) problems.push(`a code not in the error registry: ${code}`);
    const reason = extensions?.reason;
    if (reason !== undefined && !(typeof reason === 'string' && REGISTRY.hasReason(reason, code))) {
      problems.push(`a reason not in the error registry under ${code}: ${JSON.stringify(reason)}`);
    }
  }
  for (const key of Object.keys(extensions ?? {}))
    if (LEAKY_EXTENSIONS.has(key)) problems.push(`extensions.${key} exposed`);
  return problems;
}

/** Problems with a GraphQL response (`{ data, errors }`). */
function responseProblems(body: unknown, codes: (code: string) => void): string[] {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return [`not a GraphQL response object: ${clip(JSON.stringify(body), 120)}`];
  const { errors, data } = body as { errors?: unknown; data?: unknown };
  if (errors === undefined)
    return data !== null && typeof data === 'object' ? [] : ['a response with neither errors nor data'];
  if (!Array.isArray(errors) || errors.length === 0) return ['errors that is not a non-empty list'];
  return errors.flatMap((error) => errorProblems(error, codes));
}

/** Stack traces and internal paths in `answer` that the request itself did not contain. */
function leaks(answer: string, request: string): string[] {
  const found: string[] = [];
  for (const [what, pattern] of LEAKS) {
    const match = pattern.exec(answer);
    if (match && !request.includes(match[0]))
      found.push(`leaks ${what}: …${clip(answer.slice(Math.max(0, match.index - 60), match.index + 80), 160)}…`);
  }
  return found;
}

const requestText = (body: string | Uint8Array | undefined) =>
  body === undefined ? '' : typeof body === 'string' ? body : Buffer.from(body).toString('latin1');

// ---------------------------------------------------------------------------
// The fuzzing context: the gateway, two users, a chat, the schema.

interface Context {
  gateway: Embedded;
  url: string;
  wsUrl: string;
  port: number;
  schema: GraphQLSchema;
  ann: TestUser;
  bob: TestUser;
  chatId: string;
  ids: KnownIds;
  /** Valid operations from the schema (the material mutated). */
  seeds: GeneratedOperation[];
  vocabulary: string[];
  findings: Findings;
  /** Set when the gateway died: the remaining cases are skipped. */
  dead: boolean;
}

/** Whether `query` is a valid subscription that the server may legitimately keep open without a word. */
function mayStayOpen(schema: GraphQLSchema, query: unknown, operationName: unknown): boolean {
  if (typeof query !== 'string') return false;
  try {
    const document = parse(query);
    if (validate(schema, document).length > 0) return false;
    return (
      getOperationAST(document, typeof operationName === 'string' ? operationName : undefined)?.operation ===
      'subscription'
    );
  } catch {
    return false;
  }
}

/** The gateway is alive and answers `{ __typename }` within HEALTH_MS (waiting up to `patienceMs` for it to recover). */
async function checkHealth(ctx: Context, after: string, patienceMs = HEALTH_MS): Promise<void> {
  if (ctx.dead) return;
  const { child } = ctx.gateway.gateway;
  const started = Date.now();
  let lastProblem = '';
  while (Date.now() - started < Math.max(patienceMs, HEALTH_MS)) {
    if (child.exitCode !== null || child.signalCode !== null) {
      ctx.dead = true;
      const output = ctx.gateway.gateway.output();
      ctx.findings.violate(
        'health',
        'process',
        'the gateway process died',
        `exit ${child.exitCode ?? child.signalCode}`,
        `after ${after}; its last output:\n${clip(output.slice(-3000), 3000)}`,
      );
      return;
    }
    try {
      const response = await fetch(ctx.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ __typename }"}',
        signal: AbortSignal.timeout(HEALTH_MS),
      });
      const body = (await response.json()) as { data?: { __typename?: string } };
      if (body.data?.__typename === 'Query') {
        const ms = Date.now() - started;
        ctx.findings.tally('health checks', ms < 100 ? '<100ms' : ms < HEALTH_MS ? '<2s' : '>=2s');
        if (ms >= HEALTH_MS)
          ctx.findings.violate(
            'health',
            'liveness',
            'the gateway stopped answering',
            `{ __typename } took ${ms >= 10_000 ? '>=10' : '>=2'} s`,
            `${ms} ms to answer after ${after}`,
          );
        return;
      }
      lastProblem = `answered ${response.status} ${clip(JSON.stringify(body), 200)}`;
    } catch (error) {
      lastProblem = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  ctx.findings.violate(
    'health',
    'liveness',
    'the gateway stopped answering',
    `{ __typename } failed for ${Math.round(patienceMs / 1000)} s`,
    `after ${after}: ${lastProblem}`,
  );
}

/** Runs `worker` over `items`, `concurrency` at a time. */
async function pool<T>(items: readonly T[], concurrency: number, worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await worker(items[next++] as T);
    }),
  );
}

// ---------------------------------------------------------------------------
// HTTP cases.

interface HttpCase {
  category: string;
  id: string;
  method: string;
  /** Appended to the endpoint URL (`?query=…`). */
  search?: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  timeoutMs?: number;
  /** A valid subscription over SSE: a stream that stays open is an acceptable answer. */
  mayStream?: boolean;
  /** A forged or malformed Authorization header: anything but UNAUTHENTICATED (or a 4xx) is a violation. */
  mustRefuseAuth?: boolean;
}

const JSON_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/graphql-response+json, application/json',
};

async function runHttpCase(ctx: Context, c: HttpCase): Promise<void> {
  if (ctx.dead) return;
  const { findings } = ctx;
  findings.countCase(`http ${c.category}`);
  const request = `${c.method} ${clip(c.search ?? '', 200)} ${clip(JSON.stringify(c.headers), 200)} ${clip(requestText(c.body), 300)}`;
  const fail = (kind: string, signature: string, answer: string) =>
    findings.violate('http', c.category, kind, signature, `${c.id}: ${request} → ${clip(answer, 400)}`);
  const timeoutMs = c.timeoutMs ?? ANSWER_MS;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const started = Date.now();
  try {
    const response = await fetch(`${ctx.url}${c.search ?? ''}`, {
      method: c.method,
      headers: c.headers,
      body: c.body,
      signal: controller.signal,
      redirect: 'manual',
    });
    findings.tally(`http statuses (${c.category})`, String(response.status));
    const type = response.headers.get('content-type') ?? '';
    if (response.status >= 500)
      fail('HTTP status >= 500', String(response.status), `${response.status} ${type} (the body is checked below)`);
    let text: string;
    if (c.method === 'HEAD') {
      text = '';
    } else if (type.includes('text/event-stream')) {
      // A refusal completes within milliseconds; a live subscription legitimately stays open.
      text = await readEventStream(response, Math.min(timeoutMs, c.mayStream ? 1_000 : 2_500));
      const events = text.split(/\n\n/).filter((block) => /^event: next$/m.test(block));
      const complete = /^event: complete$/m.test(text);
      if (!complete && !c.mayStream)
        fail('an SSE stream that neither completed nor carried a live subscription', 'open stream', text);
      for (const block of events) {
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5))
          .join('\n');
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          fail('an SSE event that is not JSON', 'not JSON', data);
          continue;
        }
        for (const problem of responseProblems(parsed, (code) => findings.tally('codes', code)))
          fail(...problemKey(problem), data);
      }
    } else if (type.startsWith('multipart/mixed')) {
      text = await response.text();
      const parts = multipartJsonParts(text, type);
      if (parts.length === 0)
        fail(
          'a multipart/mixed answer without a JSON part',
          `${response.status} ${type}`,
          `${response.status} ${text}`,
        );
      for (const part of parts) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(part);
        } catch {
          fail('a multipart/mixed part that is not JSON', 'not JSON', part);
          continue;
        }
        const incremental =
          parsed !== null && typeof parsed === 'object' && !('data' in parsed) && !('errors' in parsed);
        if (!incremental)
          for (const problem of responseProblems(parsed, (code) => findings.tally('codes', code)))
            fail(...problemKey(problem), part);
      }
    } else {
      text = await response.text();
      let parsed: unknown;
      let isJson = false;
      try {
        parsed = JSON.parse(text);
        isJson = true;
      } catch {
        // not JSON: fine for a 4xx such as 405, 406, 413, 415 or 431, not for a 2xx
      }
      if (!isJson) {
        if (response.status < 400 && c.method !== 'HEAD' && c.method !== 'OPTIONS')
          fail('a non-error status without a GraphQL body', `${response.status} ${type}`, `${response.status} ${text}`);
        else findings.tally('4xx without a GraphQL body', `${response.status}`);
      } else {
        const codes: string[] = [];
        for (const problem of responseProblems(parsed, (code) => codes.push(code)))
          fail(...problemKey(problem), `${response.status} ${text}`);
        for (const code of codes) findings.tally('codes', code);
        if (c.mustRefuseAuth && !codes.includes('UNAUTHENTICATED'))
          fail(
            'a bad Authorization header was not refused with UNAUTHENTICATED',
            codes.join(',') || 'no error',
            `${response.status} ${text}`,
          );
      }
    }
    for (const leak of leaks(text, requestText(c.body) + (c.search ?? ''))) fail('a leak', problemKey(leak)[0], text);
  } catch (error) {
    if (controller.signal.aborted) fail('no answer in time (hang)', `no answer within ${timeoutMs} ms`, 'aborted');
    else if (c.mustRefuseAuth && /header/i.test(String((error as { cause?: unknown }).cause ?? error)))
      findings.tally('skipped: client refused the header', 'auth');
    else
      fail(
        'the connection failed instead of answering',
        signatureOf(String((error as { cause?: unknown }).cause ?? error)),
        String(error),
      );
  } finally {
    clearTimeout(timer);
    findings.timing(Date.now() - started, c.id);
  }
}

/** The JSON bodies of a multipart/mixed answer (incremental delivery). */
function multipartJsonParts(text: string, type: string): string[] {
  const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
  if (!boundary) return [];
  return text
    .split(`--${boundary}`)
    .map((part) => {
      const blank = part.indexOf('\r\n\r\n');
      return blank < 0 ? '' : part.slice(blank + 4).trim();
    })
    .filter((body) => body !== '');
}

/** Reads an event stream until `event: complete` or until `ms` have passed, then stops reading. */
async function readEventStream(response: Response, ms: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + ms;
  try {
    while (!/^event: complete$/m.test(text)) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), left))),
      ]);
      clearTimeout(timer);
      if (chunk === null || chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text;
}

/** `{ query, variables, operationName }` as a JSON body, invalid UTF-8 spliced in where the document asks for it. */
const jsonBody = (rng: Rng, fields: Record<string, unknown>) => documentBody(rng, toJson(fields));
const authHeader = (user: TestUser | undefined): Record<string, string> =>
  user ? { authorization: `Bearer ${user.token}` } : {};

function documentCases(ctx: Context, rng: Rng, count: number): HttpCase[] {
  return Array.from({ length: count }, (_, n): HttpCase => {
    const seed = rng.pick(ctx.seeds);
    const document = rng.chance(0.92) ? mutateDocument(rng, seed.document, ctx.vocabulary) : seed.document;
    const user = rng.chance(0.5) ? ctx.ann : undefined;
    const fields: Record<string, unknown> = { query: document };
    if (Object.keys(seed.variables).length || rng.chance(0.2)) fields.variables = seed.variables;
    if (rng.chance(0.15)) fields.operationName = rng.pick(['Fuzz', 'fuzz', '', null]);
    if (rng.chance(0.05)) fields.query = rng.pick([null, document.length, [document], { document }]);
    return {
      category: 'documents',
      id: `documents#${n}`,
      method: 'POST',
      headers: { ...JSON_HEADERS, ...authHeader(user) },
      body: jsonBody(rng, fields),
      mayStream: user !== undefined && mayStayOpen(ctx.schema, fields.query, fields.operationName),
    };
  });
}

function variableCases(ctx: Context, rng: Rng, count: number): HttpCase[] {
  return Array.from({ length: count }, (_, n): HttpCase => {
    const kind = rng.pick(['query', 'query', 'mutation', 'mutation', 'subscription'] as const);
    const operation = generateOperation(ctx.schema, rng, ctx.ids, kind, true);
    const user = rng.chance(0.7) ? ctx.ann : undefined;
    return {
      category: 'variables',
      id: `variables#${n}`,
      method: 'POST',
      headers: { ...JSON_HEADERS, ...authHeader(user) },
      body: toJson({ query: operation.document, variables: garbageVariables(rng, operation), operationName: 'Fuzz' }),
      mayStream: user !== undefined && kind === 'subscription',
    };
  });
}

function envelopeCases(ctx: Context, rng: Rng, count: number): HttpCase[] {
  const valid = '{ __typename }';
  const two = 'query A { __typename } query B { __typename }';
  const bodies: (() => string)[] = [
    () => rng.unicode(rng.between(1, 50)),
    () => `{"query":"${valid}"`,
    () => `{"query":"${valid}"} trailing`,
    () => `{"query":"${valid}", // comment\n}`,
    () => `{'query':'${valid}'}`,
    () => `\ufeff{"query":"${valid}"}`,
    () => '',
    () => ' \n\t ',
    () => `{"query":"${valid}","variables":NaN}`,
    () => `{"query":"${valid}","variables":{"a":undefined}}`,
    () => `{"query":"${valid}","variables":{"a":.5}}`,
    () => `{"query":"${valid}","query":"{ nope }"}`,
    () => `{"__proto__":{"query":"${valid}"}}`,
    () => `{"query":"${valid}","variables":{"__proto__":{"polluted":true}}}`,
    () => deepList(rng.pick([1000, 10_000])),
    () => deepJsonObject(rng.pick([1000, 10_000])),
    () => rng.pick(['42', '"a string"', 'null', 'true', 'false', '[]', '[1,2]', '-0', '1e400', '{}']),
    () => toJson([{ query: valid }, { query: valid }]),
    () => toJson(Array.from({ length: rng.pick([1, 100, 1000]) }, () => ({ query: valid }))),
    () => toJson([garbageValue(rng), garbageValue(rng)]),
    () => toJson({ query: rng.pick([null, 5, true, [], {}, [valid], { query: valid }]) }),
    () => toJson({ query: valid, operationName: garbageValue(rng, 1) }),
    () =>
      toJson({
        query: valid,
        operationName: rng.pick(['Nope', '', ' ', 'x'.repeat(100_000), '__typename', rng.unicode(10)]),
      }),
    () => toJson({ query: two, operationName: rng.pick([undefined, null, 'C', 'a', ['A'], 'A B']) }),
    () => toJson({ query: two, operationName: 'B' }),
    () => toJson({ query: valid, extensions: garbageValue(rng, 2) }),
    () => toJson({ query: valid, extensions: { persistedQuery: garbageValue(rng, 1) } }),
    () => toJson({ extensions: { persistedQuery: { version: 1, sha256Hash: rng.string(64, '0123456789abcdef') } } }),
    () => toJson({ variables: {}, operationName: 'A' }),
    () =>
      toJson({ query: valid, variables: new Raw(rng.pick(['"{}"', '[]', '[{}]', '0', '-0', 'true', '"x"', 'null'])) }),
    () => toJson(garbageValue(rng, 3)),
  ];
  return Array.from({ length: count }, (_, n): HttpCase => {
    const user = rng.chance(0.3) ? ctx.ann : undefined;
    return {
      category: 'envelope',
      id: `envelope#${n}`,
      method: 'POST',
      headers: { ...JSON_HEADERS, ...authHeader(user) },
      body: rng.pick(bodies)(),
    };
  });
}

function contentTypeCases(ctx: Context, rng: Rng, count: number): HttpCase[] {
  const types = [
    'text/plain',
    'application/xml',
    'text/html',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'application/json; charset=nope',
    'application/json;;;',
    'APPLICATION/JSON',
    'application/graphql',
    'application/graphql+json',
    'application/graphql-response+json',
    'application/x-www-form-urlencoded',
    'multipart/form-data',
    'multipart/form-data; boundary=',
    'multipart/mixed',
    'application/octet-stream',
    'application/json, text/html',
    '*/*',
    'garbage',
    `application/json; a=${'b'.repeat(5000)}`,
    'image/png',
  ];
  const accepts = [
    undefined,
    'application/json',
    'text/html',
    'image/png',
    '*/*',
    'application/graphql-response+json;q=0',
    'multipart/mixed',
    'text/event-stream',
    'nonsense/;;;',
    '',
  ];
  const methods = ['POST', 'POST', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'];
  return Array.from({ length: count }, (_, n): HttpCase => {
    const method = rng.pick(methods);
    const headers: Record<string, string> = {
      'content-type': rng.pick(types),
      ...authHeader(rng.chance(0.3) ? ctx.ann : undefined),
    };
    const accept = rng.pick(accepts);
    if (accept !== undefined) headers.accept = accept;
    const body = rng.pick([
      () => '{"query":"{ __typename }"}',
      () => '{ __typename }',
      () => 'query=%7B__typename%7D&variables=%7B',
      () => `query=${encode(mutateDocument(rng, '{ __typename }', ctx.vocabulary))}`,
      () => rng.unicode(30),
      () => '',
    ])();
    return {
      category: 'content types',
      id: `content-types#${n}`,
      method,
      headers,
      body: method === 'HEAD' ? undefined : body,
    };
  });
}

function getCases(ctx: Context, rng: Rng, count: number): HttpCase[] {
  const valid = encode('{ __typename }');
  const shapes: (() => string)[] = [
    () =>
      `?query=${encode(mutateDocument(rng, rng.pick(ctx.seeds).document, ctx.vocabulary).replaceAll(INVALID_UTF8_MARK, '%FF'))}`,
    () => `?query=${rng.pick(['%', '%G1', '%E0%A4%A', '%FF%FE', '%00', '%C0%80', '%ED%A0%80', '%%', '%7B__typename'])}`,
    () =>
      `?query=${valid}&variables=${rng.pick(['%7B', '{', '[', 'null', '5', '%22x%22', '%7B%22a%22%3A', 'NaN', encode(deepList(2000))])}`,
    () => `?query=${valid}&extensions=${rng.pick(['%7B', '5', '[', 'null', '%7B%22persistedQuery%22%3A1%7D'])}`,
    () => `?query=${valid}&operationName=${encode(rng.pick(['Nope', '', rng.unicode(5), 'x'.repeat(2000)]))}`,
    () => `?query=${valid}&query=${encode('{ nope }')}`,
    () => `?query=${encode('mutation { setTyping(chatId: "1", typing: true) }')}`,
    () => `?query=${encode('subscription { messageAdded { id } }')}`,
    () => `?${rng.pick(['', '&', '=', '==', 'query', 'query=', '&&&query=&&', '?query=x', 'variables=%7B%7D'])}`,
    () => `?query=${'a'.repeat(rng.pick([4000, 12_000, 20_000]))}`,
    () => `?query=${valid}&variables=${encode(toJson(garbageValue(rng, 3)))}`,
    () => `?query=${encode(deepSelection(rng.pick([500, 3000])))}`,
    () => `?${rng.string(rng.between(1, 40), 'abc=&%;+?#/[]{}"\'<>\\^`|~')}`,
  ];
  return Array.from({ length: count }, (_, n): HttpCase => {
    const user = rng.chance(0.3) ? ctx.ann : undefined;
    const headers: Record<string, string> = {
      accept: rng.pick(['application/json', 'application/graphql-response+json', '*/*']),
      ...authHeader(user),
    };
    const search = rng.pick(shapes)();
    const params = new URLSearchParams(search);
    return {
      category: 'GET',
      id: `get#${n}`,
      method: 'GET',
      search,
      headers,
      mayStream: user !== undefined && mayStayOpen(ctx.schema, params.get('query'), params.get('operationName')),
    };
  });
}

function authCases(ctx: Context, rng: Rng, count: number): HttpCase[] {
  const documents = [
    '{ __typename }',
    '{ me { id username } }',
    'mutation { setTyping(chatId: "1", typing: true) }',
    `query { chat(id: "${ctx.chatId}") { id } }`,
  ];
  const cases: HttpCase[] = [];
  for (let n = 0; cases.length < count && n < count * 3; n++) {
    const authorization = badAuthorization(rng, ctx.ann.token, ctx.ann.id);
    if (authorization.trim() === '' || /[\0\r\n]/.test(authorization)) continue;
    cases.push({
      category: 'authorization',
      id: `authorization#${n}`,
      method: 'POST',
      headers: { ...JSON_HEADERS, authorization },
      body: JSON.stringify({ query: rng.pick(documents) }),
      mustRefuseAuth: true,
    });
  }
  return cases;
}

function sseCases(ctx: Context, rng: Rng, count: number): HttpCase[] {
  const subscriptions = ctx.seeds.filter((seed) => seed.kind === 'subscription');
  return Array.from({ length: count }, (_, n): HttpCase => {
    const seed = rng.pick(rng.chance(0.7) ? subscriptions : ctx.seeds);
    const query = rng.chance(0.8) ? mutateDocument(rng, seed.document, ctx.vocabulary) : seed.document;
    const user = rng.chance(0.4) ? ctx.ann : undefined;
    const variables = rng.chance(0.3) ? garbageVariables(rng, seed) : seed.variables;
    return {
      category: 'SSE',
      id: `sse#${n}`,
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...authHeader(user) },
      body: jsonBody(rng, { query, variables }),
      mayStream: user !== undefined && mayStayOpen(ctx.schema, query, undefined),
    };
  });
}

function multipartCases(ctx: Context, rng: Rng, count: number): HttpCase[] {
  const parts: (() => [string, string][])[] = [
    () => [
      ['operations', '{"query":"{ __typename }"}'],
      ['map', rng.pick(['{', '[]', '{"0":["variables.file"]}', '{"0":5}', '5', '{"0":["nope.path"]}'])],
    ],
    () => [['operations', rng.pick(['zz', '{', '5', '[]', '[{"query":"{ __typename }"}]', '{"query":5}', 'null'])]],
    () => [['map', '{}']],
    () => [
      ['operations', '{"query":"query ($f: String) { __typename }","variables":{"f":null}}'],
      ['map', '{"0":["variables.f"]}'],
      ['0', rng.unicode(50)],
    ],
    () => [
      ['operations', toJson({ query: mutateDocument(rng, '{ __typename }', ctx.vocabulary) })],
      ['map', '{}'],
    ],
    () => [
      ['operations', '{"query":"{ __typename }"}'],
      ['map', '{"0":["variables.x"]}'],
      ['0', 'x'.repeat(rng.pick([10, 1_000_000]))],
    ],
  ];
  return Array.from({ length: count }, (_, n): HttpCase => {
    const boundary = rng.pick(['fuzzboundary', '', '"quoted"', rng.string(70)]);
    const fields = rng.pick(parts)();
    let body = fields
      .map(
        ([name, value]) =>
          `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${name === '0' ? '; filename="f.txt"' : ''}\r\n\r\n${value}\r\n`,
      )
      .join('');
    body += rng.chance(0.8) ? `--${boundary}--\r\n` : rng.pick(['', '--', `--${boundary}`]);
    return {
      category: 'multipart',
      id: `multipart#${n}`,
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        accept: 'application/json',
        ...authHeader(rng.chance(0.3) ? ctx.ann : undefined),
      },
      body,
    };
  });
}

/** Deep nesting, many aliases and fragments, directive garbage: fixed shapes, run one at a time. */
function shapeCases(ctx: Context, rng: Rng): HttpCase[] {
  const post = (
    label: string,
    fields: Record<string, unknown> | string,
    user?: TestUser,
    timeoutMs = ANSWER_MS,
  ): HttpCase => ({
    category: 'shapes',
    id: `shapes:${label}`,
    method: 'POST',
    headers: { ...JSON_HEADERS, ...authHeader(user) },
    body: typeof fields === 'string' ? fields : toJson(fields),
    timeoutMs,
  });
  const aliases = (n: number, field: string) => Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ');
  const fragmentChain = (n: number) =>
    `{ ...F0 } ${Array.from({ length: n }, (_, i) => `fragment F${i} on Query { ...F${i + 1} }`).join(' ')} fragment F${n} on Query { __typename }`;
  const chatId = ctx.chatId;
  return [
    post('10,000 nested selections', { query: deepSelection(10_000) }, ctx.ann),
    post('10,000 nested selections (unknown field)', { query: deepSelection(10_000, 'a', 'b') }),
    post('1,000 nested selections', { query: deepSelection(1000) }, ctx.ann),
    post('10,000 nested inline fragments', {
      query: `{ ${'... on Query { '.repeat(10_000)}__typename${' }'.repeat(10_000)} }`,
    }),
    post('10,000 nested list literal', { query: `{ user(id: ${deepList(10_000, '"1"')}) { id } }` }, ctx.ann),
    post(
      '10,000 nested object literal',
      { query: `mutation { createGroupChat(input: ${deepGraphQLObject(10_000)}) { id } }` },
      ctx.ann,
    ),
    post('10,000 nested list type', {
      query: `query ($x: ${'['.repeat(10_000)}ID${']'.repeat(10_000)}) { __typename }`,
    }),
    post(
      '10,000 nested lists in a used variable',
      `{"query":"query ($ids: [ID!]) { presenceChanged: __typename user(id: \\"1\\") { id } m: messages(chatId: \\"${chatId}\\") { edges { cursor } } }","variables":{"ids":${deepList(10_000)}}}`,
      ctx.ann,
    ),
    post(
      '10,000 nested lists for a list argument',
      `{"query":"mutation ($ids: [ID!]!) { addChatMembers(chatId: \\"${chatId}\\", userIds: $ids) { id } }","variables":{"ids":${deepList(10_000)}}}`,
      ctx.ann,
    ),
    post(
      '100,000 nested lists in a variable',
      `{"query":"mutation ($ids: [ID!]!) { addChatMembers(chatId: \\"${chatId}\\", userIds: $ids) { id } }","variables":{"ids":${deepList(100_000)}}}`,
      ctx.ann,
    ),
    post(
      '10,000 nested objects in an input variable',
      `{"query":"mutation ($input: CreateGroupChatInput!) { createGroupChat(input: $input) { id } }","variables":{"input":${deepJsonObject(10_000)}}}`,
      ctx.ann,
    ),
    post('a 3,000-fragment chain', { query: fragmentChain(3000) }),
    post('a 10,000-fragment chain', { query: fragmentChain(10_000) }),
    post('a fragment cycle', {
      query: '{ ...A } fragment A on Query { ...B } fragment B on Query { ...C } fragment C on Query { ...A }',
    }),
    post('a self-referencing fragment', { query: '{ ...A } fragment A on Query { __typename ...A }' }),
    post('a fragment bomb (2^40 spreads)', {
      query: `{ ...F0 } ${Array.from({ length: 40 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F40 on Query { __typename }`,
    }),
    post('5,000 unused fragments', {
      query: `{ __typename } ${Array.from({ length: 5000 }, (_, i) => `fragment F${i} on Query { __typename }`).join(' ')}`,
    }),
    post(
      'duplicate fragment names',
      { query: '{ ...A } fragment A on Query { __typename } fragment A on Query { me { id } }' },
      ctx.ann,
    ),
    post('fragments on wrong and unknown types', {
      query: '{ ...A ...B ... on Nope { x } } fragment A on User { id } fragment B on String { x }',
    }),
    post('10,000 aliases of __typename', { query: `{ ${aliases(10_000, '__typename')} }` }),
    post('2,000 aliases of me', { query: `{ ${aliases(2000, 'me { id displayName }')} }` }, ctx.ann),
    post('20,000 aliases inside me', { query: `{ me { ${aliases(20_000, '__typename')} } }` }, ctx.ann),
    post(
      '1,000 aliases of chat',
      {
        query: `{ ${aliases(1000, `chat(id: "${chatId}") { id members { user { displayName presence { status } } } }`)} }`,
      },
      ctx.ann,
    ),
    post('5,000 identical fields', { query: `{ ${'me { id } '.repeat(5000)} }` }, ctx.ann),
    post('100,000 __typename', { query: `{ ${'__typename '.repeat(100_000)} }` }),
    post('5,000 @skip directives', { query: `{ __typename ${'@skip(if: false) '.repeat(5000)} }` }),
    post(
      'a bad @skip argument on a subscription root field',
      { query: 'subscription { connectionChanged @skip(if: "yes") { since } }' },
      ctx.ann,
    ),
    post('directive garbage', {
      query:
        '{ __typename @skip @include(if: "yes") @nope(a: 1) @deprecated @defer @stream(initialCount: -1) @skip(if: $undefined) }',
    }),
    post('directives on operations and fragments', {
      query: 'query @skip(if: true) @nope { ...A @include(if: 5) } fragment A on Query @skip(if: true) { __typename }',
    }),
    post(
      '@defer and @stream',
      { query: `{ me { id ... @defer { displayName } } chats(first: 2) @stream { edges { cursor } } }` },
      ctx.ann,
    ),
    post('5,000 arguments', {
      query: `{ __typename(${Array.from({ length: 5000 }, (_, i) => `a${i}: 1`).join(' ')}) }`,
    }),
    post('5,000 variable definitions', {
      query: `query (${Array.from({ length: 5000 }, (_, i) => `$v${i}: Int`).join(' ')}) { __typename }`,
    }),
    post('deep introspection', {
      query: `{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }`,
    }),
    post('introspection cycle via ofType', {
      query: `{ __type(name: "Query") { ${'fields { type { ofType { '.repeat(30)}name${' } } }'.repeat(30)} } }`,
    }),
    post('unicode names', { query: `{ ${rng.unicode(30)} }` }),
    post('an operation per line ×2,000', {
      query: Array.from({ length: 2000 }, (_, i) => `query Q${i} { __typename }`).join('\n'),
      operationName: 'Q1999',
    }),
  ];
}

/** Several megabytes: one at a time, with a long timeout. */
function oversizedCases(ctx: Context): HttpCase[] {
  const big = (
    label: string,
    body: string,
    user?: TestUser,
    headers: Record<string, string> = JSON_HEADERS,
  ): HttpCase => ({
    category: 'oversized',
    id: `oversized:${label}`,
    method: 'POST',
    headers: { ...headers, ...authHeader(user) },
    body,
    timeoutMs: BIG_ANSWER_MS,
  });
  return [
    big(
      'an 8 MB string variable',
      toJson({ query: 'query ($s: String) { __typename }', variables: { s: 'x'.repeat(8_000_000) } }),
    ),
    big(
      'an 8 MB message text',
      toJson({
        query: 'mutation ($i: SendMessageInput!) { sendMessage(input: $i) { id } }',
        variables: { i: { chatId: ctx.chatId, text: 'x'.repeat(8_000_000), clientMessageId: 'fuzz-huge' } },
      }),
      ctx.ann,
    ),
    big('a 5 MB comment', toJson({ query: `{ __typename #${'c'.repeat(5_000_000)}\n }` })),
    big('a 4 MB string literal', toJson({ query: `{ user(id: "${'9'.repeat(4_000_000)}") { id } }` }), ctx.ann),
    big('300,000 fields (3 MB)', toJson({ query: `{ ${'__typename '.repeat(300_000)}}` })),
    big(
      'a 500,000-item ID list (3 MB)',
      toJson({
        query: `mutation ($ids: [ID!]!) { addChatMembers(chatId: "${ctx.chatId}", userIds: $ids) { id } }`,
        variables: { ids: Array.from({ length: 500_000 }, (_, i) => String(i)) },
      }),
      ctx.ann,
    ),
    big('a 2 MB operationName', toJson({ query: '{ __typename }', operationName: 'N'.repeat(2_000_000) })),
    big('10 MB that is not JSON', 'x'.repeat(10_000_000)),
    big('a 6 MB batch', toJson(Array.from({ length: 200_000 }, () => ({ query: '{ __typename }' })))),
    big('a 5 MB form body', `query=${'a'.repeat(5_000_000)}`, undefined, {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    }),
  ];
}

// ---------------------------------------------------------------------------
// Raw HTTP: requests that fetch cannot make.

interface RawOutcome {
  status?: number;
  response: string;
  closed: boolean;
}

function rawExchange(port: number, chunks: (string | Buffer)[], ms: number): Promise<RawOutcome> {
  return new Promise((resolve) => {
    let response = '';
    let closed = false;
    const socket = connect(port, '127.0.0.1', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(response)?.[1];
      resolve({ status: status ? Number(status) : undefined, response, closed });
    };
    const timer = setTimeout(finish, ms);
    socket.on('data', (data: Buffer) => {
      response += data.toString('latin1');
      if (/\r\n\r\n/.test(response)) setTimeout(finish, 100);
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('error', () => undefined);
  });
}

async function runRawHttp(ctx: Context): Promise<void> {
  const json = '{"query":"{ __typename }"}';
  const cases: [string, (string | Buffer)[]][] = [
    ['a garbage request line', ['GARBAGE\r\n\r\n']],
    ['HTTP/0.9', ['GET /graphql\r\n']],
    ['a header without a colon', ['POST /graphql HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n']],
    ['a 100 KB header', [`POST /graphql HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`]],
    [
      '10,000 headers',
      [
        `POST /graphql HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 10_000 }, (_, i) => `X-${i}: 1\r\n`).join('')}\r\n`,
      ],
    ],
    [
      'broken chunked encoding',
      [
        `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n${json}\r\n0\r\n\r\n`,
      ],
    ],
    [
      'Content-Length and chunked',
      [
        `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`,
      ],
    ],
    [
      'a negative Content-Length',
      [`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n${json}`],
    ],
    [
      'a body longer than Content-Length',
      [
        `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n${json}`,
      ],
    ],
    [
      'an absolute-form target',
      [
        `POST http://evil.example/graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\nConnection: close\r\n\r\n${json}`,
      ],
    ],
    [
      'a path with dot segments',
      [
        `GET /graphql/../graphql/%2e%2e/graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      ],
    ],
    ['a NUL in the request line', [Buffer.from('GET /graphql\0?query=x HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1')]],
    ['binary noise', [Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256))]],
    ['a request cut off mid-header', ['POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: appl']],
    [
      'an Upgrade to h2c',
      [
        `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
      ],
    ],
    ['the HTTP/2 preface', ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n']],
  ];
  await pool(cases, 4, async ([label, chunks]) => {
    ctx.findings.countCase('http raw');
    const outcome = await rawExchange(ctx.port, chunks, 2_000);
    ctx.findings.tally(
      'http statuses (raw)',
      outcome.status ? String(outcome.status) : outcome.closed ? 'closed without a status' : 'no answer',
    );
    if (outcome.status !== undefined && outcome.status >= 500)
      ctx.findings.violate(
        'http',
        'raw',
        'HTTP status >= 500',
        String(outcome.status),
        `raw:${label} → ${clip(outcome.response, 300)}`,
      );
    for (const leak of leaks(outcome.response, chunks.join('')))
      ctx.findings.violate(
        'http',
        'raw',
        'a leak',
        problemKey(leak)[0],
        `raw:${label} → ${clip(outcome.response, 300)}`,
      );
  });
}

// ---------------------------------------------------------------------------
// WebSocket.

interface ServerMessage {
  type?: unknown;
  id?: unknown;
  payload?: unknown;
}

/** One WebSocket connection through the `ws` package, observed: every message, the close code, the handshake status. */
class WsProbe {
  readonly socket: WebSocket;
  readonly messages: ServerMessage[] = [];
  readonly raw: string[] = [];
  close?: { code: number; reason: string };
  handshakeStatus?: number;
  error?: string;
  opened = false;
  #waiters: (() => void)[] = [];

  constructor(url: string, options: { protocol?: string | string[]; headers?: Record<string, string> } = {}) {
    this.socket = new WebSocket(url, options.protocol ?? 'graphql-transport-ws', {
      headers: options.headers,
      handshakeTimeout: 5_000,
    });
    this.socket.on('open', () => {
      this.opened = true;
      this.#wake();
    });
    this.socket.on('message', (data: WebSocket.RawData) => {
      const text = Buffer.isBuffer(data)
        ? data.toString()
        : Array.isArray(data)
          ? Buffer.concat(data).toString()
          : Buffer.from(data).toString();
      this.raw.push(text);
      try {
        this.messages.push(JSON.parse(text) as ServerMessage);
      } catch {
        this.messages.push({ type: `<not JSON: ${clip(text, 80)}>` });
      }
      this.#wake();
    });
    this.socket.on('unexpected-response', (request, response) => {
      this.handshakeStatus = response.statusCode;
      request.destroy();
      this.close = { code: 0, reason: `handshake answered ${response.statusCode}` };
      this.#wake();
    });
    this.socket.on('error', (error) => {
      this.error = error.message;
      this.#wake();
    });
    this.socket.on('close', (code, reason) => {
      this.close ??= { code, reason: reason.toString() };
      this.#wake();
    });
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Waits until `done()` holds or the socket closed, at most `ms`; whether `done()` held. */
  async until(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (this.close) return done();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  send(data: string | Buffer, binary = false): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(data, { binary });
  }

  answered(id: string): boolean {
    return this.messages.some(
      (message) => message.id === id && (message.type === 'error' || message.type === 'complete'),
    );
  }

  has(type: string): boolean {
    return this.messages.some((message) => message.type === type);
  }

  terminate(): void {
    this.socket.terminate();
  }
}

/** Close codes a client may get for abuse: the 1xxx protocol codes and graphql-ws's 44xx; not 1006 (no close frame), 1011 or 45xx (server errors). */
const acceptableClose = (code: number) =>
  (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1010) || (code >= 4000 && code <= 4499);

/** Checks every message of a connection and its close code; `label` names the case. */
function checkWsOutcome(ctx: Context, category: string, label: string, probe: WsProbe, sent: string): void {
  const { findings } = ctx;
  const fail = (kind: string, signature: string, detail: string) =>
    findings.violate('ws', category, kind, signature, `${label}: sent ${clip(sent, 300)} → ${clip(detail, 400)}`);
  probe.messages.forEach((message, index) => {
    const raw = probe.raw[index] ?? '';
    const type = message.type;
    findings.tally('ws server messages', String(type));
    if (!['connection_ack', 'ping', 'pong', 'next', 'error', 'complete'].includes(String(type)))
      fail('a malformed server message', String(type), raw);
    const problems =
      type === 'next'
        ? responseProblems(message.payload, (code) => findings.tally('codes', code))
        : type === 'error'
          ? Array.isArray(message.payload) && message.payload.length > 0
            ? message.payload.flatMap((error) => errorProblems(error, (code) => findings.tally('codes', code)))
            : ['an error message without errors']
          : [];
    for (const problem of problems) fail(...problemKey(problem), raw);
    for (const leak of leaks(raw, sent)) fail('a leak', problemKey(leak)[0], raw);
  });
  if (probe.close) {
    const { code, reason } = probe.close;
    findings.tally('ws close codes', code === 0 ? `handshake ${probe.handshakeStatus}` : `${code} ${reason}`.trim());
    if (code === 0 ? (probe.handshakeStatus ?? 0) >= 500 : !acceptableClose(code))
      fail(
        `a close with code ${code || `(handshake ${probe.handshakeStatus})`}`,
        `${code} ${reason}`,
        `close ${code} ${reason}${probe.error ? ` (${probe.error})` : ''}; messages ${probe.raw.join(' ')}`,
      );
    for (const leak of leaks(reason, sent)) fail('a leak in a close reason', leak, reason);
  }
}

interface WsStep {
  frame: string | Buffer;
  binary?: boolean;
  /** Wait for connection_ack (or a close) after sending this. */
  awaitAck?: boolean;
  /** A subscribe: its id, and whether the operation may legitimately stay open without a word. */
  subscribe?: { id: string; mayStayOpen: boolean };
}

interface WsScript {
  category: string;
  id: string;
  protocol?: string | string[];
  headers?: Record<string, string>;
  steps: WsStep[];
  /** The server must close the connection on its own within this (e.g. no connection_init: 4408). */
  mustCloseWithinMs?: number;
}

/**
 * Runs a script on a fresh connection. Afterwards the connection must be
 * closed with an acceptable code, or have answered every subscribe that
 * cannot stay open (an `error` or a `complete`) and still answer a ping.
 */
async function runWsScript(ctx: Context, script: WsScript): Promise<void> {
  if (ctx.dead) return;
  const { findings } = ctx;
  findings.countCase(`ws ${script.category}`);
  const sent = script.steps
    .map((step) => (typeof step.frame === 'string' ? clip(step.frame, 200) : `<binary ${step.frame.length} bytes>`))
    .join(' | ');
  const fail = (kind: string, detail: string) =>
    findings.violate('ws', script.category, kind, kind, `${script.id}: sent ${clip(sent, 400)} → ${clip(detail, 400)}`);
  const probe = new WsProbe(ctx.wsUrl, { protocol: script.protocol, headers: script.headers });
  const started = Date.now();
  try {
    if (!(await probe.until(() => probe.opened, 5_000))) {
      if (!probe.close) fail('no handshake answer in time (hang)', `nothing after 5 s`);
      return;
    }
    const expected: string[] = [];
    for (const step of script.steps) {
      if (probe.close) break;
      probe.send(step.frame, step.binary);
      if (step.subscribe && probe.has('connection_ack') && !step.subscribe.mayStayOpen)
        expected.push(step.subscribe.id);
      if (step.awaitAck && !(await probe.until(() => probe.has('connection_ack'), 3_000)) && !probe.close)
        fail('no connection_ack and no close in time', `after 3 s: ${probe.raw.join(' ')}`);
    }
    if (script.mustCloseWithinMs !== undefined) {
      if (!(await probe.until(() => probe.close !== undefined, script.mustCloseWithinMs)))
        fail(
          'the server did not close the connection in time',
          `open after ${script.mustCloseWithinMs} ms: ${probe.raw.join(' ')}`,
        );
      return;
    }
    // A subscribe the client completed itself needs no answer (the protocol says the server sends nothing more for it).
    const cancelled = new Set(
      script.steps.flatMap((step) => {
        if (typeof step.frame !== 'string') return [];
        try {
          const message = JSON.parse(step.frame) as { type?: unknown; id?: unknown };
          return message?.type === 'complete' && typeof message.id === 'string' ? [message.id] : [];
        } catch {
          return [];
        }
      }),
    );
    const awaited = expected.filter((id) => !cancelled.has(id));
    const answered = await probe.until(() => awaited.every((id) => probe.answered(id)), 3_000);
    if (probe.close) return;
    if (!answered)
      fail(
        'a subscribe without an answer (hang)',
        `no error/complete for ${awaited
          .filter((id) => !probe.answered(id))
          .map((id) => clip(id, 20))
          .join(', ')} within 3 s; got ${probe.raw.join(' ')}`,
      );
    const pongs = probe.messages.filter((message) => message.type === 'pong').length;
    probe.send(JSON.stringify({ type: 'ping' }));
    if (
      !(await probe.until(() => probe.messages.filter((message) => message.type === 'pong').length > pongs, 2_000)) &&
      !probe.close
    )
      fail('an open connection that no longer answers a ping', `no pong within 2 s`);
  } finally {
    checkWsOutcome(ctx, script.category, script.id, probe, sent);
    findings.timing(Date.now() - started, script.id);
    probe.terminate();
  }
}

const init = (payload?: unknown) =>
  JSON.stringify(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload });
const subscribe = (id: unknown, payload: unknown) => toJson({ id, type: 'subscribe', payload });

/** Random abuse: an optional (sometimes broken) connection_init, then one to four broken or odd frames. */
function frameScripts(ctx: Context, rng: Rng, count: number): WsScript[] {
  return Array.from({ length: count }, (_, n): WsScript => {
    const steps: WsStep[] = [];
    const user = rng.chance(0.5) ? ctx.ann : undefined;
    const start = rng.next();
    if (start < 0.78)
      steps.push({
        frame: init(user ? { authorization: `Bearer ${user.token}` } : rng.pick([undefined, {}, null])),
        awaitAck: true,
      });
    else if (start < 0.9)
      steps.push({
        frame: init(
          rng.pick([
            () => 'x',
            () => 5,
            () => [],
            () => ({ authorization: badAuthorization(rng, ctx.ann.token, ctx.ann.id) }),
            () => ({ authorization: 5 }),
            () => garbageValue(rng, 2),
          ])(),
        ),
      });
    const ids: string[] = [];
    const subscribeStep = (id: unknown, payload: unknown): WsStep => {
      const stringId = typeof id === 'string' ? id : undefined;
      if (stringId !== undefined) ids.push(stringId);
      const query = (payload as { query?: unknown } | null | undefined)?.query;
      const operationName = (payload as { operationName?: unknown } | null | undefined)?.operationName;
      const open = user !== undefined && mayStayOpen(ctx.schema, query, operationName);
      const wellFormed =
        stringId !== undefined && payload !== null && typeof payload === 'object' && typeof query === 'string';
      return { frame: subscribe(id, payload), subscribe: wellFormed ? { id: stringId, mayStayOpen: open } : undefined };
    };
    const frames: (() => WsStep)[] = [
      () => ({
        frame: rng.pick(['hello', '{', '', 'null', '[]', '42', '"str"', '{"type":', rng.unicode(20), '\u0000']),
      }),
      () => ({ frame: Buffer.from(Array.from({ length: rng.between(1, 64) }, () => rng.int(256))), binary: true }),
      () => ({ frame: Buffer.from(init()), binary: true }),
      () => ({
        frame: toJson(rng.pick([{}, { id: '1' }, { payload: {} }, { id: '1', payload: { query: '{ __typename }' } }])),
      }),
      () => ({
        frame: toJson({
          type: rng.pick([
            'foo',
            'CONNECTION_INIT',
            'start',
            'stop',
            'connection_terminate',
            'ka',
            'data',
            '',
            5,
            null,
            {},
            ['subscribe'],
          ]),
          id: '1',
          payload: {},
        }),
      }),
      () => subscribeStep(`s${n}-${steps.length}`, { query: '{ __typename }' }),
      () => {
        const seed = rng.pick(ctx.seeds);
        return subscribeStep(`s${n}-${steps.length}`, {
          query: rng.chance(0.7)
            ? mutateDocument(rng, seed.document, ctx.vocabulary).replaceAll(INVALID_UTF8_MARK, '\ufffd')
            : seed.document,
          variables: seed.variables,
        });
      },
      () => {
        const seed = rng.pick(ctx.seeds.filter((operation) => Object.keys(operation.variables).length > 0));
        return subscribeStep(`s${n}-${steps.length}`, { query: seed.document, variables: garbageVariables(rng, seed) });
      },
      () =>
        subscribeStep(ids.length ? rng.pick(ids) : 'dup', { query: 'subscription { connectionChanged { status } }' }),
      () =>
        subscribeStep(rng.pick(['', 'x'.repeat(rng.pick([1000, 1_000_000])), rng.unicode(10), '__proto__']), {
          query: '{ __typename }',
        }),
      () => subscribeStep(rng.pick([5, null, undefined, {}, [], true]), { query: '{ __typename }' }),
      () =>
        subscribeStep(
          `s${n}-${steps.length}`,
          rng.pick([undefined, null, 'x', 5, [], {}, { query: 5 }, { query: null }, { query: ['{ __typename }'] }]),
        ),
      () =>
        subscribeStep(`s${n}-${steps.length}`, {
          query: '{ __typename }',
          variables: rng.pick([5, 'x', [], null, garbageValue(rng, 2)]),
        }),
      () =>
        subscribeStep(`s${n}-${steps.length}`, {
          query: '{ __typename }',
          operationName: rng.pick([5, {}, 'Nope', '', null, 'x'.repeat(10_000)]),
        }),
      () =>
        subscribeStep(`s${n}-${steps.length}`, {
          query: '{ __typename }',
          extensions: rng.pick([5, 'x', [], garbageValue(rng, 2)]),
        }),
      () => subscribeStep(`s${n}-${steps.length}`, { query: deepSelection(rng.pick([1000, 10_000])) }),
      () =>
        subscribeStep(`s${n}-${steps.length}`, {
          query: '{ __typename }',
          variables: { big: 'x'.repeat(rng.pick([100_000, 5_000_000])) },
        }),
      () => ({ frame: toJson({ type: 'complete', id: rng.pick(['unknown', 5, null, undefined, '', ...ids]) }) }),
      () => ({
        frame: toJson({
          type: rng.pick(['ping', 'pong']),
          payload: rng.pick([undefined, {}, 'x', 5, [], null, { a: garbageValue(rng, 1) }]),
        }),
      }),
      () => ({
        frame: toJson({
          type: rng.pick(['next', 'error', 'connection_ack']),
          id: 'x',
          payload: rng.pick([{}, [], null]),
        }),
      }),
      () => ({ frame: init(user ? { authorization: `Bearer ${user.token}` } : undefined) }),
      () => ({ frame: `{"type":"subscribe","id":"x","payload":${deepJsonObject(rng.pick([1000, 10_000]))}}` }),
      () => ({ frame: rng.unicode(rng.pick([100, 100_000])) }),
    ];
    for (let k = rng.between(1, 4); k > 0; k--) steps.push(rng.pick(frames)());
    return { category: 'frames', id: `ws-frames#${n}`, steps };
  });
}

/** Mutated documents and garbage variables as subscribe messages: many per connection, each must be answered. */
function documentScripts(ctx: Context, rng: Rng, connections: number, perConnection: number): WsScript[] {
  return Array.from({ length: connections }, (_, n): WsScript => {
    const user = n % 3 === 2 ? undefined : ctx.ann;
    const steps: WsStep[] = [
      { frame: init(user ? { authorization: `Bearer ${user.token}` } : undefined), awaitAck: true },
    ];
    for (let k = 0; k < perConnection; k++) {
      const seed = rng.pick(ctx.seeds);
      const query = rng.chance(0.85)
        ? mutateDocument(rng, seed.document, ctx.vocabulary).replaceAll(INVALID_UTF8_MARK, '\ufffd')
        : seed.document;
      const variables = rng.chance(0.3) ? garbageVariables(rng, seed) : seed.variables;
      const operationName = rng.chance(0.1) ? rng.pick(['Fuzz', 'Nope', '']) : undefined;
      const id = `d${n}-${k}`;
      steps.push({
        frame: toJson({ id, type: 'subscribe', payload: { query, variables, operationName } }),
        subscribe: { id, mayStayOpen: user !== undefined && mayStayOpen(ctx.schema, query, operationName) },
      });
    }
    return { category: 'documents', id: `ws-documents#${n}`, steps };
  });
}

/** Named abuses, each once. */
function namedScripts(ctx: Context): WsScript[] {
  const auth = { authorization: `Bearer ${ctx.ann.token}` };
  const live = 'subscription { connectionChanged { status } }';
  const named = (id: string, steps: WsStep[], extra: Partial<WsScript> = {}): WsScript => ({
    category: 'named',
    id: `ws:${id}`,
    steps,
    ...extra,
  });
  return [
    named('no connection_init (4408 expected)', [], { mustCloseWithinMs: 6_000 }),
    named('subscribe before connection_init', [{ frame: subscribe('1', { query: '{ __typename }' }) }]),
    named('duplicate connection_init', [{ frame: init(), awaitAck: true }, { frame: init() }]),
    named('duplicate live ids', [
      { frame: init(auth), awaitAck: true },
      { frame: subscribe('1', { query: live }) },
      { frame: subscribe('1', { query: live }) },
    ]),
    named('a 1 MB id', [
      { frame: init(), awaitAck: true },
      {
        frame: subscribe('i'.repeat(1_000_000), { query: '{ __typename }' }),
        subscribe: { id: 'i'.repeat(1_000_000), mayStayOpen: false },
      },
    ]),
    named('subscribe without payload', [
      { frame: init(), awaitAck: true },
      { frame: JSON.stringify({ id: '1', type: 'subscribe' }) },
    ]),
    named('complete for an unknown id', [
      { frame: init(), awaitAck: true },
      { frame: JSON.stringify({ id: 'nope', type: 'complete' }) },
    ]),
    named('complete of a live subscription, twice', [
      { frame: init(auth), awaitAck: true },
      { frame: subscribe('1', { query: live }) },
      { frame: JSON.stringify({ id: '1', type: 'complete' }) },
      { frame: JSON.stringify({ id: '1', type: 'complete' }) },
    ]),
    named('a forged token in connection_init (4403 expected)', [
      { frame: init({ authorization: `Bearer ${ctx.ann.token.slice(0, -4)}AAAA` }) },
    ]),
    named('a wrong scheme in connection_init', [{ frame: init({ authorization: `Basic ${ctx.ann.token}` }) }]),
    named('a 20 MB message', [
      { frame: init(), awaitAck: true },
      {
        frame: subscribe('1', { query: '{ __typename }', variables: { x: 'x'.repeat(20_000_000) } }),
        subscribe: { id: '1', mayStayOpen: false },
      },
    ]),
    named('the legacy graphql-ws subprotocol', [{ frame: init() }], {
      protocol: [],
      headers: { 'Sec-WebSocket-Protocol': 'graphql-ws' },
    }),
    named('an unknown subprotocol', [{ frame: init() }], {
      protocol: [],
      headers: { 'Sec-WebSocket-Protocol': 'zzz, yyy' },
    }),
    named('a garbage subprotocol header', [{ frame: init() }], {
      protocol: [],
      headers: { 'Sec-WebSocket-Protocol': ',,,' },
    }),
    named(
      'no subprotocol',
      [
        { frame: init(), awaitAck: true },
        { frame: subscribe('1', { query: '{ __typename }' }), subscribe: { id: '1', mayStayOpen: false } },
      ],
      { protocol: [] },
    ),
    named('next from the client', [
      { frame: init(), awaitAck: true },
      { frame: JSON.stringify({ id: '1', type: 'next', payload: { data: {} } }) },
    ]),
    named('error from the client', [
      { frame: init(), awaitAck: true },
      { frame: JSON.stringify({ id: '1', type: 'error', payload: [{ message: 'x' }] }) },
    ]),
    named('connection_ack from the client', [
      { frame: init(), awaitAck: true },
      { frame: JSON.stringify({ type: 'connection_ack' }) },
    ]),
    named('a mutation over the socket, anonymous', [
      { frame: init(), awaitAck: true },
      {
        frame: subscribe('1', { query: 'mutation { setTyping(chatId: "1", typing: true) }' }),
        subscribe: { id: '1', mayStayOpen: false },
      },
    ]),
    named('an unknown operationName', [
      { frame: init(), awaitAck: true },
      {
        frame: subscribe('1', { query: '{ __typename }', operationName: 'Nope' }),
        subscribe: { id: '1', mayStayOpen: false },
      },
    ]),
    named('two operations, no operationName', [
      { frame: init(), awaitAck: true },
      {
        frame: subscribe('1', { query: 'query A { __typename } query B { __typename }' }),
        subscribe: { id: '1', mayStayOpen: false },
      },
    ]),
    named('a missing required variable', [
      { frame: init(auth), awaitAck: true },
      {
        frame: subscribe('1', { query: 'subscription ($c: ID!) { messageAdded(chatId: $c) { id } }' }),
        subscribe: { id: '1', mayStayOpen: false },
      },
    ]),
    named('a variable of the wrong type', [
      { frame: init(auth), awaitAck: true },
      {
        frame: subscribe('1', {
          query: 'subscription ($u: [ID!]) { presenceChanged(userIds: $u) { id } }',
          variables: { u: { a: 1 } },
        }),
        subscribe: { id: '1', mayStayOpen: false },
      },
    ]),
    named('a malformed chat ID', [
      { frame: init(auth), awaitAck: true },
      {
        frame: subscribe('1', { query: 'subscription { messageAdded(chatId: "not-an-id") { id } }' }),
        subscribe: { id: '1', mayStayOpen: false },
      },
    ]),
    named('an unknown cursor', [
      { frame: init(auth), awaitAck: true },
      {
        frame: subscribe('1', { query: `subscription { messageAdded(chatId: "${ctx.chatId}", after: "zzz") { id } }` }),
        subscribe: { id: '1', mayStayOpen: false },
      },
    ]),
    named('a bad @skip argument on the root field', [
      { frame: init(auth), awaitAck: true },
      {
        frame: subscribe('1', { query: 'subscription { connectionChanged @skip(if: "yes") { since } }' }),
        subscribe: { id: '1', mayStayOpen: false },
      },
    ]),
    named('10,000 nested selections', [
      { frame: init(auth), awaitAck: true },
      {
        frame: subscribe('1', {
          query: `subscription { messageAdded { ${'chat { lastMessage { '.repeat(5_000)}id${' } }'.repeat(5_000)} } }`,
        }),
        subscribe: { id: '1', mayStayOpen: false },
      },
    ]),
    named('20,000 aliases in a subscription', [
      { frame: init(auth), awaitAck: true },
      {
        frame: subscribe('1', {
          query: `subscription { messageAdded { ${Array.from({ length: 20_000 }, (_, i) => `a${i}: id`).join(' ')} } }`,
        }),
      },
    ]),
    named('500 live subscriptions, then a ping', [
      { frame: init(auth), awaitAck: true },
      ...Array.from({ length: 500 }, (_, i): WsStep => ({ frame: subscribe(`l${i}`, { query: live }) })),
    ]),
  ];
}

// ---------------------------------------------------------------------------
// Raw WebSocket: frames the `ws` client refuses to send, and sockets destroyed mid-message.

/** A client frame (masked unless `mask` is false); `declaredLength` may lie about the payload's length. */
function wsFrame(
  opcode: number,
  payload: Buffer,
  {
    fin = true,
    mask = true,
    rsv = 0,
    declaredLength = payload.length,
  }: { fin?: boolean; mask?: boolean; rsv?: number; declaredLength?: number } = {},
): Buffer {
  const head = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (declaredLength < 126) head.push(maskBit | declaredLength);
  else if (declaredLength < 65_536) head.push(maskBit | 126, declaredLength >> 8, declaredLength & 0xff);
  else {
    head.push(maskBit | 127);
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(declaredLength));
    head.push(...length);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (key[i % 4] ?? 0)));
  return Buffer.concat([Buffer.from(head), key, masked]);
}

const UPGRADE = (path = '/graphql', extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n${extra}\r\n`;

interface RawWsOutcome {
  handshake?: number;
  closeCode?: number;
  bytes: Buffer;
  ended: boolean;
}

/**
 * Opens a raw socket, upgrades (unless `upgrade` is false), writes `frames`,
 * then either destroys the socket at once (`destroy`) or waits up to `ms` for
 * the server's close frame.
 */
function rawWs(
  ctx: Context,
  frames: Buffer[],
  {
    destroy = false,
    ms = 2_000,
    upgrade = UPGRADE(),
  }: { destroy?: boolean; ms?: number; upgrade?: string | Buffer | false } = {},
): Promise<RawWsOutcome> {
  return new Promise((resolve) => {
    let bytes = Buffer.alloc(0);
    let upgraded = upgrade === false;
    let ended = false;
    let socket: Socket;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const head = bytes.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head)?.[1];
      const body = upgrade === false ? bytes : bytes.subarray(head.indexOf('\r\n\r\n') + 4);
      let closeCode: number | undefined;
      for (let offset = 0; offset + 2 <= body.length;) {
        const opcode = (body[offset] ?? 0) & 0x0f;
        let length = (body[offset + 1] ?? 0) & 0x7f;
        let start = offset + 2;
        if (length === 126) {
          length = body.readUInt16BE(start);
          start += 2;
        } else if (length === 127) break;
        if (opcode === 0x8 && length >= 2 && start + 2 <= body.length) closeCode = body.readUInt16BE(start);
        offset = start + length;
      }
      resolve({ handshake: status ? Number(status) : undefined, closeCode, bytes, ended });
    };
    const timer = setTimeout(finish, ms);
    const writeFrames = () => {
      for (const frame of frames) socket.write(frame);
      if (destroy) setTimeout(finish, 20);
    };
    socket = connect(ctx.port, '127.0.0.1', () => {
      if (upgrade === false) writeFrames();
      else socket.write(upgrade);
    });
    socket.on('data', (data: Buffer) => {
      bytes = Buffer.concat([bytes, data]);
      if (!upgraded && bytes.includes('\r\n\r\n')) {
        upgraded = true;
        if (/^HTTP\/1\.1 101/.test(bytes.toString('latin1'))) writeFrames();
        else finish();
      }
    });
    socket.on('end', () => (ended = true));
    socket.on('close', finish);
    socket.on('error', () => undefined);
  });
}

async function runRawWs(ctx: Context, rng: Rng, randomCount: number): Promise<void> {
  const text = (value: string) => Buffer.from(value);
  const initFrame = wsFrame(0x1, text(init({ authorization: `Bearer ${ctx.ann.token}` })));
  const liveFrame = wsFrame(0x1, text(subscribe('1', { query: 'subscription { messageAdded { id text } }' })));
  type Expect = 'close' | 'any';
  const cases: [string, Buffer[], { destroy?: boolean; upgrade?: string | false }, Expect][] = [
    ['an unmasked frame (1002 expected)', [wsFrame(0x1, text(init()), { mask: false })], {}, 'close'],
    ['a reserved opcode (1002 expected)', [wsFrame(0x3, text('x'))], {}, 'close'],
    ['RSV bits without an extension (1002 expected)', [wsFrame(0x1, text(init()), { rsv: 0b111 })], {}, 'close'],
    ['a continuation without a start (1002 expected)', [wsFrame(0x0, text('x'))], {}, 'close'],
    ['a 200-byte ping (1002 expected)', [wsFrame(0x9, Buffer.alloc(200, 1))], {}, 'close'],
    ['a fragmented ping (1002 expected)', [wsFrame(0x9, text('x'), { fin: false })], {}, 'close'],
    [
      'a frame declaring 2^40 bytes (1009 expected)',
      [wsFrame(0x1, text('{'), { declaredLength: 2 ** 40 })],
      {},
      'close',
    ],
    [
      'invalid UTF-8 in a text frame (1007 expected)',
      [wsFrame(0x1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))],
      {},
      'close',
    ],
    ['a close frame with code 999 (1002 expected)', [wsFrame(0x8, Buffer.from([0x03, 0xe7]))], {}, 'close'],
    ['a close frame with a 1-byte payload (1002 expected)', [wsFrame(0x8, Buffer.from([0x03]))], {}, 'close'],
    [
      'a text frame interrupting a fragmented message (1002 expected)',
      [wsFrame(0x1, text('{"type":'), { fin: false }), wsFrame(0x1, text('x'))],
      {},
      'close',
    ],
    [
      'a frame declaring 1,000 bytes, 10 sent, then destroyed',
      [wsFrame(0x1, Buffer.alloc(10, 0x41), { declaredLength: 1000 }).subarray(0, 18)],
      { destroy: true },
      'any',
    ],
    ['half a frame header, then destroyed', [Buffer.from([0x81])], { destroy: true }, 'any'],
    [
      'init and half a subscribe, then destroyed',
      [initFrame, liveFrame.subarray(0, Math.floor(liveFrame.length / 2))],
      { destroy: true },
      'any',
    ],
    ['init and a live subscription, then destroyed', [initFrame, liveFrame], { destroy: true }, 'any'],
    [
      'a fragmented message, then destroyed',
      [wsFrame(0x1, text('{"type":"connection_'), { fin: false })],
      { destroy: true },
      'any',
    ],
    [
      'half an upgrade request, then destroyed',
      [],
      { destroy: true, upgrade: 'GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConn' },
      'any',
    ],
    ['an upgrade to another path', [], { upgrade: UPGRADE('/nope') }, 'any'],
    ['an upgrade with version 8', [], { upgrade: UPGRADE().replace('Version: 13', 'Version: 8') }, 'any'],
    ['an upgrade without a key', [], { upgrade: UPGRADE().replace(/Sec-WebSocket-Key: .*\r\n/, '') }, 'any'],
    ['an upgrade with a POST', [], { upgrade: UPGRADE().replace('GET', 'POST') }, 'any'],
  ];
  const random = Array.from(
    { length: randomCount },
    (_, n): [string, Buffer[], { destroy?: boolean; upgrade?: string | false }, Expect] => {
      const frames = [initFrame];
      for (let k = rng.between(1, 3); k > 0; k--) {
        const payload = rng.pick([
          () => text(subscribe(`r${k}`, { query: mutateDocument(rng, rng.pick(ctx.seeds).document, ctx.vocabulary) })),
          () => Buffer.from(Array.from({ length: rng.between(1, 300) }, () => rng.int(256))),
          () => text(rng.unicode(50)),
        ])();
        const frame = wsFrame(rng.pick([0x1, 0x1, 0x2]), payload);
        frames.push(rng.chance(0.5) ? frame : frame.subarray(0, rng.between(1, frame.length)));
      }
      return [`random frames cut and destroyed #${n}`, frames, { destroy: true }, 'any'];
    },
  );
  await pool([...cases, ...random], 6, async ([label, frames, options, expect]) => {
    if (ctx.dead) return;
    ctx.findings.countCase('ws raw');
    const outcome = await rawWs(ctx, frames, { destroy: options.destroy, upgrade: options.upgrade });
    ctx.findings.tally(
      'ws raw outcomes',
      outcome.handshake && outcome.handshake !== 101
        ? `handshake ${outcome.handshake}`
        : outcome.closeCode
          ? `close ${outcome.closeCode}`
          : options.destroy
            ? 'destroyed by the client'
            : outcome.ended
              ? 'ended without a close frame'
              : 'nothing',
    );
    const fail = (kind: string) =>
      ctx.findings.violate('ws', 'raw', kind, kind, `raw:${label} → ${clip(outcome.bytes.toString('latin1'), 300)}`);
    if (outcome.handshake !== undefined && outcome.handshake >= 500) fail(`a handshake answered ${outcome.handshake}`);
    if (!options.destroy && outcome.handshake === undefined && !outcome.ended && outcome.bytes.length === 0)
      fail('no answer to an upgrade request within 2 s (hang)');
    if (expect === 'close') {
      if (outcome.closeCode === undefined) fail('no close frame for a protocol violation');
      else if (!acceptableClose(outcome.closeCode)) fail(`a close with code ${outcome.closeCode}`);
    }
  });
}

// ---------------------------------------------------------------------------
// Dates and cursors: every DateTime and cursor argument of the composed supergraph.

/** The committed supergraph, as a schema (its join directives kept, so `@inaccessible` fields can be told apart). */
function supergraphSchema(): GraphQLSchema {
  return buildASTSchema(parse(readFileSync(new URL('../../../schema/supergraph.graphql', import.meta.url), 'utf8')), {
    assumeValidSDL: true,
  });
}

interface PositionCase {
  argument: PositionArgument;
  value: string;
  /** Every argument written into the document as a literal, or the bad value passed as a variable. */
  literal: boolean;
}

const positionLabel = ({ argument, value, literal }: PositionCase) =>
  `${argument.field.name}(${argument.path.join('.')}: ${clip(JSON.stringify(value), 60)}) as a ${literal ? 'literal' : 'variable'}`;

/**
 * The operation of one case: the bad value at the argument's path, the chat
 * of the fuzzing users for any `chatId` (so membership passes and the value
 * is what is judged), plausible values for other required arguments.
 */
function positionOperation(
  ctx: Context,
  rng: Rng,
  c: PositionCase,
): { query: string; variables: Record<string, unknown> } {
  const { field, path, kind } = c.argument;
  const variables: Record<string, unknown> = {};
  const declared: string[] = [];
  const parts: string[] = [];
  for (const arg of field.args) {
    let value: unknown;
    if (arg.name === path[0]) {
      value =
        path.length === 1
          ? c.value
          : { ...(plausibleValue(rng, ctx.ids, arg.type, arg.name, 0) as object), [path[1]]: c.value };
    } else if (arg.name === 'chatId') value = ctx.chatId;
    else if (isNonNullType(arg.type)) value = plausibleValue(rng, ctx.ids, arg.type, arg.name, 0);
    else continue;
    if (c.literal || arg.name !== path[0]) parts.push(`${arg.name}: ${graphqlLiteral(value, arg.type)}`);
    else {
      declared.push(`$value: ${String(arg.type)}`);
      variables.value = value;
      parts.push(`${arg.name}: $value`);
    }
  }
  const named = getNamedType(field.type);
  const selection = isLeafType(named) ? '' : ' { __typename }';
  const header = `${kind} Positions${declared.length ? `(${declared.join(', ')})` : ''}`;
  return { query: `${header} { ${field.name}${parts.length ? `(${parts.join(', ')})` : ''}${selection} }`, variables };
}

/** The problems with an answer to a bad date or cursor: anything but errors that are all BAD_USER_INPUT, with no data for the field. */
function positionProblems(field: string, body: GraphQLResponse): string[] {
  const codes = (body.errors ?? []).map((error) => error.extensions?.code);
  if (codes.length === 0) return ['accepted: no error for a date or cursor no store can hold'];
  const problems = codes
    .filter((code) => code !== 'BAD_USER_INPUT')
    .map((code) => `answered ${String(code)} instead of BAD_USER_INPUT`);
  const data = body.data as Record<string, unknown> | null | undefined;
  if (data && data[field] !== null && data[field] !== undefined) problems.push('answered data beside the refusal');
  return problems;
}

/**
 * The first answer to a subscription: its first event, or the errors it
 * ended with (no answer at all is reported as an error coded NO_ANSWER).
 * After an event the server's `complete` is awaited rather than sent: a
 * graphql-ws client disposed of between the two releases its socket twice,
 * and then closes it under the other operations.
 */
function firstSubscriptionAnswer(
  client: ReturnType<typeof wsClient>,
  query: string,
  variables: Record<string, unknown>,
): Promise<GraphQLResponse> {
  return new Promise((resolve) => {
    let answered = false;
    let timer: NodeJS.Timeout | undefined;
    const answer = (response: GraphQLResponse) => {
      clearTimeout(timer);
      if (!answered) resolve(response);
      answered = true;
    };
    const unsubscribe = client.subscribe(
      { query, variables },
      {
        next: (value) => answer(value as GraphQLResponse),
        error: (error) =>
          answer({
            errors: Array.isArray(error) ? error : [{ message: String(error), extensions: { code: 'WS_ERROR' } }],
          }),
        complete: () =>
          answer({ errors: [{ message: 'completed without an answer', extensions: { code: 'NO_ANSWER' } }] }),
      },
    );
    // These cases judge codes, not latency: a generous wait, so a loaded machine does not fail them.
    timer = setTimeout(() => {
      unsubscribe();
      answer({
        errors: [{ message: `no answer within ${BIG_ANSWER_MS} ms (hang)`, extensions: { code: 'NO_ANSWER' } }],
      });
    }, BIG_ANSWER_MS);
  });
}

async function runPositionCases(ctx: Context, rng: Rng, cases: PositionCase[]): Promise<void> {
  // Built in order before any runs concurrently, so a seed replays the same operations.
  const operations = cases.map((c) => ({ c, ...positionOperation(ctx, rng, c) }));
  const client = wsClient(ctx.url, ctx.ann.token);
  // A live subscription holds the lazy client's socket open between cases: a
  // subscribe sent while it closes for want of one would complete unanswered.
  const keeper = client.subscribe(
    {
      query: 'subscription ($chatId: ID!) { messageAdded(chatId: $chatId) { __typename } }',
      variables: { chatId: ctx.chatId },
    },
    { next: () => undefined, error: () => undefined, complete: () => undefined },
  );
  try {
    await pool(operations, 6, async ({ c, query, variables }) => {
      if (ctx.dead) return;
      const area = c.argument.kind === 'subscription' ? 'ws' : 'http';
      ctx.findings.countCase(`${area} positions`);
      let body: GraphQLResponse;
      if (area === 'ws') body = await firstSubscriptionAnswer(client, query, variables);
      else {
        try {
          const response = await fetch(ctx.url, {
            method: 'POST',
            headers: { ...JSON_HEADERS, authorization: `Bearer ${ctx.ann.token}` },
            body: JSON.stringify({ query, variables }),
            signal: AbortSignal.timeout(BIG_ANSWER_MS),
          });
          if (response.status >= 500)
            ctx.findings.violate(area, 'positions', 'HTTP status >= 500', String(response.status), positionLabel(c));
          body = (await response.json()) as GraphQLResponse;
        } catch (error) {
          body = { errors: [{ message: `no GraphQL answer: ${String(error)}`, extensions: { code: 'NO_ANSWER' } }] };
        }
      }
      for (const error of body.errors ?? [])
        ctx.findings.tally(
          `position codes (${c.argument.field.name}.${c.argument.path.join('.')})`,
          String(error.extensions?.code),
        );
      for (const problem of positionProblems(c.argument.field.name, body)) {
        ctx.findings.violate(
          area,
          'positions',
          `${c.argument.field.name}(${c.argument.path.join('.')})`,
          problem,
          `${positionLabel(c)} → ${clip(JSON.stringify(body), 300)}`,
        );
      }
    });
  } finally {
    keeper();
    await client.dispose();
  }
}

// ---------------------------------------------------------------------------

describe('fuzzing the gateway with bad input', { timeout: 180_000 }, () => {
  const findings = new Findings();
  const started = Date.now();
  let ctx: Context;

  before(async () => {
    process.stdout.write(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})\n`);
    const setupStarted = Date.now();
    const gateway = await startEmbedded();
    findings.phases.push(`gateway start ${((Date.now() - setupStarted) / 1000).toFixed(1)} s`);
    const url = gateway.url;
    const [ann, bob] = await Promise.all([registerUser(url, 'fuzzann'), registerUser(url, 'fuzzbob')]);
    const chatId = await directChat(url, ann, bob);
    await sendText(url, ann, chatId, 'a message for the fuzzer to find');
    const introspection = await gqlOk<IntrospectionQuery>(url, getIntrospectionQuery(), {}, ann.token);
    const schema = buildClientSchema(introspection);
    const rng = new Rng(SEED).fork('seeds');
    const ids: KnownIds = { users: [ann.id, bob.id], chats: [chatId] };
    const seeds: GeneratedOperation[] = [];
    for (let i = 0; i < 300; i++) {
      const kind = rng.pick(['query', 'query', 'mutation', 'mutation', 'subscription'] as const);
      seeds.push(generateOperation(schema, rng, ids, kind, rng.chance(0.4)));
    }
    const port = Number(new URL(url).port);
    ctx = {
      gateway,
      url,
      wsUrl: url.replace(/^http/, 'ws'),
      port,
      schema,
      ann,
      bob,
      chatId,
      ids,
      seeds,
      vocabulary: vocabularyOf(seeds.map((seed) => seed.document)),
      findings,
      dead: false,
    };
  });

  after(async () => {
    process.stdout.write(`${findings.summary()}\nwall time ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    const errors = (ctx?.gateway.gateway.output() ?? '').split('\n').filter((line) => line.includes('"level":"error"'));
    const distinct = new Map<string, number>();
    for (const line of errors) {
      const key = /"msg":"([^"]*)".*?"message":"([^"]{0,100})/.exec(line)?.slice(1).join(': ') ?? clip(line, 100);
      distinct.set(key, (distinct.get(key) ?? 0) + 1);
    }
    process.stdout.write(
      `gateway error log lines: ${errors.length}${[...distinct].map(([key, count]) => `\n  ${count}× ${key}`).join('')}\n`,
    );
    await ctx?.gateway.stop();
  });

  it('answers malformed HTTP requests with clear errors, never a 5xx, a hang or a leak', async () => {
    const rng = new Rng(SEED);
    const batches: [string, HttpCase[]][] = [
      ['documents', documentCases(ctx, rng.fork('documents'), scaled(1100))],
      ['variables', variableCases(ctx, rng.fork('variables'), scaled(500))],
      ['envelope', envelopeCases(ctx, rng.fork('envelope'), scaled(300))],
      ['content types', contentTypeCases(ctx, rng.fork('content types'), scaled(150))],
      ['GET', getCases(ctx, rng.fork('GET'), scaled(300))],
      ['authorization', authCases(ctx, rng.fork('authorization'), scaled(300))],
      ['SSE', sseCases(ctx, rng.fork('SSE'), scaled(60))],
      ['multipart', multipartCases(ctx, rng.fork('multipart'), scaled(60))],
    ];
    for (const [label, cases] of batches) {
      await findings.phase(`http ${label}`, async () => {
        for (let offset = 0; offset < cases.length && !ctx.dead; offset += 100) {
          await pool(cases.slice(offset, offset + 100), 6, (c) => runHttpCase(ctx, c));
          await checkHealth(ctx, `${label} cases ${offset}–${Math.min(offset + 100, cases.length) - 1}`);
        }
      });
    }
    // Heavy shapes and several megabytes: one at a time, waiting for the gateway to recover after each.
    await findings.phase('http shapes and oversized', async () => {
      for (const c of [...shapeCases(ctx, rng.fork('shapes')), ...oversizedCases(ctx)]) {
        if (ctx.dead) break;
        await runHttpCase(ctx, c);
        await checkHealth(ctx, c.id, 60_000);
      }
    });
    await findings.phase('http raw', async () => {
      await runRawHttp(ctx);
      await checkHealth(ctx, 'the raw HTTP cases', 10_000);
    });
    const problems = findings.report('http', 'health');
    if (problems) assert.fail(problems);
  });

  it('survives broken WebSocket frames: every abuse gets an error or a 1xxx/4xxx close', async () => {
    const rng = new Rng(SEED);
    const groups: [string, WsScript[], number][] = [
      ['named', namedScripts(ctx), 4],
      ['frames', frameScripts(ctx, rng.fork('ws frames'), scaled(600)), 16],
      ['documents', documentScripts(ctx, rng.fork('ws documents'), scaled(60), 15), 8],
    ];
    for (const [label, scripts, concurrency] of groups) {
      await findings.phase(`ws ${label}`, async () => {
        for (let offset = 0; offset < scripts.length && !ctx.dead; offset += 50) {
          await pool(scripts.slice(offset, offset + 50), concurrency, (script) => runWsScript(ctx, script));
          await checkHealth(ctx, `ws ${label} scripts ${offset}–${Math.min(offset + 50, scripts.length) - 1}`, 10_000);
        }
      });
      if (label === 'documents')
        findings.countCase(
          'ws documents: subscribe messages on those connections',
          scripts.reduce((sum, script) => sum + script.steps.length - 1, 0),
        );
    }
    await findings.phase('ws raw', async () => {
      await runRawWs(ctx, rng.fork('ws raw'), scaled(40));
      await checkHealth(ctx, 'the raw WebSocket cases', 10_000);
    });
    const problems = findings.report('ws', 'health');
    if (problems) assert.fail(problems);
  });

  it('refuses every out-of-range date and forged cursor of the supergraph with BAD_USER_INPUT', async () => {
    const { reached, unreached } = positionArguments(supergraphSchema());
    assert.deepEqual(
      unreached,
      [],
      'arguments carrying dates or cursors that this test cannot reach yet: extend positionOperation',
    );
    // Every one is a field of the API the gateway serves.
    for (const { kind, field } of reached) {
      const root =
        kind === 'query'
          ? ctx.schema.getQueryType()
          : kind === 'mutation'
            ? ctx.schema.getMutationType()
            : ctx.schema.getSubscriptionType();
      assert.ok(root?.getFields()[field.name], `${field.name} is not served by the gateway`);
    }
    const rng = new Rng(SEED).fork('positions');
    const cases = reached.flatMap((argument) => {
      const values = [
        ...(argument.carries === 'cursor' ? [] : badDates(rng, scaled(6))),
        ...(argument.carries === 'date' ? [] : badCursors(rng, scaled(6))),
      ];
      return values.flatMap((value) => [true, false].map((literal): PositionCase => ({ argument, value, literal })));
    });
    findings.tally(
      'position arguments',
      reached.map(({ field, path, carries }) => `${field.name}(${path.join('.')}): ${carries}`).join('; '),
    );
    await findings.phase('positions', async () => {
      await runPositionCases(ctx, rng.fork('operations'), cases);
      await checkHealth(ctx, 'the date and cursor cases', 10_000);
    });
    const problems = findings.report('http', 'ws', 'health');
    if (problems) assert.fail(problems);
  });

  it('still answers health queries and serves a well-behaved subscriber afterwards', async () => {
    assert.equal(ctx.dead, false, findings.report('health'));
    const healthStarted = Date.now();
    const health = await gqlOk<{ __typename: string }>(ctx.url, '{ __typename }');
    assert.equal(health.__typename, 'Query');
    assert.ok(Date.now() - healthStarted < HEALTH_MS, `{ __typename } took ${Date.now() - healthStarted} ms`);
    const [carol, dave] = await Promise.all([registerUser(ctx.url, 'carol'), registerUser(ctx.url, 'dave')]);
    const chatId = await directChat(ctx.url, carol, dave);
    const client = wsClient(ctx.url, dave.token);
    const subscription = new Subscription<{ messageAdded: { text: string } }>(
      client,
      'subscription ($chatId: ID!) { messageAdded(chatId: $chatId) { text sender { displayName } } }',
      { chatId },
    );
    try {
      // Proven live by a warm-up message, never by a sleep.
      const deadline = Date.now() + 15_000;
      for (let n = 0; subscription.events.length === 0; n++) {
        assert.ok(Date.now() < deadline, `the subscription never went live: ${JSON.stringify(subscription.error)}`);
        await sendText(ctx.url, carol, chatId, `warm-up ${n}`);
        await subscription.waitFor(1, 500).catch(() => undefined);
      }
      await sendText(ctx.url, carol, chatId, 'after the fuzzing');
      const event = await subscription.waitForMatch(
        (candidate) => candidate.data?.messageAdded.text === 'after the fuzzing',
      );
      assert.equal(event.errors, undefined, JSON.stringify(event.errors));
    } finally {
      subscription.stop();
      await client.dispose();
    }
    const me = await gqlOk<{ me: { id: string } }>(ctx.url, '{ me { id } }', {}, ctx.ann.token);
    assert.equal(me.me.id, ctx.ann.id, 'the fuzzing user is still logged in');
  });
});
