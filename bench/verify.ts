/**
 * Checks a contender's output against the workload: a fast wrong answer is a failure. Reads the
 * output and dead-letter topics whole (read_committed) and checks that
 * - every valid rating is in the output, under its rating id, with exactly the rating's fields
 *   and the profile the join must attach (`expectedProfile`); nothing else is there;
 * - every invalid rating is in the dead-letter topic with its original key and value bytes;
 * - under exactly-once, nothing is there twice (at-least-once may repeat after a failure, so
 *   repeats are counted, not refused).
 * Every record is checked, not a sample: decoding is cheap next to reading.
 */
import { isDeepStrictEqual } from 'node:util';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { enrichedType, expectedProfile, indexOfRatingKey, invalidity, rating, ratingBytes, validCount } from './workload.ts';

export interface Verification {
  readonly ok: boolean;
  readonly outputRecords: number;
  readonly deadLetters: number;
  readonly expectedOutput: number;
  readonly expectedDeadLetters: number;
  readonly missing: number;
  readonly duplicates: number;
  readonly wrong: number;
  readonly joinedProfiles: number;
  readonly nullProfiles: number;
  /** The first few problems, for the report. */
  readonly problems: readonly string[];
}

const MAX_PROBLEMS = 10;

/** Counts one more sighting of rating `i`; returns how many there were before. */
function count(seen: Uint8Array, i: number): number {
  const before = seen[i] ?? 0;
  seen[i] = Math.min(255, before + 1);
  return before;
}

/** Reads a topic from the start to its end offsets (read_committed), calling `each` per record. */
export async function readTopic(brokers: readonly string[], topic: string, each: (message: KafkaMessage, partition: number) => void): Promise<number> {
  const kafka = new Kafka({ brokers: [...brokers], clientId: 'bench-verify', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
  await admin.disconnect();
  const left = new Set([...ends].filter(([, end]) => end > 0).map(([partition]) => partition));
  if (left.size === 0) return 0;
  let count = 0;
  const consumer = kafka.consumer({ groupId: `bench-verify-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    // The end offset counts transaction markers, which are never delivered: a partition is done
    // once kafkajs moved past its end, which it also says for a fetch that held markers only.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (Number(payload.lastOffset) + 1 >= (ends.get(payload.partition) ?? 0)) left.delete(payload.partition);
      if (left.size === 0) resolve();
    });
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            each(message, batch.partition);
            count += 1;
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return count;
}

export async function verifyOutput(options: {
  readonly brokers: readonly string[];
  readonly records: number;
  readonly outputTopic: string;
  readonly dlqTopic: string;
  readonly exactlyOnce: boolean;
}): Promise<Verification> {
  const { records } = options;
  const problems: string[] = [];
  const problem = (text: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };
  const seenOutput = new Uint8Array(records);
  const seenDead = new Uint8Array(records);
  let wrong = 0;
  let duplicates = 0;
  let joinedProfiles = 0;
  let nullProfiles = 0;

  const outputRecords = await readTopic(options.brokers, options.outputTopic, (message) => {
    const key = message.key?.toString('utf8') ?? '';
    const i = indexOfRatingKey(key);
    if (i === undefined || i >= records || invalidity(i) !== undefined) {
      wrong += 1;
      problem(`output holds ${JSON.stringify(key)}, which is not a valid rating of the input`);
      return;
    }
    if (count(seenOutput, i) > 0) duplicates += 1;
    let value: Record<string, unknown>;
    try {
      value = enrichedType.fromBuffer(message.value ?? Buffer.alloc(0)) as Record<string, unknown>;
    } catch (error) {
      wrong += 1;
      problem(`${key}: the value does not decode as RatingEnriched (${(error as Error).message})`);
      return;
    }
    const { userProfile, enrichedAt, ...fields } = value;
    const expected = expectedProfile(i);
    const profile = userProfile === null || userProfile === undefined ? null : { ...(userProfile as object) };
    if (!isDeepStrictEqual({ ...fields }, { ...rating(i) }) || !isDeepStrictEqual(profile, expected) || typeof enrichedAt !== 'number') {
      wrong += 1;
      problem(`${key}: got ${JSON.stringify({ ...fields, userProfile: profile })}, expected ${JSON.stringify({ ...rating(i), userProfile: expected })}`);
      return;
    }
    if (expected === null) nullProfiles += 1;
    else joinedProfiles += 1;
  });

  const deadLetters = await readTopic(options.brokers, options.dlqTopic, (message) => {
    const key = message.key?.toString('utf8') ?? '';
    const i = indexOfRatingKey(key);
    if (i === undefined || i >= records || invalidity(i) === undefined) {
      wrong += 1;
      problem(`the dead-letter topic holds ${JSON.stringify(key)}, which is not an invalid rating of the input`);
      return;
    }
    if (count(seenDead, i) > 0) duplicates += 1;
    if (!ratingBytes(i).equals(message.value ?? Buffer.alloc(0))) {
      wrong += 1;
      problem(`${key}: the dead letter does not hold the original value bytes`);
    }
  });

  let missing = 0;
  for (let i = 0; i < records; i++) {
    const seen = invalidity(i) === undefined ? seenOutput[i] : seenDead[i];
    if (seen === 0) {
      missing += 1;
      problem(`${invalidity(i) === undefined ? 'output' : 'the dead-letter topic'} lacks rating ${i}`);
    }
  }
  const expectedOutput = validCount(records);
  return {
    ok: missing === 0 && wrong === 0 && (!options.exactlyOnce || duplicates === 0),
    outputRecords,
    deadLetters,
    expectedOutput,
    expectedDeadLetters: records - expectedOutput,
    missing,
    duplicates,
    wrong,
    joinedProfiles,
    nullProfiles,
    problems,
  };
}
