/**
 * A load-client process of the fan-out scenario (forked by the orchestrator,
 * one per core): holds thousands of graphql-ws clients, each one socket
 * speaking `graphql-transport-ws` directly on `ws` (the graphql-ws client
 * costs more per connection and adds nothing here), with one `messageAdded`
 * subscription. It counts deliveries per phase and measures the latency of
 * each fixed-rate delivery (receipt time − the send time in its text, one
 * machine clock), and reports to the orchestrator over IPC (protocol.ts).
 */
import WebSocket from 'ws';
import {
  preciseNow,
  readMessageText,
  type ClientSpec,
  type FromLoadClient,
  type Phase,
  type Progress,
  type ToLoadClient,
} from './protocol.ts';
import { closeSocket } from './processes.ts';

if (!process.send) throw new Error('load-client.ts runs as a forked child of the fan-out scenario');

interface Client {
  spec: ClientSpec;
  socket: WebSocket;
  acked: boolean;
  live: boolean;
  checked: boolean;
  closing: boolean;
}

let clients: Client[] = [];
let counts: Progress = fresh();
let latencies = new Float64Array(16_384);
let latencyCount = 0;
let dirty = false;

function fresh(): Progress {
  return { acked: 0, refused: 0, problems: [], live: 0, received: { w: 0, f: 0, c: 0 }, malformed: 0, ended: 0 };
}

const send = (message: FromLoadClient) => process.send!(message);

function problem(text: string): void {
  if (counts.problems.length < 10) counts.problems.push(text);
}

function recordLatency(ms: number): void {
  if (latencyCount === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[latencyCount++] = ms;
}

/** The first delivery of each client is parsed in full: the federated fields must all be there. */
function wellFormed(frame: string): boolean {
  const message = JSON.parse(frame) as {
    payload?: { data?: { messageAdded?: Record<string, unknown> }; errors?: unknown };
  };
  const added = message.payload?.data?.messageAdded as
    | {
        id?: unknown;
        text?: unknown;
        createdAt?: unknown;
        sender?: { id?: unknown; displayName?: unknown };
        chat?: { id?: unknown };
      }
    | undefined;
  return (
    !message.payload?.errors &&
    typeof added?.id === 'string' &&
    typeof added.text === 'string' &&
    typeof added.createdAt === 'string' &&
    typeof added.sender?.id === 'string' &&
    typeof added.sender.displayName === 'string' &&
    typeof added.chat?.id === 'string'
  );
}

function onFrame(client: Client, frame: string, query: string): void {
  // The message's own `type` comes before its payload, whichever order the server writes `id` and `type` in.
  const at = frame.indexOf('"type":"');
  const type = at < 0 ? undefined : frame.slice(at + 8, frame.indexOf('"', at + 8));
  if (type === 'next') {
    const received = preciseNow();
    const text = readMessageText(frame);
    if (!client.checked || frame.includes('"errors"')) {
      client.checked = true;
      if (!text || !wellFormed(frame)) {
        counts.malformed += 1;
        if (counts.malformed <= 3) problem(`malformed delivery: ${frame.slice(0, 300)}`);
        dirty = true;
        return;
      }
    }
    if (!text) return;
    const phase: Phase = text.phase;
    counts.received[phase] += 1;
    if (phase === 'f') recordLatency(received - text.sentAt);
    if (!client.live) {
      client.live = true;
      counts.live += 1;
    }
    dirty = true;
  } else if (type === 'connection_ack') {
    client.acked = true;
    counts.acked += 1;
    dirty = true;
    client.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: {} } }));
  } else if (type === 'ping') {
    client.socket.send('{"type":"pong"}');
  } else if (type === 'error' || type === 'complete') {
    counts.ended += 1;
    problem(`subscription ${type}: ${frame.slice(0, 300)}`);
    dirty = true;
  }
}

/** Opens one client; resolves once it is acknowledged, or refused. */
function open(url: string, query: string, spec: ClientSpec): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false, handshakeTimeout: 30_000 });
    const client: Client = { spec, socket, acked: false, live: false, checked: false, closing: false };
    clients.push(client);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: spec.connectionParams })));
    socket.on('message', (data: Buffer) => {
      const wasAcked = client.acked;
      onFrame(client, data.toString(), query);
      if (!wasAcked && client.acked) resolve();
    });
    socket.on('error', (error: Error) => {
      if (!client.acked) problem(`socket error: ${error.message}`);
    });
    socket.on('close', (code: number, reason: Buffer) => {
      if (client.closing) return;
      if (!client.acked) {
        counts.refused += 1;
        problem(`closed before connection_ack: ${code} ${reason.toString()}`);
        resolve();
      } else {
        counts.ended += 1;
        problem(`closed unasked: ${code} ${reason.toString()}`);
      }
      dirty = true;
    });
  });
}

async function connect(url: string, query: string, specs: ClientSpec[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < specs.length) await open(url, query, specs[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, worker));
}

async function closeAll(): Promise<void> {
  for (const client of clients) client.closing = true;
  await Promise.all(clients.map((client) => closeSocket(client.socket)));
  clients = [];
  counts = fresh();
  latencies = new Float64Array(16_384);
  latencyCount = 0;
  dirty = false;
}

const reporter = setInterval(() => {
  if (!dirty) return;
  dirty = false;
  send({ type: 'progress', ...counts, received: { ...counts.received }, problems: [...counts.problems] });
}, 50);

process.on('message', (message: ToLoadClient) => {
  switch (message.type) {
    case 'connect':
      void connect(message.url, message.query, message.clients, message.concurrency);
      break;
    case 'liveness':
      send({
        type: 'liveness',
        notLiveChats: [...new Set(clients.filter((client) => !client.live).map((client) => client.spec.chat))],
      });
      break;
    case 'collect':
      send({ type: 'collected', latencies: latencies.slice(0, latencyCount) });
      break;
    case 'reset':
      counts = { ...fresh(), acked: counts.acked, refused: counts.refused, live: counts.live };
      latencies = new Float64Array(16_384);
      latencyCount = 0;
      dirty = false;
      send({ type: 'progress', ...counts, received: { ...counts.received }, problems: [] });
      send({ type: 'reset' });
      break;
    case 'close':
      void closeAll().then(() => send({ type: 'closed' }));
      break;
    case 'exit':
      clearInterval(reporter);
      void closeAll().then(() => process.exit(0));
      break;
  }
});
// The orchestrator going away takes this process with it.
process.on('disconnect', () => process.exit(0));
