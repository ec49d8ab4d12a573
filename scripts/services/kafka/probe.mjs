// Readiness probe for the local Kafka broker, with no npm dependency (works before `npm install`).
//   node probe.mjs [host] [port]   exit 0 when the broker answers a Metadata request listing
//                                  at least one live broker, 1 otherwise (one attempt, 3 s timeout).
// Speaks the Kafka wire protocol directly: Metadata v1 (every broker since 0.10 supports it; so
// does 4.x), asking for no topics, so the answer is just the brokers and the controller id.
// With KAFKA_PROBE_SASL_PLAIN=user:password (a SASL_PLAINTEXT listener), it authenticates first:
// SaslHandshake v1 for PLAIN, then SaslAuthenticate v0.
import net from 'node:net';

const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? 9092);
const clientId = Buffer.from('services-probe');
const sasl = process.env.KAFKA_PROBE_SASL_PLAIN;

/** A request frame: size, header v1 (api key, version, correlation id, client id), body. */
function frame(apiKey, apiVersion, correlation, body) {
  const header = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  let o = header.writeInt16BE(apiKey, 0);
  o = header.writeInt16BE(apiVersion, o);
  o = header.writeInt32BE(correlation, o);
  o = header.writeInt16BE(clientId.length, o);
  clientId.copy(header, o);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + body.length);
  return Buffer.concat([size, header, body]);
}

const string = (text) => {
  const bytes = Buffer.from(text);
  const out = Buffer.alloc(2 + bytes.length);
  out.writeInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
};

const metadata = () => {
  const body = Buffer.alloc(4);
  body.writeInt32BE(0, 0); // topics: [] (v1: empty array = no topics, -1 = all)
  return frame(3, 1, 1, body);
};

process.exitCode = 1; // whatever ends the process without an answer (e.g. the peer closing) is a failure
const fail = (why) => {
  if (process.env.PROBE_VERBOSE) console.error(`probe: ${why}`);
  process.exit(1);
};

/** Reads the answer to the Metadata request (correlation id 1). */
function readMetadata(buf) {
  let p = 0;
  const n = buf.readInt32BE(p);
  p += 4;
  const brokers = [];
  for (let i = 0; i < n; i++) {
    const id = buf.readInt32BE(p);
    p += 4;
    const hl = buf.readInt16BE(p);
    p += 2;
    const h = buf.toString('utf8', p, p + hl);
    p += hl;
    const bp = buf.readInt32BE(p);
    p += 4;
    const rl = buf.readInt16BE(p);
    p += 2 + Math.max(rl, 0);
    brokers.push(`${id}@${h}:${bp}`);
  }
  const controller = buf.readInt32BE(p);
  if (brokers.length === 0 || controller < 0)
    return fail(`not ready (brokers=${brokers.length}, controller=${controller})`);
  if (process.env.PROBE_VERBOSE) console.error(`probe: brokers ${brokers.join(' ')}, controller ${controller}`);
  process.exit(0);
}

const socket = net.connect({ host, port });
socket.setTimeout(3000, () => {
  socket.destroy();
  fail('timeout');
});
socket.on('error', (e) => fail(e.code ?? e.message));
socket.on('close', () => fail('connection closed without a Kafka answer'));
socket.on('connect', () => {
  if (!sasl) return socket.write(metadata());
  socket.write(frame(17, 1, 3, string('PLAIN'))); // SaslHandshake v1
});

/** Handles one response (its body after the correlation id); returns false once finished. */
function onResponse(correlation, body) {
  if (correlation === 3) {
    // SaslHandshake: error_code, mechanisms
    const error = body.readInt16BE(0);
    if (error !== 0) return fail(`SASL handshake refused (error ${error})`);
    const [user, ...rest] = sasl.split(':');
    const token = Buffer.from(`\0${user}\0${rest.join(':')}`);
    const auth = Buffer.alloc(4 + token.length);
    auth.writeInt32BE(token.length, 0);
    token.copy(auth, 4);
    socket.write(frame(36, 0, 4, auth)); // SaslAuthenticate v0: auth_bytes
  } else if (correlation === 4) {
    // SaslAuthenticate: error_code, error_message, auth_bytes
    const error = body.readInt16BE(0);
    if (error !== 0) return fail(`SASL authentication failed (error ${error})`);
    socket.write(metadata());
  } else if (correlation === 1) {
    socket.destroy();
    readMetadata(body);
  } else {
    fail(`unexpected correlation id ${correlation}`);
  }
}

let buf = Buffer.alloc(0);
socket.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= 4) {
    const size = buf.readInt32BE(0);
    if (size < 4 || size > 1 << 20) {
      socket.destroy();
      return fail(`not a Kafka answer (size ${size})`);
    }
    if (buf.length < 4 + size) return;
    const response = buf.subarray(4, 4 + size);
    buf = buf.subarray(4 + size);
    try {
      onResponse(response.readInt32BE(0), response.subarray(4));
    } catch (e) {
      fail(`bad response: ${e.message}`);
    }
  }
});
