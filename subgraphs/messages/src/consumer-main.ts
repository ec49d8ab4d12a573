/**
 * A dedicated message-pipeline consumer process (distributed mode): joins the
 * Kafka consumer group and places, stores and announces messages. Run as many
 * as there are partitions to spread; Kafka assigns each partition to one.
 */
import { ConfigError, createRuntime, loadConfig, log, onShutdown } from '@chat/common';
import { CONSUMER_MODELS } from './env.ts';
import { createMessagePipeline, kafkaSettings, openMessageStore } from './infrastructure.ts';
import { startMessageConsumer } from './pipeline/kafka-log.ts';

try {
  if (!process.env.DATABASE_URL) {
    throw new ConfigError(
      'Invalid configuration:\n  DATABASE_URL: required by the message consumer (shared with the subgraphs)',
    );
  }
  const config = loadConfig(CONSUMER_MODELS);
  if (!config.kafka) throw new ConfigError('Invalid configuration:\n  KAFKA_BROKERS: required by the message consumer');
  const runtime = await createRuntime(config);
  const store = openMessageStore(runtime, config.cassandra);
  const pipeline = createMessagePipeline(runtime, store);
  const consumer = await startMessageConsumer(kafkaSettings(config.kafka), pipeline);
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
