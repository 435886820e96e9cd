/**
 * Reads a topic from its start to the end offsets it had when the read began, read_committed, with
 * a consumer group of its own that commits nothing: the topic and every other group's position are
 * left as they were, however often it runs.
 */
import { randomBytes } from 'node:crypto';
import { StreamsError, toError } from '../../errors/streams-error.ts';
import type { IncomingRecord, Transport } from '../../transport/transport.ts';
import { UsageError } from '../exit-codes.ts';

export interface ReadTopicOptions {
  /** Give up when no record and no position change arrives for this long; default 30 s. */
  readonly idleTimeoutMs?: number;
}

/** Calls `onRecord` with every committed record below the end offsets, in offset order per partition; returns how many. */
export async function readTopicToEnd(transport: Transport, topic: string, onRecord: (record: IncomingRecord) => void, options: ReadTopicOptions = {}): Promise<number> {
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const admin = transport.admin();
  await admin.connect();
  let ends: Map<number, number>;
  try {
    if (!(await admin.listTopics()).includes(topic)) throw new UsageError(`topic ${topic} does not exist`);
    ends = await admin.endOffsets(topic);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const positions = new Map<number, number>();
  const caughtUp = () => [...ends].every(([partition, end]) => (positions.get(partition) ?? 0) >= end);
  if (caughtUp()) return 0;

  // Never committed: the group exists while this runs and holds no offsets afterwards.
  const consumer = transport.consumer({ groupId: `rating-streams-dlq-reader-${randomBytes(6).toString('hex')}`, isolationLevel: 'read_committed' });
  let count = 0;
  let failure: Error | undefined;
  let wake: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (wake = resolve));
  let timer: NodeJS.Timeout | undefined;
  let idle = false;
  const progressed = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      idle = true;
      wake();
    }, idleTimeoutMs);
    if (caughtUp()) wake();
  };
  const advance = (partition: number, next: number) => {
    positions.set(partition, Math.max(next, positions.get(partition) ?? 0));
    progressed();
  };
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    progressed();
    await consumer.run({
      partitionsConsumedConcurrently: 1,
      eachBatch: async (batch) => {
        const end = ends.get(batch.partition) ?? 0;
        for (const record of batch.records) {
          if (record.offset >= end || record.offset < (positions.get(batch.partition) ?? 0)) continue;
          onRecord(record);
          count += 1;
        }
        advance(batch.partition, batch.nextOffset);
      },
      onPosition: (tp, next) => advance(tp.partition, next),
      onStopped: (error) => {
        failure = error;
        wake();
      },
    });
    await done;
    if (failure) throw failure;
    if (idle && !caughtUp()) {
      const behind = [...ends].filter(([partition, end]) => (positions.get(partition) ?? 0) < end).map(([partition, end]) => `partition ${partition} at ${positions.get(partition) ?? 0} of ${end}`);
      throw new StreamsError(`reading ${topic} stopped making progress for ${idleTimeoutMs} ms (${behind.join(', ')}): is a transaction left open?`, { code: 'TIMED_OUT', retriable: true });
    }
  } catch (error) {
    throw error instanceof StreamsError || error instanceof UsageError ? error : new StreamsError(`reading ${topic} failed: ${toError(error).message}`, { code: 'TRANSPORT_FAILED', cause: error, retriable: true });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
  }
  return count;
}
