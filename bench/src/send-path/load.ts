/**
 * The send-path scenario's load generator (forked by the orchestrator, one
 * per deployment): `sendMessage` over HTTP/1.1 keep-alive (a pooled
 * `node:http` Agent), open loop: message `n` of a step is due at
 * `start + n / rate` and is sent then, whether or not earlier ones were
 * acknowledged, from sender `n mod senders` in that sender's chat, with a
 * clientMessageId of its own. Latency counts from when the message was due,
 * so a server (or a generator) falling behind shows as latency rather than
 * as a slower schedule.
 *
 * Bounded: at most MAX_IN_FLIGHT requests outstanding (a message due beyond
 * that is not sent, and counted as `LOAD_BACKLOG`); each step ends at most
 * DRAIN_CAP_MS after its last send (what is still outstanding then is
 * aborted and counted as `TIMEOUT`).
 */
import { Agent, request, type ClientRequest } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  clientMessageId,
  preciseNow,
  SEND_MUTATION,
  stepText,
  type ErrorCounts,
  type FromLoad,
  type Sender,
  type StepResult,
  type ToLoad,
} from './protocol.ts';

if (!process.send) throw new Error('send-path/load.ts runs as a forked child of the send-path scenario');

const MAX_IN_FLIGHT = 2_000;
const DRAIN_CAP_MS = 30_000;
const SOCKETS = 256;
/** Idle sockets are closed after this long, before the server's keep-alive timeout (Node's default, 5 s) can close one as a request goes out on it. */
const IDLE_SOCKET_MS = 4_000;

interface Target {
  url: URL;
  senders: { sender: Sender; authorization: string }[];
  tag: string;
  agent: Agent;
}

let target: Target | undefined;

const reply = (message: FromLoad) => process.send!(message);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The code a failed answer is counted under. */
function failureCode(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { errors?: { extensions?: { code?: unknown } }[] };
    const code = parsed.errors?.[0]?.extensions?.code;
    if (typeof code === 'string') return code;
  } catch {
    // not JSON: the status says it
  }
  return status === 200 ? 'NO_DATA' : `HTTP_${status}`;
}

/** The acknowledged message's ID, or undefined. */
function acknowledgedId(body: string): string | undefined {
  if (!body.startsWith('{"data":{"sendMessage":{"id":"')) return undefined;
  const parsed = JSON.parse(body) as { data?: { sendMessage?: { id?: unknown } }; errors?: unknown };
  return !parsed.errors && typeof parsed.data?.sendMessage?.id === 'string' ? parsed.data.sendMessage.id : undefined;
}

async function runStep({
  step,
  rate,
  durationMs,
}: {
  step: number;
  rate: number;
  durationMs: number;
}): Promise<StepResult> {
  if (!target) throw new Error('step before configure');
  const { url, senders, tag, agent } = target;
  const offered = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  const ids: string[] = [];
  const ackMs: number[] = [];
  const errors: ErrorCounts = {};
  const samples: string[] = [];
  const pending = new Set<ClientRequest>();
  const fail = (code: string, sample?: string) => {
    errors[code] = (errors[code] ?? 0) + 1;
    if (sample && samples.length < 3) samples.push(`${code}: ${sample.slice(0, 300)}`);
  };
  let sent = 0;
  let maxLagMs = 0;
  let lastAckAt = 0;
  let settle: (() => void) | undefined;
  const ended = () => {
    if (pending.size === 0) settle?.();
  };

  const fire = (n: number, due: number) => {
    const { sender, authorization } = senders[n % senders.length]!;
    const body = JSON.stringify({
      query: SEND_MUTATION,
      variables: {
        input: { chatId: sender.chatId, text: stepText(step, n, due), clientMessageId: clientMessageId(tag, step, n) },
      },
    });
    sent += 1;
    let done = false;
    const finish = () => {
      done = true;
      pending.delete(req);
      ended();
    };
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          if (done) return;
          const at = preciseNow();
          const text = Buffer.concat(chunks).toString('utf8');
          const id = res.statusCode === 200 ? acknowledgedId(text) : undefined;
          if (id) {
            ids.push(id);
            ackMs.push(at - due);
            lastAckAt = Math.max(lastAckAt, at);
          } else {
            fail(failureCode(res.statusCode ?? 0, text), text);
          }
          finish();
        });
        res.on('error', (error: NodeJS.ErrnoException) => {
          if (done) return;
          fail(error.code ?? 'RESPONSE_ERROR', error.message);
          finish();
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (done) return;
      fail(error.message === 'TIMEOUT' ? 'TIMEOUT' : (error.code ?? 'REQUEST_ERROR'), error.message);
      finish();
    });
    // Whatever ended the exchange without an answer or an error event (a destroyed socket).
    req.on('close', () =>
      setImmediate(() => {
        if (done) return;
        fail('CLOSED');
        finish();
      }),
    );
    pending.add(req);
    req.end(body);
  };

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const start = preciseNow() + 5;
  for (let n = 0; n < offered;) {
    const now = preciseNow();
    for (; n < offered && start + n * interval <= now; n++) {
      const due = start + n * interval;
      maxLagMs = Math.max(maxLagMs, now - due);
      if (pending.size >= MAX_IN_FLIGHT) fail('LOAD_BACKLOG');
      else fire(n, due);
    }
    if (n < offered) await sleep(Math.max(0, Math.min(start + n * interval - preciseNow(), 10)));
  }
  if (pending.size > 0) {
    const drained = new Promise<void>((resolve) => (settle = resolve));
    const cap = setTimeout(() => {
      for (const req of [...pending]) req.destroy(new Error('TIMEOUT'));
    }, DRAIN_CAP_MS);
    await drained;
    clearTimeout(cap);
  }
  loop.disable();
  return {
    step,
    offered,
    sent,
    ids,
    ackMs: Float64Array.from(ackMs),
    errors,
    samples,
    elapsedMs: (lastAckAt || preciseNow()) - start,
    maxLagMs,
    loopDelayP99Ms: loop.percentile(99) / 1e6,
  };
}

process.on('message', (message: ToLoad) => {
  switch (message.type) {
    case 'configure':
      target?.agent.destroy();
      target = {
        url: new URL(message.url),
        senders: message.senders.map((sender) => ({ sender, authorization: `Bearer ${sender.token}` })),
        tag: message.tag,
        agent: new Agent({ keepAlive: true, maxSockets: SOCKETS, scheduling: 'lifo', timeout: IDLE_SOCKET_MS }),
      };
      reply({ type: 'configured' });
      break;
    case 'step':
      void runStep(message).then((result) => reply({ type: 'stepDone', ...result }));
      break;
    case 'exit':
      target?.agent.destroy();
      process.exit(0);
  }
});
// The orchestrator going away takes this process with it.
process.on('disconnect', () => process.exit(0));
