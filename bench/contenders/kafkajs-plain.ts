/**
 * Contender: the same enrichment written directly on kafkajs, the ceiling of the client the engine
 * wraps. The users topic is read into a Map first; then `eachBatch` decodes, validates, looks up
 * and encodes every rating of a batch, sends the batch's outputs and dead letters in slices of
 * 2,000 records (acks from all replicas), and only then resolves the batch's offsets, which kafkajs
 * commits every second (at-least-once). Three partitions are handled at a time. No lineage, no
 * per-record error headers, no backpressure beyond one batch per partition: what the engine adds
 * on top is the difference. Arguments: `ContenderArgs` JSON (variant and guarantee are ignored).
 */
import { Kafka, logLevel, type Message } from 'kafkajs';
import { contenderArgs } from './args.ts';
import { deadLetter, decodeValid, enrich, readUsers } from './kafkajs-common.ts';

const args = contenderArgs();
const kafka = new Kafka({ brokers: args.brokers, clientId: args.applicationId, logLevel: logLevel.ERROR });
/** Records per send: about 330 KB of enriched ratings. */
const SLICE = 2_000;

const users = await readUsers(kafka, args);
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
await producer.connect();
const consumer = kafka.consumer({ groupId: args.applicationId });
await consumer.connect();
await consumer.subscribe({ topic: args.ratingsTopic, fromBeginning: true });
process.stdout.write('RUNNING\n');
await consumer.run({
  autoCommit: true,
  autoCommitInterval: 1_000,
  eachBatchAutoResolve: false,
  partitionsConsumedConcurrently: 3,
  eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
    const enriched: Message[] = [];
    const dead: Message[] = [];
    const now = Date.now();
    for (const message of batch.messages) {
      const rating = decodeValid(message.value, now);
      if (rating === undefined) dead.push(deadLetter(message));
      else enriched.push({ key: message.key, value: enrich(rating, users.get(rating.userId), now) });
    }
    // A fetched batch holds up to 1 MB of one partition, and its outputs keep the key, so they land
    // in one partition too: sent in slices well below the broker's 1 MB record-batch limit.
    const sends: Promise<unknown>[] = [];
    for (let start = 0; start < enriched.length; start += SLICE) sends.push(producer.send({ topic: args.outputTopic, acks: -1, messages: enriched.slice(start, start + SLICE) }));
    if (dead.length > 0) sends.push(producer.send({ topic: args.dlqTopic, acks: -1, messages: dead }));
    await Promise.all(sends);
    const last = batch.messages.at(-1);
    if (last !== undefined) resolveOffset(last.offset);
    await heartbeat();
  },
});
process.once('SIGTERM', () => void consumer.disconnect().then(() => producer.disconnect()).then(() => process.exit(0)));
