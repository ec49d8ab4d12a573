/**
 * The load generator, in a process of its own so it never shares an event
 * loop with what it measures: autocannon, a fixed number of connections each
 * POSTing the same GraphQL request back to back (closed loop), first for a
 * warm-up whose figures are dropped, then for the measured run.
 *
 * Input: one JSON argument, {@link LoadOptions}. Output on stdout: the line
 * `warmed` when the measured run starts (so the caller can take readings
 * around it), then one JSON line, {@link LoadResult}. A response counts as an error when it is not a
 * 2xx, fails to arrive (connection error, 10 s timeout), or carries GraphQL
 * `errors` or no `data`; the first such body is returned as a sample.
 */
import { createRequire } from 'node:module';

export interface LoadOptions {
  url: string;
  /** The JSON body (`{"query": …}`), sent as is. */
  body: string;
  /** `[<id>]` in a header value (or the body) becomes a fresh ID for every request. */
  headers: Record<string, string>;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts, non-2xx answers, and answers with GraphQL errors or without data (a request may count twice). */
  errors: number;
  completed: number;
  /** The first failing body, cut to 500 characters. */
  sample?: string;
}

/** The part of autocannon 9 used here (it ships no types). */
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  requests: { total: number };
  latency: { p50: number; p99: number };
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
let sample: string | undefined;
const verifyBody = (body: string) => {
  const ok = body.startsWith('{"data":') && !body.includes('"errors":');
  if (!ok) sample ??= body.slice(0, 500);
  return ok;
};
const fire = (seconds: number) =>
  autocannon({
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body,
    connections: options.connections,
    duration: seconds,
    idReplacement: true,
    verifyBody,
  });

if (options.warmupSeconds > 0) await fire(options.warmupSeconds);
sample = undefined;
process.stdout.write('warmed\n');
const result = await fire(options.durationSeconds);
const output: LoadResult = {
  requestsPerSecond: result.requests.total / result.duration,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  errors: result.errors + result.non2xx + result.mismatches,
  completed: result.requests.total,
  ...(sample ? { sample } : {}),
};
process.stdout.write(`${JSON.stringify(output)}\n`);
