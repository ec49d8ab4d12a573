/** The Redis of the tests: the shared one, or a server of a test's own. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCertificates, type TestCertificates } from './certificates.ts';
import { freePort } from './processes.ts';
import { acceptsTcp, waitUntilReady } from './readiness.ts';

export const testRedisUrl = (): string => process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * A Redis server of the test's own on a free port (to restart it mid-test
 * without disturbing others). `restart` keeps the port.
 */
export async function startRedis({
  password,
  tls = false,
}: {
  /** Clients must authenticate with this (`requirepass`); the URL carries it. @default none */
  password?: string;
  /**
   * Only TLS (the URL is `rediss://`), with a certificate from a CA of the
   * test's own (`caFile`: give it to clients, e.g. as NODE_EXTRA_CA_CERTS).
   */
  tls?: boolean;
} = {}): Promise<{ url: string; caFile?: string; stop(): Promise<void>; start(): Promise<void> }> {
  const port = await freePort();
  let certificates: TestCertificates | undefined;
  if (tls) {
    const dir = mkdtempSync(join(tmpdir(), 'chat-redis-tls-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    certificates = await makeTestCertificates(dir);
  }
  let child: ChildProcess | undefined;
  const start = async () => {
    const auth = password ? ['--requirepass', password] : [];
    const listen = certificates
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          certificates.certFile,
          '--tls-key-file',
          certificates.keyFile,
        ]
      : ['--port', String(port)];
    const tlsClients = certificates ? ['--tls-ca-cert-file', certificates.caFile, '--tls-auth-clients', 'no'] : [];
    child = spawn(
      'redis-server',
      [...listen, ...tlsClients, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...auth],
      { stdio: 'ignore' },
    );
    const server = child;
    const exited = new Promise((resolve) => server.once('exit', resolve).once('error', resolve));
    const what = `redis-server on port ${port}`;
    await waitUntilReady(() => acceptsTcp(port), { what, gone: exited, whyGone: () => `exit code ${server.exitCode}` });
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  const scheme = certificates ? 'rediss' : 'redis';
  return {
    url: `${scheme}://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${port}`,
    caFile: certificates?.caFile,
    start,
    stop,
  };
}
