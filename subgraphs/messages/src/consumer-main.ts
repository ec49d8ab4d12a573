/**
 * A dedicated message-pipeline consumer process (distributed mode): joins the
 * Kafka consumer group and places, stores and announces messages. Run as many
 * as there are partitions to spread; Kafka assigns each partition to one.
 */
import { ConfigError, createRuntime, log, onShutdown, parseEnv, resolveRuntimeConfig, ZRuntimeEnvSchema } from '@chat/common';
import { createMessagePipeline, kafkaSettings, openMessageStore } from './infrastructure.ts';
import { startMessageConsumer } from './pipeline/kafka-log.ts';

try {
  const env = parseEnv(ZRuntimeEnvSchema);
  if (!env.DATABASE_URL) throw new ConfigError('Invalid configuration:\n  DATABASE_URL: required by the message consumer (shared with the subgraphs)');
  const runtime = await createRuntime(resolveRuntimeConfig(env, { issuesTokens: false }));
  const kafka = kafkaSettings(runtime);
  if (!kafka) throw new ConfigError('Invalid configuration:\n  KAFKA_BROKERS: required by the message consumer');
  const store = openMessageStore(runtime);
  const pipeline = createMessagePipeline(runtime, store);
  const consumer = await startMessageConsumer(kafka, pipeline);
  log.info('message consumer ready', { storage: runtime.describe() });
  onShutdown(async () => {
    await consumer.stop();
    await pipeline.close();
    await store.close();
    await runtime.close();
  });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(78);
}
