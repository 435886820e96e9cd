/**
 * Ingest throughput: ratings per second from the OpenClaw simulator (a real HTTP server on
 * loopback, no faults) through the polling source, validation and Avro encoding into `ratings`,
 * each page in one Kafka transaction with the cursor. Timed from `start()` until the poller has
 * written every rating the simulator holds.
 */
import { pino } from 'pino';
import { startOpenClawSimulator } from '../src/connectors/openclaw/simulator.ts';
import { KafkaTransport } from '../src/transport/kafka/index.ts';
import { openClawIngest } from '../topologies/openclaw-ingest.ts';
import { measure, type Result } from './measure.ts';

export async function benchIngest(options: { readonly brokers: readonly string[]; readonly ratings: number; readonly pageSize: number }): Promise<Result> {
  const transport = new KafkaTransport({ brokers: [...options.brokers], clientId: 'bench-ingest', logLevel: 'error' });
  const suffix = Date.now().toString(36);
  const ratingsTopic = `bench-ratings-${suffix}`;
  const deadLetterTopic = `bench-ratings-dlq-${suffix}`;
  const admin = transport.admin();
  await admin.connect();
  await admin.createTopics([{ topic: ratingsTopic, partitions: 6 }, { topic: deadLetterTopic, partitions: 1 }]);
  const sim = await startOpenClawSimulator({ apiKey: 'bench-key', total: options.ratings, seed: 1 });
  const ingest = openClawIngest({
    transport,
    url: sim.url,
    apiKey: sim.apiKey,
    ratingsTopic,
    deadLetterTopic,
    name: `bench-ingest-${suffix}`,
    pageSize: options.pageSize,
    intervalMs: 10,
    logger: pino({ level: 'silent' }),
  });
  try {
    return await measure(`OpenClaw ingest: simulator -> ratings (page ${options.pageSize}, Kafka)`, options.ratings, async () => {
      await ingest.start();
      while (ingest.poller.stats().itemsEmitted < options.ratings) await new Promise((resolve) => setTimeout(resolve, 20));
      return undefined;
    });
  } finally {
    await ingest.stop();
    await sim.stop();
    await admin.deleteTopics([ratingsTopic, deadLetterTopic, `bench-ingest-${suffix}-cursor`]).catch(() => undefined);
    await admin.disconnect();
  }
}
