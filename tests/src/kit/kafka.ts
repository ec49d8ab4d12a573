/** Kafka brokers of a test's own, to stop and start mid-test. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REPO_ROOT as ROOT } from './processes.ts';

/**
 * A Kafka broker of the test's own (scripts/services/kafka/kafka.sh on free
 * ports with its own state directory), to stop and start mid-test. With
 * `sasl`, its listener is SASL_PLAINTEXT and admits only that user (PLAIN).
 */
export async function startKafka({
  sasl,
}: {
  /** The only account clients may authenticate as (letters, digits, . _ ~ -). @default no authentication */
  sasl?: { username: string; password: string };
} = {}): Promise<{ brokers: string; up(): Promise<void>; down(): Promise<void>; remove(): Promise<void> }> {
  const [port, controllerPort] = [await freePort(), await freePort()];
  const state = mkdtempSync(join(tmpdir(), 'chat-kafka-'));
  const run = (command: 'up' | 'down') =>
    new Promise<void>((resolve, reject) => {
      let output = '';
      const child = spawn('bash', [join(ROOT, 'scripts/services/kafka/kafka.sh'), command], {
        env: {
          ...process.env,
          KAFKA_PORT: String(port),
          KAFKA_CONTROLLER_PORT: String(controllerPort),
          KAFKA_STATE_DIR: state,
          KAFKA_CDS: '0',
          ...(sasl ? { KAFKA_SASL_USERS: `${sasl.username}:${sasl.password}` } : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`kafka.sh ${command} exited with ${code}:\n${output}`)),
      );
    });
  await run('up');
  return {
    brokers: `127.0.0.1:${port}`,
    up: () => run('up'),
    down: () => run('down'),
    remove: async () => {
      await run('down');
      rmSync(state, { recursive: true, force: true });
    },
  };
}
