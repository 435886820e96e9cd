/**
 * Loads the workload's inputs once: `bench-users-<n>` (compacted) and `bench-ratings-<n>`, 6
 * partitions each, produced with plain kafkajs in large batches. A topic that already holds exactly
 * the expected records is reused, so later runs start at once; one that does not is made again.
 */
import { Kafka, logLevel, type Admin, type Message } from 'kafkajs';
import { PARTITIONS, USERS, profileBytes, ratingBytes, ratingKey, userKey } from './workload.ts';

export interface Inputs {
  readonly ratingsTopic: string;
  readonly usersTopic: string;
  readonly ratings: number;
  readonly users: number;
}

const BATCH = 5_000;
const label = (n: number) => (n % 1_000_000 === 0 ? `${n / 1_000_000}m` : n % 1_000 === 0 ? `${n / 1_000}k` : String(n));

export const inputTopics = (ratings: number, users = USERS): Pick<Inputs, 'ratingsTopic' | 'usersTopic'> => ({
  ratingsTopic: `bench-ratings-${label(ratings)}-v1`,
  usersTopic: `bench-users-${label(users)}-v1`,
});

async function holds(admin: Admin, topic: string, records: number): Promise<boolean> {
  if (!(await admin.listTopics()).includes(topic)) return false;
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.length === PARTITIONS && offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0) === records;
}

async function remake(admin: Admin, topic: string, config: Record<string, string>): Promise<void> {
  if ((await admin.listTopics()).includes(topic)) {
    await admin.deleteTopics({ topics: [topic] });
    // Deletion completes asynchronously on the broker.
    while ((await admin.listTopics()).includes(topic)) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS, configEntries: Object.entries(config).map(([name, value]) => ({ name, value })) }] });
}

async function produceAll(kafka: Kafka, topic: string, count: number, message: (i: number) => Message): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    // A few batches in flight: preloading is not what is measured, only its wait.
    const inFlight: Promise<unknown>[] = [];
    for (let start = 0; start < count; start += BATCH) {
      const messages = Array.from({ length: Math.min(BATCH, count - start) }, (_, k) => message(start + k));
      inFlight.push(producer.send({ topic, acks: -1, messages }));
      if (inFlight.length >= 4) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
}

/** Makes sure both input topics hold the workload; returns their names. */
export async function preload(brokers: readonly string[], ratings: number, users = USERS, log: (line: string) => void = () => undefined): Promise<Inputs> {
  const topics = inputTopics(ratings, users);
  const kafka = new Kafka({ brokers: [...brokers], clientId: 'bench-preload', logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await holds(admin, topics.usersTopic, users))) {
      const started = Date.now();
      await remake(admin, topics.usersTopic, { 'cleanup.policy': 'compact' });
      await produceAll(kafka, topics.usersTopic, users, (i) => ({ key: userKey(i), value: profileBytes(i) }));
      log(`preloaded ${users} users into ${topics.usersTopic} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    if (!(await holds(admin, topics.ratingsTopic, ratings))) {
      const started = Date.now();
      await remake(admin, topics.ratingsTopic, {});
      await produceAll(kafka, topics.ratingsTopic, ratings, (i) => ({ key: ratingKey(i), value: ratingBytes(i) }));
      log(`preloaded ${ratings} ratings into ${topics.ratingsTopic} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await admin.disconnect();
  }
  return { ...topics, ratings, users };
}
