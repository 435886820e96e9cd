/**
 * Runs the rating-alerts example as a real stream processor. With KAFKA_BROKERS set it runs on that
 * Kafka cluster; without, on the embedded in-memory transport, fed with simulated ratings.
 *
 *   npm start                      # embedded, 200 simulated ratings, then a clean shutdown
 *   npm start -- --count 0         # embedded, runs until Ctrl-C
 *   KAFKA_BROKERS=127.0.0.1:9092 npm start
 */
import { parseArgs } from 'node:util';
import { KafkaTransport, MemoryTransport, StreamsApp, defaultLogger, type Transport } from '../../src/index.ts';
import { ratingAlerts, type Alert, type Rating } from './topology.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '200' }, 'interval-ms': { type: 'string', default: '10' } } });
const count = Number(values.count);
const intervalMs = Number(values['interval-ms']);
if (!Number.isInteger(count) || count < 0) throw new Error(`--count must be a whole number >= 0 (got ${values.count})`);
if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new Error(`--interval-ms must be a number >= 0 (got ${values['interval-ms']})`);

const logger = defaultLogger('rating-alerts');
const brokers = process.env['KAFKA_BROKERS'];
const transport: Transport = brokers ? new KafkaTransport({ brokers: brokers.split(','), clientId: 'rating-alerts' }) : new MemoryTransport();
const admin = transport.admin();
await admin.connect();
await admin.createTopics(['ratings', 'ratings_invalid', 'rating_alerts'].map((topic) => ({ topic, partitions: 3 })));
await admin.disconnect();
async function endOffsets(topic: string): Promise<Map<number, number>> {
  const client = transport.admin();
  await client.connect();
  try {
    return await client.endOffsets(topic);
  } finally {
    await client.disconnect();
  }
}

const app = new StreamsApp(ratingAlerts(), { applicationId: 'rating-alerts', transport, logger });
app.stopOnSignals();

// Read the alerts the app writes, like a downstream team would.
const reader = transport.consumer({ groupId: 'rating-alerts-reader' });
let alerts = 0;
await reader.connect();
await reader.subscribe({ topics: ['rating_alerts'], fromBeginning: true });
await reader.run({
  eachBatch: async (batch) => {
    for (const record of batch.records) {
      alerts += 1;
      const alert = JSON.parse(record.value?.toString() ?? '{}') as Alert;
      logger.info({ alert }, 'alert');
    }
  },
});

await app.start();
const producer = transport.producer();
await producer.connect();
for (let i = 0; count === 0 || i < count; i++) {
  if (app.state !== 'running') break;
  const rating: Rating = {
    id: `r${i}`,
    productId: `p${i % 7}`,
    userId: `u${i % 13}`,
    score: i % 17 === 0 ? 0 : 1 + (i % 5),
    comment: i % 11 === 0 ? 'Broken on arrival!!' : null,
  };
  await producer.send([{ topic: 'ratings', key: Buffer.from(rating.id), value: Buffer.from(JSON.stringify(rating)) }]);
  if (intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
await producer.disconnect();
if (count > 0 && app.state === 'running') await app.stop();
// Let the reader catch up with everything the app wrote before reporting.
const written = [...(await endOffsets('rating_alerts')).values()].reduce((sum, end) => sum + end, 0);
const deadline = Date.now() + 10_000;
while (alerts < written && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
await reader.disconnect();
logger.info({ ratings: count, alerts, state: app.state }, 'done');
process.exit(app.state === 'failed' ? 1 : 0);
