// Readiness probe for the local Kafka broker, with no npm dependency (works before `npm install`).
//   node probe.mjs [host] [port]   exit 0 when the broker answers a Metadata request listing
//                                  at least one live broker, 1 otherwise (one attempt, 3 s timeout).
// Speaks the Kafka wire protocol directly: Metadata v1 (every broker since 0.10 supports it; so
// does 4.x), asking for no topics, so the answer is just the brokers and the controller id.
import net from 'node:net';

const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? 9092);
const clientId = Buffer.from('services-probe');

const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4);
let o = 0;
o = body.writeInt16BE(3, o); // api_key: Metadata
o = body.writeInt16BE(1, o); // api_version: 1
o = body.writeInt32BE(1, o); // correlation_id
o = body.writeInt16BE(clientId.length, o);
o += clientId.copy(body, o);
body.writeInt32BE(0, o); // topics: [] (v1: empty array = no topics, -1 = all)
const size = Buffer.alloc(4);
size.writeInt32BE(body.length);

process.exitCode = 1; // whatever ends the process without an answer (e.g. the peer closing) is a failure
const fail = (why) => {
  if (process.env.PROBE_VERBOSE) console.error(`probe: ${why}`);
  process.exit(1);
};

const socket = net.connect({ host, port });
socket.setTimeout(3000, () => { socket.destroy(); fail('timeout'); });
socket.on('error', (e) => fail(e.code ?? e.message));
socket.on('close', () => fail('connection closed without a Kafka answer'));
socket.on('connect', () => socket.write(Buffer.concat([size, body])));
let buf = Buffer.alloc(0);
socket.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  if (buf.length < 4) return;
  const size = buf.readInt32BE(0);
  if (size < 8 || size > 1 << 20) { socket.destroy(); return fail(`not a Kafka answer (size ${size})`); }
  if (buf.length < 4 + size) return;
  socket.destroy();
  try {
    let p = 4;
    const correlation = buf.readInt32BE(p); p += 4;
    if (correlation !== 1) return fail(`unexpected correlation id ${correlation}`);
    const n = buf.readInt32BE(p); p += 4;
    const brokers = [];
    for (let i = 0; i < n; i++) {
      const id = buf.readInt32BE(p); p += 4;
      const hl = buf.readInt16BE(p); p += 2;
      const h = buf.toString('utf8', p, p + hl); p += hl;
      const bp = buf.readInt32BE(p); p += 4;
      const rl = buf.readInt16BE(p); p += 2 + Math.max(rl, 0);
      brokers.push(`${id}@${h}:${bp}`);
    }
    const controller = buf.readInt32BE(p);
    if (brokers.length === 0 || controller < 0) return fail(`not ready (brokers=${brokers.length}, controller=${controller})`);
    if (process.env.PROBE_VERBOSE) console.error(`probe: brokers ${brokers.join(' ')}, controller ${controller}`);
    process.exit(0);
  } catch (e) {
    fail(`bad response: ${e.message}`);
  }
});
