/**
 * The send-path scenario's subscriber process (forked by the orchestrator,
 * one per deployment): one graphql-ws client per chat, each a socket
 * speaking `graphql-transport-ws` directly on `ws` (as the fan-out load
 * client does) as the chat's second member, with one `messageAdded`
 * subscription. Every delivery of a benchmark message is recorded by step:
 * its message ID (so the orchestrator can tell lost and duplicated ones) and
 * its latency (receipt − the scheduled send time in its text, one machine
 * clock). Reports counts to the orchestrator over IPC (protocol.ts).
 */
import WebSocket from 'ws';
import {
  preciseNow,
  readStepText,
  SUBSCRIPTION,
  type FromSubscribers,
  type SubscriberProgress,
  type ToSubscribers,
  type Watcher,
} from './protocol.ts';
import { closeSocket } from '../fanout/processes.ts';

if (!process.send) throw new Error('send-path/subscribers.ts runs as a forked child of the send-path scenario');

interface Client {
  watcher: Watcher;
  socket: WebSocket;
  acked: boolean;
  live: boolean;
  closing: boolean;
}

interface Deliveries {
  ids: string[];
  latencies: number[];
}

const clients: Client[] = [];
const byStep = new Map<number, Deliveries>();
const collected = new Set<number>();
const counts: Omit<SubscriberProgress, 'received'> = { acked: 0, refused: 0, live: 0, late: 0, ended: 0, problems: [] };
let dirty = false;

const send = (message: FromSubscribers) => process.send!(message);

function problem(text: string): void {
  if (counts.problems.length < 10) counts.problems.push(text);
  dirty = true;
}

interface Frame {
  type?: string;
  payload?: {
    data?: { messageAdded?: { id?: unknown; text?: unknown; chat?: { id?: unknown } } } | null;
    errors?: unknown;
  };
}

function onFrame(client: Client, data: string): void {
  const received = preciseNow();
  const frame = JSON.parse(data) as Frame;
  if (frame.type === 'next') {
    const added = frame.payload?.data?.messageAdded;
    if (
      frame.payload?.errors ||
      typeof added?.id !== 'string' ||
      typeof added.text !== 'string' ||
      added.chat?.id !== client.watcher.chatId
    ) {
      counts.ended += 1;
      problem(`unexpected delivery: ${data.slice(0, 300)}`);
      return;
    }
    const text = readStepText(added.text);
    if (!text) return;
    if (!client.live) {
      client.live = true;
      counts.live += 1;
    }
    dirty = true;
    if (collected.has(text.step)) {
      counts.late += 1;
      return;
    }
    let deliveries = byStep.get(text.step);
    if (!deliveries) byStep.set(text.step, (deliveries = { ids: [], latencies: [] }));
    deliveries.ids.push(added.id);
    deliveries.latencies.push(received - text.sentAt);
  } else if (frame.type === 'connection_ack') {
    client.acked = true;
    counts.acked += 1;
    dirty = true;
    client.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION, variables: {} } }));
  } else if (frame.type === 'ping') {
    client.socket.send('{"type":"pong"}');
  } else if (frame.type === 'error' || frame.type === 'complete') {
    counts.ended += 1;
    problem(`subscription ${frame.type}: ${data.slice(0, 300)}`);
  }
}

function open(url: string, watcher: Watcher): void {
  const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false, handshakeTimeout: 30_000 });
  const client: Client = { watcher, socket, acked: false, live: false, closing: false };
  clients.push(client);
  socket.on('open', () =>
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${watcher.token}` } })),
  );
  socket.on('message', (data: Buffer) => onFrame(client, data.toString()));
  socket.on('error', (error: Error) => problem(`socket error: ${error.message}`));
  socket.on('close', (code: number, reason: Buffer) => {
    if (client.closing) return;
    if (client.acked) counts.ended += 1;
    else counts.refused += 1;
    problem(`closed ${client.acked ? 'unasked' : 'before connection_ack'}: ${code} ${reason.toString()}`);
  });
}

const reporter = setInterval(() => {
  if (!dirty) return;
  dirty = false;
  const received: Record<number, number> = {};
  for (const [step, deliveries] of byStep) received[step] = deliveries.ids.length;
  send({ type: 'progress', ...counts, problems: [...counts.problems], received });
}, 50);

async function closeAll(): Promise<void> {
  for (const client of clients) client.closing = true;
  await Promise.all(clients.map((client) => closeSocket(client.socket)));
}

process.on('message', (message: ToSubscribers) => {
  switch (message.type) {
    case 'connect':
      for (const watcher of message.watchers) open(message.url, watcher);
      break;
    case 'collect': {
      const deliveries = byStep.get(message.step) ?? { ids: [], latencies: [] };
      byStep.delete(message.step);
      collected.add(message.step);
      dirty = true;
      send({
        type: 'collected',
        step: message.step,
        ids: deliveries.ids,
        latencies: Float64Array.from(deliveries.latencies),
      });
      break;
    }
    case 'exit':
      clearInterval(reporter);
      void closeAll().then(() => process.exit(0));
  }
});
// The orchestrator going away takes this process with it.
process.on('disconnect', () => process.exit(0));
