/**
 * The one way this code base opens a Redis connection (pub/sub, entity
 * cache, rate limits): from REDIS_URL, as ioredis reads it.
 * `redis://[user][:password]@host:port[/db]` sends AUTH (with the user for an
 * ACL user) before anything else; `rediss://` speaks TLS, verifying the
 * server's certificate against the system's CAs (NODE_EXTRA_CA_CERTS adds a
 * private CA).
 *
 * A server that refuses the URL's credentials before the client was ever
 * ready is a configuration error, not an outage: ioredis would reconnect
 * forever and the process would run with every Redis command waiting. So the
 * process refuses to start: it reports the problem with the password masked
 * and exits with 78, as for every configuration error. Credentials refused
 * after the client was ready (a password rotated under a running process)
 * are an outage like Redis being away: ioredis keeps reconnecting, and the
 * caller's error handler reports it.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl } from './store-credentials.ts';

export interface RedisClientOptions extends RedisOptions {
  /** What the connection is for ("pub/sub", "cache", "rate limits"), named in messages. */
  purpose: string;
  /**
   * Called once when the server refuses the credentials before the client was
   * ever ready, with a message that names the store and masks the password;
   * the client is disconnected for good.
   * @default writes the message to stderr and exits the process with 78
   */
  onRejectedCredentials?: (message: string) => void;
}

/** Exit status of a configuration error (sysexits' EX_CONFIG), as `ConfigError`s exit. */
const EX_CONFIG = 78;

export function createRedisClient(
  url: string,
  { purpose, onRejectedCredentials = exitWithConfigError, ...options }: RedisClientOptions,
): Redis {
  const client = new Redis(url, options);
  /** Ready once, or already reported: later refusals are outages, for the caller's handler. */
  let settled = false;
  client.once('ready', () => (settled = true));
  client.on('error', (error: Error) => {
    if (settled || !isRejectedCredentials(error)) return;
    settled = true;
    client.disconnect();
    onRejectedCredentials(
      `Invalid configuration:\n  REDIS_URL: Redis at ${redactUrl(url)} refused the credentials (${purpose}): ${error.message.replace(/^Ready check failed: /, '')}`,
    );
  });
  return client;
}

/**
 * WRONGPASS: a wrong password or user; NOAUTH: no password sent to a server
 * that wants one (ioredis reports it from its ready check).
 */
function isRejectedCredentials(error: Error): boolean {
  return /\b(WRONGPASS|NOAUTH)\b|invalid password|invalid username-password/i.test(error.message);
}

function exitWithConfigError(message: string): void {
  process.stderr.write(`${message}\n`);
  process.exit(EX_CONFIG);
}
